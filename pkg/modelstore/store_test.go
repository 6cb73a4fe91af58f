package modelstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelferry/modelferry/pkg/artifact"
	"github.com/modelferry/modelferry/pkg/artifact/artifactpb"
	"github.com/modelferry/modelferry/pkg/s3test"
)

func encodedModel(t testing.TB, name, version string) []byte {
	t.Helper()
	b, err := artifact.Encode(&artifactpb.Model{
		FormatVersion: artifact.FormatVersion,
		Name:          name,
		Version:       version,
		FeatureNames:  []string{"a", "b"},
		ClassNames:    []string{"x", "y", "z"},
		Linear: &artifactpb.LinearModel{Rows: 3, Cols: 2,
			Coefficients: []float64{1, 2, 3, 4, 5, 6}, Intercepts: []float64{0, 0, 0}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// countingTransport counts response body bytes, to show what a poll moves.
type countingTransport struct {
	bodyBytes atomic.Int64
	requests  atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	c.requests.Add(1)
	if err == nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, n: &c.bodyBytes}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func newStore(t testing.TB, srv *s3test.Server, mutate ...func(*Options)) *Store {
	t.Helper()
	opts := Options{Endpoint: srv.Endpoint, AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey,
		Bucket: "modelferry", Timeout: 2 * time.Second}
	for _, m := range mutate {
		m(&opts)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRegistryAgainstVersitygw(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	ct := &countingTransport{}
	s := newStore(t, srv, func(o *Options) { o.Transport = ct })

	t.Run("missing bucket is created", func(t *testing.T) {
		if err := s.Ping(ctx); !errors.Is(err, ErrNotFound) {
			t.Fatalf("ping before create: %v, want ErrNotFound", err)
		}
		if err := s.EnsureBucket(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.EnsureBucket(ctx); err != nil {
			t.Fatalf("second EnsureBucket: %v", err)
		}
		if err := s.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})

	v1 := "20261126T100000Z-00000001"
	v2 := "20261126T110000Z-00000002"
	m1 := encodedModel(t, "iris", v1)
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
		m, b, err := s.ReadVersion(ctx, "iris", v1, ref1.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if m.Version != v1 || !bytes.Equal(b, m1) {
			t.Errorf("read back %s", m.Version)
		}
		rec, err := s.ReadRecord(ctx, "iris", v1)
		if err != nil || string(rec) != `{"run":1}` {
			t.Errorf("record %q, %v", rec, err)
		}
	})

	t.Run("versions are immutable", func(t *testing.T) {
		_, err := s.Publish(ctx, "iris", v1, encodedModel(t, "iris", v1), []byte(`{"run":"again"}`))
		if !errors.Is(err, ErrConflict) {
			t.Fatalf("republish: %v, want ErrConflict", err)
		}
		rec, _ := s.ReadRecord(ctx, "iris", v1)
		if string(rec) != `{"run":1}` {
			t.Errorf("record overwritten: %q", rec)
		}
	})

	t.Run("publish refuses a bad artifact and writes nothing", func(t *testing.T) {
		bad := "20261126T120000Z-0000000b"
		_, err := s.Publish(ctx, "iris", bad, []byte("garbage"), []byte(`{}`))
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("got %v, want ErrInvalid", err)
		}
		if ok, _ := s.VersionExists(ctx, "iris", bad); ok {
			t.Error("bad artifact was stored")
		}
		if _, err := s.Publish(ctx, "iris", bad, encodedModel(t, "iris", v1), []byte(`{}`)); !errors.Is(err, ErrInvalid) {
			t.Errorf("artifact for another version accepted: %v", err)
		}
	})

	t.Run("alias create, poll, move", func(t *testing.T) {
		if _, _, err := s.GetAlias(ctx, "iris", "production"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("missing alias: %v, want ErrNotFound", err)
		}
		etag, err := s.SetAlias(ctx, "production", ref1, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetAlias(ctx, "production", ref1, ""); !errors.Is(err, ErrConflict) {
			t.Errorf("second create: %v, want ErrConflict", err)
		}
		a, etag2, err := s.GetAlias(ctx, "iris", "production")
		if err != nil || a.Version != v1 || a.SHA256 != ref1.SHA256 || etag2 != etag {
			t.Fatalf("alias %+v etag %s/%s, %v", a, etag2, etag, err)
		}

		before := ct.bodyBytes.Load()
		_, same, changed, err := s.PollAlias(ctx, "iris", "production", etag)
		if err != nil || changed || same != etag {
			t.Fatalf("unchanged poll: changed=%v etag=%s err=%v", changed, same, err)
		}
		if moved := ct.bodyBytes.Load() - before; moved != 0 {
			t.Errorf("unchanged poll moved %d body bytes, want 0", moved)
		}

		ref2, err := s.Publish(ctx, "iris", v2, encodedModel(t, "iris", v2), []byte(`{"run":2}`))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetAlias(ctx, "production", ref2, "stale-etag"); !errors.Is(err, ErrConflict) {
			t.Errorf("stale etag: %v, want ErrConflict", err)
		}
		etag3, err := s.SetAlias(ctx, "production", ref2, etag)
		if err != nil {
			t.Fatal(err)
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
		if _, err := s.put(ctx, aliasKey("iris", "broken"), []byte("{not json"), "application/json", false, ""); err != nil {
			t.Fatal(err)
		}
		_, etag, err := s.GetAlias(ctx, "iris", "broken")
		if !errors.Is(err, ErrIntegrity) || etag == "" {
			t.Fatalf("got etag %q, %v; want ErrIntegrity with the etag", etag, err)
		}
		if _, err := s.SetAlias(ctx, "broken", ref1, etag); err != nil {
			t.Fatalf("replacing the corrupt alias: %v", err)
		}
		if a, _, err := s.GetAlias(ctx, "iris", "broken"); err != nil || a.Version != v1 {
			t.Errorf("after repair: %+v, %v", a, err)
		}
	})

	t.Run("listing order", func(t *testing.T) {
		for _, v := range []string{"20261125T235959Z-000000aa", "20261127T000000Z-000000bb"} {
			if _, err := s.Publish(ctx, "iris", v, encodedModel(t, "iris", v), []byte(`{}`)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Publish(ctx, "other", v1, encodedModel(t, "other", v1), []byte(`{}`)); err != nil {
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

	t.Run("corrupt and truncated objects fail integrity", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			damage func([]byte) []byte
		}{
			{"truncated", func(b []byte) []byte { return b[:len(b)/2] }},
			{"bit flip", func(b []byte) []byte { b = bytes.Clone(b); b[len(b)-3] ^= 1; return b }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				v := "20261126T130000Z-0000c0" + map[string]string{"truncated": "01", "bit flip": "02"}[tc.name]
				good := encodedModel(t, "iris", v)
				ref, err := s.Publish(ctx, "iris", v, good, []byte(`{}`))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(srv.Path("modelferry", artifactKey("iris", v)), tc.damage(good), 0o644); err != nil {
					t.Fatal(err)
				}
				if _, _, err := s.ReadVersion(ctx, "iris", v, ref.SHA256); !errors.Is(err, ErrIntegrity) {
					t.Errorf("with sha: %v, want ErrIntegrity", err)
				}
				if _, _, err := s.ReadVersion(ctx, "iris", v, ""); !errors.Is(err, ErrIntegrity) {
					t.Errorf("without sha: %v, want ErrIntegrity", err)
				}
			})
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
	})

	t.Run("runs", func(t *testing.T) {
		ids := []string{"20261126T100000Z-0000000a", "20261126T100001Z-0000000b"}
		for _, id := range ids {
			if err := s.PutRun(ctx, "iris", id, []byte(`{"status":"queued"}`)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.PutRun(ctx, "iris", ids[0], []byte(`{"status":"succeeded"}`)); err != nil {
			t.Fatal(err)
		}
		got, err := s.ListRuns(ctx, "iris")
		if err != nil || !slices.Equal(got, []string{ids[1], ids[0]}) {
			t.Errorf("runs %v, %v", got, err)
		}
		b, err := s.GetRun(ctx, "iris", ids[0])
		if err != nil || string(b) != `{"status":"succeeded"}` {
			t.Errorf("run %s, %v", b, err)
		}
		models, err := s.ListRunModels(ctx)
		if err != nil || !slices.Equal(models, []string{"iris"}) {
			t.Errorf("run models %v, %v", models, err)
		}
	})

	t.Run("invalid names are refused before any request", func(t *testing.T) {
		n := ct.requests.Load()
		for _, err := range []error{
			func() error { _, err := s.ListVersions(ctx, "Bad Name"); return err }(),
			func() error { _, _, err := s.GetAlias(ctx, "iris", "../x"); return err }(),
			func() error { _, _, err := s.ReadVersion(ctx, "iris", "latest", ""); return err }(),
		} {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("got %v, want ErrInvalid", err)
			}
		}
		if ct.requests.Load() != n {
			t.Error("invalid names reached the server")
		}
	})
}

func TestConcurrentAliasWritersLoseNoUpdate(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	s := newStore(t, srv)
	if err := s.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	const writers, rounds = 4, 100
	refs := make([]Ref, writers)
	for w := range refs {
		v := "20261126T100000Z-0000000" + string(rune('0'+w))
		ref, err := s.Publish(ctx, "iris", v, encodedModel(t, "iris", v), []byte(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		refs[w] = ref
	}
	etag, err := s.SetAlias(ctx, "production", refs[0], "")
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < rounds; round++ {
		var wins atomic.Int32
		var winner atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := 0; w < writers; w++ {
			wg.Go(func() {
				<-start
				_, err := s.SetAlias(ctx, "production", refs[w], etag)
				switch {
				case err == nil:
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
		etag = next
	}
}

func TestOutageIsUnavailableAndRecovers(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	s := newStore(t, srv, func(o *Options) { o.Timeout = time.Second })
	if err := s.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, _, err := s.GetAlias(cctx, "iris", "production"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("get during outage: %v, want ErrUnavailable", err)
	}
	if cctx.Err() != nil {
		t.Error("outage error took longer than the caller's deadline")
	}
	if _, err := s.SetAlias(ctx, "production", Ref{Model: "iris", Version: "20261126T100000Z-00000001", SHA256: strings.Repeat("0", 64)}, ""); !errors.Is(err, ErrUnavailable) {
		t.Errorf("set during outage: %v, want ErrUnavailable", err)
	}
	srv.Restart()
	if err := s.Ping(ctx); err != nil {
		t.Errorf("after restart: %v", err)
	}

	// WaitForBucket rides out an outage.
	srv.Stop()
	var retries atomic.Int32
	waited := make(chan error, 1)
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	go func() { waited <- s.WaitForBucket(wctx, func(error, time.Duration) { retries.Add(1) }) }()
	for retries.Load() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	srv.Restart()
	if err := <-waited; err != nil {
		t.Errorf("WaitForBucket: %v after %d retries", err, retries.Load())
	}
}

func TestWrongCredentialsAreAccessDenied(t *testing.T) {
	srv := s3test.Start(t)
	s := newStore(t, srv, func(o *Options) { o.SecretKey = "wrong" })
	err := s.EnsureBucket(context.Background())
	if !errors.Is(err, ErrAccessDenied) {
		t.Fatalf("got %v, want ErrAccessDenied", err)
	}
	if !strings.Contains(err.Error(), "access denied") {
		t.Errorf("message %q does not say access was denied", err)
	}
}
