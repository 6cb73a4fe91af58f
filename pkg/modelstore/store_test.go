package modelstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// artifactBytes stands for an encoded artifact: the store keeps bytes and
// never decodes them.
func artifactBytes(model, version string) []byte {
	return []byte("artifact of " + model + "/" + version)
}

// storeSuite checks the registry's rules on a Store over any Bucket. damage
// replaces an object behind the store's back, as a corrupting disk would.
func storeSuite(t *testing.T, s *Store, damage func(key string, b []byte)) {
	ctx := context.Background()
	v1 := "20261126T100000Z-00000001"
	v2 := "20261126T110000Z-00000002"
	m1 := artifactBytes("iris", v1)
	var ref1 Ref
	t.Run("publish and read back", func(t *testing.T) {
		var err error
		ref1, err = s.Publish(ctx, "iris", v1, m1, []byte(`{"run":1}`))
		if err != nil {
			t.Fatal(err)
		}
		if ref1.SHA256 != SHA256(m1) {
			t.Errorf("ref sha %s", ref1.SHA256)
		}
		b, err := s.ReadArtifact(ctx, "iris", v1, ref1.SHA256)
		if err != nil || !bytes.Equal(b, m1) {
			t.Errorf("read back %q, %v", b, err)
		}
		rec, err := s.ReadRecord(ctx, "iris", v1)
		if err != nil || string(rec) != `{"run":1}` {
			t.Errorf("record %q, %v", rec, err)
		}
	})

	t.Run("versions are immutable", func(t *testing.T) {
		_, err := s.Publish(ctx, "iris", v1, artifactBytes("iris", "again"), []byte(`{"run":"again"}`))
		if !errors.Is(err, ErrConflict) {
			t.Fatalf("republish: %v, want ErrConflict", err)
		}
		rec, _ := s.ReadRecord(ctx, "iris", v1)
		b, _ := s.ReadArtifact(ctx, "iris", v1, "")
		if string(rec) != `{"run":1}` || !bytes.Equal(b, m1) {
			t.Errorf("version overwritten: %q, %q", rec, b)
		}
	})

	t.Run("an artifact whose sha256 is not the alias's is refused", func(t *testing.T) {
		// Valid bytes, a wrong hash: only the comparison catches this.
		other := SHA256(artifactBytes("iris", v2))
		if _, err := s.ReadArtifact(ctx, "iris", v1, other); !errors.Is(err, ErrIntegrity) {
			t.Errorf("got %v, want ErrIntegrity", err)
		}
	})

	t.Run("alias create, poll, move", func(t *testing.T) {
		if _, _, err := s.GetAlias(ctx, "iris", "production"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("missing alias: %v, want ErrNotFound", err)
		}
		created, err := s.SetAlias(ctx, "production", ref1, SetAliasOptions{})
		if err != nil {
			t.Fatal(err)
		}
		etag := created.ETag
		if _, err := s.SetAlias(ctx, "production", ref1, SetAliasOptions{}); !errors.Is(err, ErrConflict) {
			t.Errorf("second create: %v, want ErrConflict", err)
		}
		a, etag2, err := s.GetAlias(ctx, "iris", "production")
		if err != nil || a.Version != v1 || a.SHA256 != ref1.SHA256 || etag2 != etag {
			t.Fatalf("alias %+v etag %s/%s, %v", a, etag2, etag, err)
		}
		_, same, changed, err := s.PollAlias(ctx, "iris", "production", etag)
		if err != nil || changed || same != etag {
			t.Fatalf("unchanged poll: changed=%v etag=%s err=%v", changed, same, err)
		}
		ref2, err := s.Publish(ctx, "iris", v2, artifactBytes("iris", v2), []byte(`{"run":2}`))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetAlias(ctx, "production", ref2, SetAliasOptions{IfMatch: "stale-etag"}); !errors.Is(err, ErrConflict) {
			t.Errorf("stale etag: %v, want ErrConflict", err)
		}
		moved, err := s.SetAlias(ctx, "production", ref2, SetAliasOptions{IfMatch: etag, Current: a})
		if err != nil {
			t.Fatal(err)
		}
		etag3 := moved.ETag
		if moved.Replaced != a || moved.Alias.Version != v2 || moved.Alias.Previous != v1 {
			t.Errorf("move wrote %+v replacing %+v, want %s replacing %+v", moved.Alias, moved.Replaced, v2, a)
		}
		a, etag4, changed, err := s.PollAlias(ctx, "iris", "production", etag)
		if err != nil || !changed || a.Version != v2 || etag4 != etag3 {
			t.Errorf("poll after move: %+v changed=%v etag=%s err=%v", a, changed, etag4, err)
		}
		aliases, err := s.ListAliases(ctx, "iris")
		if err != nil || len(aliases) != 1 || aliases["production"].Version != v2 {
			t.Errorf("aliases %v, %v", aliases, err)
		}
	})

	t.Run("a corrupt alias is an integrity error that can be replaced", func(t *testing.T) {
		damage(aliasKey("iris", "broken"), []byte("{not json"))
		_, etag, err := s.GetAlias(ctx, "iris", "broken")
		if !errors.Is(err, ErrIntegrity) || etag == "" {
			t.Fatalf("got etag %q, %v; want ErrIntegrity with the etag", etag, err)
		}
		if _, err := s.SetAlias(ctx, "broken", ref1, SetAliasOptions{IfMatch: etag}); err != nil {
			t.Fatalf("replacing the corrupt alias: %v", err)
		}
		if a, _, err := s.GetAlias(ctx, "iris", "broken"); err != nil || a.Version != v1 {
			t.Errorf("after repair: %+v, %v", a, err)
		}
	})

	t.Run("an alias without a valid sha256 is an integrity error", func(t *testing.T) {
		// Valid JSON, a valid version: only the sha256 check stands
		// between this alias and an artifact read without verification.
		for name, sha := range map[string]string{
			"empty":     "",
			"short":     ref1.SHA256[:63],
			"not hex":   strings.Repeat("g", 64),
			"uppercase": strings.ToUpper(ref1.SHA256),
		} {
			t.Run(name, func(t *testing.T) {
				doc := fmt.Sprintf(`{"version":%q,"sha256":%q,"updated_at":"2026-11-26T10:00:00Z"}`, v1, sha)
				damage(aliasKey("iris", "nosha"), []byte(doc))
				if a, _, err := s.GetAlias(ctx, "iris", "nosha"); !errors.Is(err, ErrIntegrity) {
					t.Errorf("sha256 %q: got %+v, %v; want ErrIntegrity", sha, a, err)
				}
			})
		}
	})

	t.Run("listing order", func(t *testing.T) {
		for _, v := range []string{"20261125T235959Z-000000aa", "20261127T000000Z-000000bb"} {
			if _, err := s.Publish(ctx, "iris", v, artifactBytes("iris", v), []byte(`{}`)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Publish(ctx, "other", v1, artifactBytes("other", v1), []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		got, err := s.ListVersions(ctx, "iris")
		want := []string{"20261127T000000Z-000000bb", v2, v1, "20261125T235959Z-000000aa"}
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("versions %v, %v; want %v", got, err, want)
		}
		models, err := s.ListModels(ctx)
		if err != nil || !slices.Equal(models, []string{"iris", "other"}) {
			t.Errorf("models %v, %v", models, err)
		}
		if got, err := s.ListVersions(ctx, "nosuch"); err != nil || len(got) != 0 {
			t.Errorf("unknown model: %v, %v", got, err)
		}
	})

	t.Run("a publish cut short is never listed and is cleaned up", func(t *testing.T) {
		half := "20261126T120000Z-0000000c"
		// The record went up, the process died before the artifact.
		damage(recordKey("iris", half), []byte(`{}`))
		got, err := s.ListVersions(ctx, "iris")
		if err != nil || slices.Contains(got, half) {
			t.Fatalf("versions %v, %v: the incomplete version is listed", got, err)
		}
		if _, err := s.ReadArtifact(ctx, "iris", half, ""); !errors.Is(err, ErrNotFound) {
			t.Errorf("reading it: %v, want ErrNotFound", err)
		}
		made, _ := VersionTime(half)
		if removed, err := s.DeleteIncompleteVersions(ctx, "iris", made); err != nil || len(removed) != 0 {
			t.Errorf("versions made at or after the cut-off were removed: %v, %v", removed, err)
		}
		removed, err := s.DeleteIncompleteVersions(ctx, "iris", made.Add(time.Second))
		if err != nil || !slices.Equal(removed, []string{half}) {
			t.Fatalf("removed %v, %v", removed, err)
		}
		if _, err := s.ReadRecord(ctx, "iris", half); !errors.Is(err, ErrNotFound) {
			t.Errorf("record still there: %v", err)
		}
		if got2, _ := s.ListVersions(ctx, "iris"); !slices.Equal(got, got2) {
			t.Errorf("complete versions changed: %v -> %v", got, got2)
		}
		// One version by id, whenever it was made; never a complete one.
		ahead := "20991126T120000Z-0000000d"
		damage(recordKey("iris", ahead), []byte(`{}`))
		if ok, err := s.DeleteIncompleteVersion(ctx, "iris", ahead); !ok || err != nil {
			t.Errorf("removing one incomplete version: %v, %v", ok, err)
		}
		if _, err := s.ReadRecord(ctx, "iris", ahead); !errors.Is(err, ErrNotFound) {
			t.Errorf("record still there: %v", err)
		}
		for _, v := range got {
			if ok, err := s.DeleteIncompleteVersion(ctx, "iris", v); ok || err != nil {
				t.Errorf("complete version %s: removed %v, %v", v, ok, err)
			}
		}
		if got2, _ := s.ListVersions(ctx, "iris"); !slices.Equal(got, got2) {
			t.Errorf("complete versions changed: %v -> %v", got, got2)
		}
	})

	t.Run("corrupt and truncated artifacts fail integrity", func(t *testing.T) {
		for i, damaged := range [][]byte{m1[:len(m1)/2], append(bytes.Clone(m1[:len(m1)-1]), m1[len(m1)-1]^1)} {
			v := fmt.Sprintf("20261126T130000Z-0000c0%02d", i)
			ref, err := s.Publish(ctx, "iris", v, m1, []byte(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			damage(artifactKey("iris", v), damaged)
			if _, err := s.ReadArtifact(ctx, "iris", v, ref.SHA256); !errors.Is(err, ErrIntegrity) {
				t.Errorf("damage %d: %v, want ErrIntegrity", i, err)
			}
		}
	})

	t.Run("datasets are content-addressed", func(t *testing.T) {
		data := []byte("a,b,label\n1,2,x\n3,4,y\n")
		sum := SHA256(data)
		uri, err := s.PutDataset(ctx, sum, bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		if uri != "s3://modelferry/datasets/"+sum+".csv" {
			t.Errorf("uri %s", uri)
		}
		if again, err := s.PutDataset(ctx, sum, bytes.NewReader(data), int64(len(data))); err != nil || again != uri {
			t.Errorf("second put: %s, %v", again, err)
		}
		for _, ref := range []string{uri, "datasets/" + sum + ".csv"} {
			r, size, err := s.OpenDataset(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(r)
			_ = r.Close()
			if !bytes.Equal(got, data) || size != int64(len(data)) {
				t.Errorf("%s: read %q (%d bytes)", ref, got, size)
			}
		}
		for _, ref := range []string{"s3://elsewhere/x.csv", "../etc/passwd", ""} {
			if _, _, err := s.OpenDataset(ctx, ref); !errors.Is(err, ErrInvalid) {
				t.Errorf("%q: %v, want ErrInvalid", ref, err)
			}
		}
		if _, _, err := s.OpenDataset(ctx, "datasets/none.csv"); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing dataset: %v, want ErrNotFound", err)
		}
		// Only content-addressed objects are listed, sorted by hash.
		other := []byte("x,label\n1,a\n2,b\n")
		if _, err := s.PutDataset(ctx, SHA256(other), bytes.NewReader(other), int64(len(other))); err != nil {
			t.Fatal(err)
		}
		damage("datasets/named-by-hand.csv", data)
		want := []Dataset{{SHA256: sum, URI: uri, Bytes: int64(len(data))},
			{SHA256: SHA256(other), URI: "s3://modelferry/datasets/" + SHA256(other) + ".csv", Bytes: int64(len(other))}}
		slices.SortFunc(want, func(a, b Dataset) int { return strings.Compare(a.SHA256, b.SHA256) })
		if got, err := s.ListDatasets(ctx); err != nil || !slices.Equal(got, want) {
			t.Errorf("datasets %+v, %v; want %+v", got, err, want)
		}
	})

	t.Run("runs", func(t *testing.T) {
		ids := []string{"20261126T100000Z-0000000a", "20261126T100001Z-0000000b"}
		for _, id := range ids {
			if err := s.PutRun(ctx, "iris", id, []byte(`{"status":"queued"}`), PutRunOptions{First: true}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.PutRun(ctx, "iris", ids[0], []byte(`{"status":"succeeded"}`), PutRunOptions{}); err != nil {
			t.Fatal(err)
		}
		wine := "20261126T100000Z-0000000c"
		if err := s.PutRun(ctx, "wine", wine, []byte(`{"wine":1}`), PutRunOptions{First: true}); err != nil {
			t.Fatal(err)
		}
		got, err := s.ListRuns(ctx, "iris")
		if err != nil || !slices.Equal(got, []RunKey{{"iris", ids[1]}, {"iris", ids[0]}}) {
			t.Errorf("runs %v, %v", got, err)
		}
		all, err := s.ListRuns(ctx, "")
		want := []RunKey{{"iris", ids[1]}, {"wine", wine}, {"iris", ids[0]}}
		if err != nil || !slices.Equal(all, want) {
			t.Errorf("all runs %v, %v; want %v", all, err, want)
		}
		bodies, err := s.GetRuns(ctx, all)
		if err != nil || string(bodies[2]) != `{"status":"succeeded"}` || string(bodies[1]) != `{"wine":1}` {
			t.Errorf("records %q, %v", bodies, err)
		}
		model, b, err := s.FindRun(ctx, wine)
		if err != nil || model != "wine" || string(b) != `{"wine":1}` {
			t.Errorf("find %s: %s %q, %v", wine, model, b, err)
		}
		// A run recorded before the index existed is found by listing.
		old := "20261126T090000Z-0000000d"
		if err := s.PutRun(ctx, "wine", old, []byte(`{"old":1}`), PutRunOptions{}); err != nil {
			t.Fatal(err)
		}
		if model, b, err := s.FindRun(ctx, old); err != nil || model != "wine" || string(b) != `{"old":1}` {
			t.Errorf("find unindexed %s: %s %q, %v", old, model, b, err)
		}
		if _, _, err := s.FindRun(ctx, "20261126T090000Z-ffffffff"); !errors.Is(err, ErrNotFound) {
			t.Errorf("find missing: %v, want ErrNotFound", err)
		}
		models, err := s.ListRunModels(ctx)
		if err != nil || !slices.Equal(models, []string{"iris", "wine"}) {
			t.Errorf("run models %v, %v", models, err)
		}
	})

	t.Run("sampled predictions go under logs/<model>/<date>/", func(t *testing.T) {
		at := time.Date(2026, 12, 1, 13, 4, 5, 0, time.UTC)
		key, err := s.PutLog(ctx, "iris", at, []byte("{\"a\":1}\n"))
		if err != nil || !strings.HasPrefix(key, "logs/iris/2026-12-01/20261201T130405") || !strings.HasSuffix(key, ".ndjson") {
			t.Fatalf("key %q, %v", key, err)
		}
		b, _, err := s.get(ctx, key, GetOptions{})
		if err != nil || string(b) != "{\"a\":1}\n" {
			t.Errorf("stored %q, %v", b, err)
		}
		if _, err := s.PutLog(ctx, "../x", at, nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("bad model: %v", err)
		}
	})

	t.Run("invalid names are refused", func(t *testing.T) {
		for _, err := range []error{
			func() error { _, err := s.ListVersions(ctx, "Bad Name"); return err }(),
			func() error { _, _, err := s.GetAlias(ctx, "iris", "../x"); return err }(),
			func() error { _, err := s.ReadArtifact(ctx, "iris", "latest", ""); return err }(),
			func() error { _, _, err := s.FindRun(ctx, "../x"); return err }(),
		} {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("got %v, want ErrInvalid", err)
			}
		}
	})
	t.Run("oversize objects are refused unread", func(t *testing.T) {
		v := "20261126T130000Z-00000009"
		if _, err := s.Publish(ctx, "big", v, artifactBytes("big", v), []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		_, err := s.WithMaxArtifactBytes(10).ReadArtifact(ctx, "big", v, "")
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "over the limit of 10 bytes") {
			t.Errorf("artifact over the limit: %v", err)
		}
		if _, err := s.ReadArtifact(ctx, "big", v, ""); err != nil {
			t.Errorf("artifact under the default limit: %v", err)
		}
		damage(aliasKey("big", "production"), []byte(`{"version":"`+strings.Repeat("9", MaxAliasBytes)+`"}`))
		if _, _, err := s.GetAlias(ctx, "big", "production"); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "over the limit of 65536 bytes") {
			t.Errorf("alias over 64 KiB: %v", err)
		}
		damage(numberKey("big", 1), []byte(strings.Repeat("9", MaxAliasBytes+1)))
		if _, err := s.VersionOfNumber(ctx, "big", 1); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "over the limit of 65536 bytes") {
			t.Errorf("version number object over 64 KiB: %v", err)
		}
	})
}

func TestStoreInMemory(t *testing.T) {
	m := NewMemory("modelferry")
	storeSuite(t, New(m, Options{}), m.Overwrite)
}

func TestConcurrentAliasWritersInMemory(t *testing.T) {
	concurrentAliasWriters(t, New(NewMemory("modelferry"), Options{}))
}

func TestMemoryFaults(t *testing.T) {
	ctx := context.Background()
	m := NewMemory("modelferry")
	s := New(m, Options{Timeout: time.Second})
	var calls atomic.Int32
	m.SetHook(func(op, key string) error {
		calls.Add(1)
		if strings.HasSuffix(key, "/model.pb") && op == "put" {
			return errors.New("connection reset")
		}
		return nil
	})
	v := "20261126T100000Z-00000001"
	if _, err := s.Publish(ctx, "iris", v, artifactBytes("iris", v), []byte(`{}`)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("publish: %v, want ErrUnavailable", err)
	}
	if got, err := s.ListVersions(ctx, "iris"); err != nil || len(got) != 0 {
		t.Errorf("a failed publish is listed: %v, %v", got, err)
	}
	m.SetHook(func(op, key string) error { return fmt.Errorf("%w: injected", ErrAccessDenied) })
	if err := s.Ping(ctx); !errors.Is(err, ErrAccessDenied) {
		t.Errorf("ping: %v, want ErrAccessDenied", err)
	}
}

// concurrentAliasWriters races writers on one alias, round after round:
// exactly one wins each round, and the alias holds what it wrote.
func concurrentAliasWriters(t *testing.T, s *Store) {
	ctx := context.Background()
	if err := s.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	const writers, rounds = 4, 100
	refs := make([]Ref, writers)
	for w := range refs {
		v := "20261126T100000Z-0000000" + string(rune('0'+w))
		ref, err := s.Publish(ctx, "iris", v, artifactBytes("iris", v), []byte(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		refs[w] = ref
	}
	first, err := s.SetAlias(ctx, "production", refs[0], SetAliasOptions{})
	if err != nil {
		t.Fatal(err)
	}
	etag, cur := first.ETag, first.Alias
	for round := 0; round < rounds; round++ {
		var wins atomic.Int32
		var winner atomic.Int32
		moves := make([]AliasMove, writers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := 0; w < writers; w++ {
			wg.Go(func() {
				<-start
				move, err := s.SetAlias(ctx, "production", refs[w], SetAliasOptions{IfMatch: etag, Current: cur})
				switch {
				case err == nil:
					moves[w] = move
					wins.Add(1)
					winner.Store(int32(w))
				case !errors.Is(err, ErrConflict):
					t.Errorf("round %d writer %d: %v", round, w, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("round %d: %d writers won, want exactly 1", round, n)
		}
		a, next, err := s.GetAlias(ctx, "iris", "production")
		if err != nil {
			t.Fatal(err)
		}
		if a.Version != refs[winner.Load()].Version {
			t.Fatalf("round %d: alias holds %s, the winner wrote %s", round, a.Version, refs[winner.Load()].Version)
		}
		// The winner's answer is exactly what the bucket holds and what
		// its write replaced: one read and one conditional write a move.
		move := moves[winner.Load()]
		if !move.Alias.UpdatedAt.Equal(a.UpdatedAt) || move.Alias.Version != a.Version || move.Alias.Previous != a.Previous || move.ETag != next {
			t.Fatalf("round %d: the winner reports %+v (etag %s), the bucket holds %+v (etag %s)", round, move.Alias, move.ETag, a, next)
		}
		if move.Replaced != cur {
			t.Fatalf("round %d: the winner replaced %+v, the alias was %+v", round, move.Replaced, cur)
		}
		want := cur.Version
		if a.Version == cur.Version {
			want = cur.Previous // moved onto itself: history unchanged
		}
		if a.Previous != want {
			t.Fatalf("round %d: previous_version %q, want %q", round, a.Previous, want)
		}
		etag, cur = next, a
	}
}
