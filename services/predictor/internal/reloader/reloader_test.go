package reloader

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/modelferry/modelferry/devstack/testkit/s3test"
	"github.com/modelferry/modelferry/pkg/artifact"
	"github.com/modelferry/modelferry/pkg/artifact/artifactpb"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/pkg/testmodel"
	"github.com/modelferry/modelferry/services/predictor/internal/monitor"
)

type fixture struct {
	s3    *s3test.Server
	store *modelstore.Store
	reg   *prometheus.Registry
	r     *Reloader
	logs  *bytes.Buffer
}

func newFixture(t *testing.T, s3 *s3test.Server, cacheDir string) *fixture {
	t.Helper()
	if s3 == nil {
		s3 = s3test.Start(t)
	}
	store, err := modelstore.OpenS3(modelstore.S3Options{Endpoint: s3.Endpoint, AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, Bucket: "modelferry"}, modelstore.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.EnsureBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	logs := &bytes.Buffer{}
	r := New(Config{Store: store, Logger: slog.New(slog.NewTextHandler(logs, nil)), Registry: reg,
		Model: "iris", Alias: "production", Interval: 50 * time.Millisecond, CacheDir: cacheDir})
	return &fixture{s3: s3, store: store, reg: reg, r: r, logs: logs}
}

func (f *fixture) gauge(t *testing.T, name string) float64 {
	t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func TestReloaderFollowsAlias(t *testing.T) {
	f := newFixture(t, nil, "")
	ctx := context.Background()
	d := testmodel.Iris(t)

	if err := f.r.Poll(ctx); err != nil || f.r.Current() != nil {
		t.Fatalf("before any model: %v, %v", f.r.Current(), err)
	}
	if f.gauge(t, "predictor_model_loaded") != 0 {
		t.Error("loaded gauge set without a model")
	}

	v1 := testmodel.Publish(t, f.store, d, "iris", "production", 1)
	if err := f.r.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	first := f.r.Current()
	if first == nil || first.Version != v1.Version || first.SHA256 != v1.SHA256 {
		t.Fatalf("after publish: %+v", first)
	}
	if testutil.ToFloat64(f.r.metrics.info.WithLabelValues("iris", v1.Version)) != 1 || f.gauge(t, "predictor_model_loaded") != 1 {
		t.Error("model info not exported")
	}

	t.Run("unchanged alias loads nothing", func(t *testing.T) {
		if err := f.r.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		if f.r.Current() != first || testutil.ToFloat64(f.r.reloads.WithLabelValues("success")) != 1 {
			t.Error("an unchanged alias caused a reload")
		}
	})

	t.Run("corrupt artifact keeps the old model", func(t *testing.T) {
		bad := testmodel.Publish(t, f.store, d, "iris", "staging", 0.5)
		if err := os.WriteFile(f.s3.Path("modelferry", "models/iris/versions/"+bad.Version+"/model.pb"), []byte("garbage"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, etag, _ := f.store.GetAlias(ctx, "iris", "production")
		if _, err := f.store.SetAlias(ctx, "production", bad, modelstore.SetAliasOptions{IfMatch: etag}); err != nil {
			t.Fatal(err)
		}
		if err := f.r.Poll(ctx); err == nil {
			t.Error("loading a corrupt artifact reported no error")
		}
		if f.r.Current() != first {
			t.Error("corrupt artifact replaced the served model")
		}
		if testutil.ToFloat64(f.r.reloads.WithLabelValues("failure")) != 1 || f.gauge(t, "predictor_model_last_reload_successful") != 0 {
			t.Error("failure not exported")
		}
		// The bad version is not fetched again on every poll.
		_ = f.r.Poll(ctx)
		if testutil.ToFloat64(f.r.reloads.WithLabelValues("failure")) != 1 {
			t.Error("a known-bad artifact was loaded again")
		}
	})

	t.Run("the same bad artifact under a new alias write is not fetched again", func(t *testing.T) {
		bad, etag, _ := f.store.GetAlias(ctx, "iris", "production")
		ref := modelstore.Ref{Model: "iris", Version: bad.Version, SHA256: bad.SHA256}
		if _, err := f.store.SetAlias(ctx, "production", ref, modelstore.SetAliasOptions{IfMatch: etag}); err != nil {
			t.Fatal(err)
		}
		_ = f.r.Poll(ctx)
		if testutil.ToFloat64(f.r.reloads.WithLabelValues("failure")) != 1 {
			t.Error("a known-bad sha256 was loaded again after the alias was rewritten")
		}
	})

	t.Run("a corrupt alias keeps the model and is reported once", func(t *testing.T) {
		if err := os.WriteFile(f.s3.Path("modelferry", "models/iris/aliases/production.json"), []byte("{garbage"), 0o644); err != nil {
			t.Fatal(err)
		}
		// versitygw keeps the old ETag for a file changed behind its back:
		// rewrite through S3 to get a new one.
		_, etag, _ := f.store.GetAlias(ctx, "iris", "production")
		if _, err := f.store.SetAlias(ctx, "production", v1, modelstore.SetAliasOptions{IfMatch: etag}); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f.s3.Path("modelferry", "models/iris/aliases/production.json"), []byte("{garbage"), 0o644); err != nil {
			t.Fatal(err)
		}
		before := testutil.ToFloat64(f.r.reloads.WithLabelValues("failure"))
		for range 3 {
			_ = f.r.Poll(ctx)
		}
		if f.r.Current() != first {
			t.Error("a corrupt alias changed the served model")
		}
		if got := testutil.ToFloat64(f.r.reloads.WithLabelValues("failure")); got != before+1 {
			t.Errorf("failures went from %v to %v over three polls, want one more", before, got)
		}
	})

	t.Run("rolling back to the served version clears the failure", func(t *testing.T) {
		_, etag, _ := f.store.GetAlias(ctx, "iris", "production")
		if _, err := f.store.SetAlias(ctx, "production", v1, modelstore.SetAliasOptions{IfMatch: etag}); err != nil {
			t.Fatal(err)
		}
		if err := f.r.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		if f.r.Current() != first || f.gauge(t, "predictor_model_last_reload_successful") != 1 {
			t.Error("rollback to the served version left the failure set")
		}
	})

	t.Run("next good version loads and replaces the series", func(t *testing.T) {
		v3 := testmodel.Publish(t, f.store, d, "iris", "production", 2)
		if err := f.r.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		if f.r.Current().Version != v3.Version || f.gauge(t, "predictor_model_last_reload_successful") != 1 {
			t.Errorf("serving %s", f.r.Current().Version)
		}
		if n := testutil.CollectAndCount(f.r.metrics.info); n != 1 {
			t.Errorf("%d model_info series, want 1", n)
		}
		// A request that started on the first model finishes on it.
		p := make([]float64, 3)
		if k, err := first.Predict([]float64{5.1, 3.5, 1.4, 0.2}, p); err != nil || k != 0 {
			t.Errorf("old model predicts %d", k)
		}
	})

	t.Run("storage down keeps serving", func(t *testing.T) {
		cur := f.r.Current()
		f.s3.Stop()
		if err := f.r.Poll(ctx); err == nil {
			t.Error("poll during outage reported no error")
		}
		if f.r.Current() != cur {
			t.Error("model dropped during outage")
		}
		f.s3.Restart()
		if err := f.r.Poll(ctx); err != nil {
			t.Errorf("poll after restart: %v", err)
		}
	})
}

func TestCacheServesWhenStorageIsDownAtStart(t *testing.T) {
	cache := t.TempDir()
	f := newFixture(t, nil, cache)
	d := testmodel.Iris(t)
	ref := testmodel.Publish(t, f.store, d, "iris", "production", 1)
	if err := f.r.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.s3.Stop()
	pbPath, recPath := f.r.cachePaths()
	record, err := os.ReadFile(recPath)
	if err != nil {
		t.Fatal(err)
	}

	restarted := startDuringOutage(t, f.s3, cache)
	if m := restarted.Current(); m == nil || m.Version != ref.Version || m.SHA256 != ref.SHA256 {
		t.Fatalf("restart during outage serves %+v, want %s from the cache", m, ref.Version)
	}

	// Each of these would decode, or pass the hash, or both: only the
	// check named refuses it.
	otherVersion := modelstore.NewVersion(time.Now().Add(time.Hour))
	otherArtifact := testmodel.Artifact(t, d, "iris", otherVersion, 1)
	otherRecord, err := json.Marshal(cacheRecord{Model: "iris", Alias: modelstore.Alias{Version: ref.Version, SHA256: modelstore.SHA256(otherArtifact)}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name           string
		artifact, recd []byte
	}{
		{"bytes that do not decode", []byte("tampered"), record},
		{"a valid artifact of the same version whose sha256 differs from the record", testmodel.Artifact(t, d, "iris", ref.Version, 0.5), record},
		{"another version's artifact, its sha256 in the record", otherArtifact, otherRecord},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(pbPath, tc.artifact, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(recPath, tc.recd, 0o644); err != nil {
				t.Fatal(err)
			}
			r := startDuringOutage(t, f.s3, cache)
			if m := r.Current(); m != nil {
				t.Fatalf("the cache was served: %s (%s)", m.Version, m.SHA256)
			}
			if got := testutil.ToFloat64(r.reloads.WithLabelValues("failure")); got != 1 || testutil.ToFloat64(r.lastOK) != 0 {
				t.Errorf("refusing the cache exported %v failures, last_reload_successful %v", got, testutil.ToFloat64(r.lastOK))
			}
		})
	}
}

// startDuringOutage starts a fresh Reloader against the stopped server:
// its first poll fails, and it tries the cache.
func startDuringOutage(t *testing.T, s3 *s3test.Server, cacheDir string) *Reloader {
	t.Helper()
	r := newFixtureNoBucket(t, s3, cacheDir)
	_ = r.Start(context.Background())
	return r
}

// A storage that answers is believed over the cache, even when it has no
// model: the alias may have been deleted on purpose.
func TestCacheIsNotServedWhenStorageAnswers(t *testing.T) {
	cache := t.TempDir()
	f := newFixture(t, nil, cache)
	testmodel.Publish(t, f.store, testmodel.Iris(t), "iris", "production", 1)
	if err := f.r.Poll(context.Background()); err != nil || f.r.Current() == nil {
		t.Fatalf("first load: %v", err)
	}

	empty := newFixture(t, nil, cache)
	_ = empty.r.Start(context.Background())
	if m := empty.r.Current(); m != nil {
		t.Errorf("serves %s from the cache though storage answers that there is no model", m.Version)
	}
}

func TestUnwritableCacheWarnsAndServes(t *testing.T) {
	cache := t.TempDir()
	f := newFixture(t, nil, cache)
	pbPath, _ := f.r.cachePaths()
	// A directory where the artifact goes: the rename over it fails.
	if err := os.Mkdir(pbPath, 0o755); err != nil {
		t.Fatal(err)
	}
	testmodel.Publish(t, f.store, testmodel.Iris(t), "iris", "production", 1)
	if err := f.r.Poll(context.Background()); err != nil || f.r.Current() == nil {
		t.Fatalf("load with an unwritable cache: %v", err)
	}
	if !strings.Contains(f.logs.String(), "writing model cache") {
		t.Errorf("no warning logged:\n%s", f.logs)
	}
	if ents, _ := os.ReadDir(cache); len(ents) != 1 {
		t.Errorf("the cache directory holds %d entries, want the directory alone: temporary files left", len(ents))
	}
}

func TestCacheWrittenWithoutWarning(t *testing.T) {
	cache := t.TempDir()
	f := newFixture(t, nil, cache)
	testmodel.Publish(t, f.store, testmodel.Iris(t), "iris", "production", 1)
	if err := f.r.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(f.logs.String(), "writing model cache") {
		t.Errorf("a warning about a cache written fine:\n%s", f.logs)
	}
	pbPath, recPath := f.r.cachePaths()
	for _, p := range []string{pbPath, recPath} {
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
}

func TestPollTimeoutIsFiveIntervalsAtLeastTenSeconds(t *testing.T) {
	for interval, want := range map[time.Duration]time.Duration{
		50 * time.Millisecond: 10 * time.Second,
		time.Minute:           5 * time.Minute,
	} {
		r := &Reloader{cfg: Config{Interval: interval}}
		if got := r.pollTimeout(); got != want {
			t.Errorf("interval %v: timeout %v, want %v", interval, got, want)
		}
	}
}

// newFixtureNoBucket builds a Reloader without touching the (stopped) server.
func newFixtureNoBucket(t *testing.T, s3 *s3test.Server, cacheDir string) *Reloader {
	t.Helper()
	store, err := modelstore.OpenS3(modelstore.S3Options{Endpoint: s3.Endpoint, AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, Bucket: "modelferry"}, modelstore.Options{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return New(Config{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registry: prometheus.NewRegistry(),
		Model: "iris", Alias: "production", Interval: 50 * time.Millisecond, CacheDir: cacheDir})
}

// A valid artifact under an alias whose sha256 is another version's: the
// envelope checksum passes, so only the comparison with the alias can
// refuse it, and it must do so before anything of the new model is served
// or exported.
func TestReloaderRefusesValidArtifactUnderWrongSHA(t *testing.T) {
	f := newFixture(t, nil, "")
	ctx := context.Background()
	d := testmodel.Iris(t)
	v1 := testmodel.Publish(t, f.store, d, "iris", "production", 1)
	if err := f.r.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	first := f.r.Current()
	a := testmodel.Publish(t, f.store, d, "iris", "a", 2)
	b := testmodel.Publish(t, f.store, d, "iris", "b", 0.5)

	_, etag, err := f.store.GetAlias(ctx, "iris", "production")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.SetAlias(ctx, "production", modelstore.Ref{Model: "iris", Version: a.Version, SHA256: b.SHA256}, modelstore.SetAliasOptions{IfMatch: etag}); err != nil {
		t.Fatal(err)
	}
	if err := f.r.Poll(ctx); !errors.Is(err, modelstore.ErrIntegrity) {
		t.Fatalf("poll: %v, want an integrity error", err)
	}
	if f.r.Current() != first {
		t.Fatalf("serving %s, want %s kept", f.r.Current().Version, v1.Version)
	}
	if got := testutil.ToFloat64(f.r.reloads.WithLabelValues("success")); got != 1 {
		t.Errorf("%v successful reloads, want 1: the refused model was swapped in", got)
	}
	if got := testutil.ToFloat64(f.r.reloads.WithLabelValues("failure")); got != 1 || f.gauge(t, "predictor_model_last_reload_successful") != 0 {
		t.Errorf("failure not exported: %v failures", got)
	}
	// Nothing in the registry names the refused version: it was never
	// built, counted or announced.
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == a.Version || l.GetValue() == b.Version {
					t.Errorf("%s has a series for %s", mf.GetName(), l.GetValue())
				}
			}
		}
	}

	// The alias rewritten with the right sha256 loads version a.
	_, etag, _ = f.store.GetAlias(ctx, "iris", "production")
	if _, err := f.store.SetAlias(ctx, "production", a, modelstore.SetAliasOptions{IfMatch: etag}); err != nil {
		t.Fatal(err)
	}
	if err := f.r.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if m := f.r.Current(); m.Version != a.Version || m.SHA256 != a.SHA256 || f.gauge(t, "predictor_model_last_reload_successful") != 1 {
		t.Errorf("after the fix serving %s (%s)", m.Version, m.SHA256)
	}
}

// A predictor that starts while production names a corrupt artifact says
// so, instead of waiting for a model to be published.
func TestStartOnACorruptArtifactSaysIntegrity(t *testing.T) {
	f := newFixture(t, nil, "")
	ctx := context.Background()
	if w := f.r.Waiting(); !strings.Contains(w, "waiting for iris@production to be published") {
		t.Errorf("before any poll: %q", w)
	}
	ref := testmodel.Publish(t, f.store, testmodel.Iris(t), "iris", "production", 1)
	if err := os.WriteFile(f.s3.Path("modelferry", "models/iris/versions/"+ref.Version+"/model.pb"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.r.Poll(ctx); !errors.Is(err, modelstore.ErrIntegrity) {
		t.Fatalf("poll: %v, want ErrIntegrity", err)
	}
	if f.r.Current() != nil {
		t.Fatal("a corrupt model is served")
	}
	if w := f.r.Waiting(); !strings.Contains(w, "integrity") || !strings.Contains(w, ref.Version) {
		t.Errorf("waiting says %q, want the integrity failure of %s", w, ref.Version)
	}
}

// An artifact whose bytes match the alias's sha256 but do not decode was
// published broken: it is an integrity failure, and retrying cannot help
// until the alias moves. It is read once, not on every poll.
func TestUndecodableArtifactIsAnIntegrityFailureReadOnce(t *testing.T) {
	ctx := context.Background()
	mem := modelstore.NewMemory("modelferry")
	store := modelstore.New(mem, modelstore.Options{})
	version := modelstore.NewVersion(time.Now())
	ref, err := store.Publish(ctx, "iris", version, []byte("bytes that are no artifact"), []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.SetAlias(ctx, "production", ref, modelstore.SetAliasOptions{}); err != nil {
		t.Fatal(err)
	}
	var reads atomic.Int32
	mem.SetHook(func(op, key string) error {
		if strings.HasSuffix(key, "/model.pb") && op != "put" {
			reads.Add(1)
		}
		return nil
	})
	reg := prometheus.NewRegistry()
	r := New(Config{Store: store, Logger: slog.New(slog.DiscardHandler), Registry: reg,
		Model: "iris", Alias: "production", Interval: time.Second})
	for i := range 3 {
		if err := r.Poll(ctx); !errors.Is(err, modelstore.ErrIntegrity) && i == 0 {
			t.Fatalf("poll: %v, want ErrIntegrity", err)
		}
	}
	if n := reads.Load(); n != 1 {
		t.Errorf("the artifact was read %d times in 3 polls, want once: a decode failure is retried", n)
	}
	if got := testutil.ToFloat64(r.reloads.WithLabelValues("failure")); got != 1 {
		t.Errorf("%v failures recorded, want 1", got)
	}
	if w := r.Waiting(); !strings.Contains(w, "integrity") || !strings.Contains(w, version) {
		t.Errorf("waiting says %q, want the integrity failure of %s", w, version)
	}
}

// memoryReloader follows iris@production in an in-memory bucket.
func memoryReloader(t *testing.T, cfg Config) (*Reloader, *modelstore.Memory, *modelstore.Store) {
	t.Helper()
	mem := modelstore.NewMemory("modelferry")
	store := modelstore.New(mem, modelstore.Options{Timeout: time.Second})
	cfg.Store, cfg.Logger, cfg.Model, cfg.Alias, cfg.Interval = store, slog.New(slog.DiscardHandler), "iris", "production", time.Second
	return New(cfg), mem, store
}

// Storage that comes back and answers "no alias": the reason to wait is
// that nothing is published, no longer an outage.
func TestWaitingFollowsWhatStorageSays(t *testing.T) {
	r, mem, _ := memoryReloader(t, Config{})
	ctx := context.Background()
	mem.SetHook(func(op, key string) error { return errors.New("connection refused") })
	if err := r.Poll(ctx); err == nil {
		t.Fatal("a poll with storage down reported no error")
	}
	if w := r.Waiting(); !strings.Contains(w, "storage is unavailable") {
		t.Errorf("storage down: waiting says %q", w)
	}
	mem.SetHook(nil)
	if err := r.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if w := r.Waiting(); !strings.Contains(w, "waiting for iris@production to be published") {
		t.Errorf("storage back, nothing published: waiting says %q", w)
	}
}

// With a clock, a model with a training baseline is watched for drift;
// without one, none is.
func TestDriftIsWatchedWithAClock(t *testing.T) {
	for _, withClock := range []bool{true, false} {
		t.Run(fmt.Sprint("clock ", withClock), func(t *testing.T) {
			var clock *monitor.Clock
			if withClock {
				clock = monitor.NewClock(time.Minute, time.Now())
			}
			r, _, store := memoryReloader(t, Config{Clock: clock})
			ctx := context.Background()
			v := modelstore.NewVersion(time.Now())
			m, err := artifact.DecodeVersion(testmodel.Artifact(t, testmodel.Iris(t), "iris", v, 1), "iris", v)
			if err != nil {
				t.Fatal(err)
			}
			m.Baseline = &artifactpb.Baseline{Rows: 3, LabelCounts: []uint64{1, 1, 1}, PredictionCounts: []uint64{1, 1, 1}}
			for range m.FeatureNames {
				m.Baseline.Features = append(m.Baseline.Features, &artifactpb.FeatureBaseline{Edges: []float64{1}, Counts: []uint64{1, 2}})
			}
			b, err := artifact.Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := store.Publish(ctx, "iris", v, b, []byte(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := store.SetAlias(ctx, "production", ref, modelstore.SetAliasOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := r.Poll(ctx); err != nil {
				t.Fatal(err)
			}
			if watched := r.Current().Drift() != nil; watched != withClock {
				t.Errorf("drift watched %v, want %v", watched, withClock)
			}
		})
	}
}

// The cache directory is made when it does not exist yet.
func TestCacheDirectoryIsMade(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "not", "yet")
	r, _, store := memoryReloader(t, Config{CacheDir: dir})
	testmodel.Publish(t, store, testmodel.Iris(t), "iris", "production", 1)
	if err := r.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	pbPath, recPath := r.cachePaths()
	for _, p := range []string{pbPath, recPath} {
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
}

// TestOversizeObjectsAreRefusedUnread is the regression test of unbounded
// reads from the bucket: an artifact over PREDICTOR_MAX_ARTIFACT_BYTES and
// an alias over 64 KiB are refused, with errors that say so, and the
// predictor waits for a good version instead of retrying them as outages.
func TestOversizeObjectsAreRefusedUnread(t *testing.T) {
	f := newFixture(t, nil, "")
	ctx := context.Background()
	r := New(Config{Store: f.store.WithMaxArtifactBytes(100), Logger: slog.New(slog.NewTextHandler(f.logs, nil)), Registry: prometheus.NewRegistry(),
		Model: "iris", Alias: "production", Interval: 50 * time.Millisecond})
	testmodel.Publish(t, f.store, testmodel.Iris(t), "iris", "production", 1)
	err := r.Poll(ctx)
	if !errors.Is(err, modelstore.ErrTooLarge) || !strings.Contains(err.Error(), "over the limit of 100 bytes") ||
		!strings.Contains(err.Error(), "PREDICTOR_MAX_ARTIFACT_BYTES") || r.Current() != nil {
		t.Errorf("artifact over the limit: %v, %v", err, r.Current())
	}
	if w := r.Waiting(); !strings.Contains(w, "too large") {
		t.Errorf("waiting: %s", w)
	}
	bucket, err := modelstore.NewS3(modelstore.S3Options{Endpoint: f.s3.Endpoint, AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, Bucket: "modelferry"})
	if err != nil {
		t.Fatal(err)
	}
	huge := `{"version": "` + strings.Repeat("9", 300<<10) + `"}`
	if _, err := bucket.Put(ctx, "models/iris/aliases/production.json", strings.NewReader(huge), int64(len(huge)), modelstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := r.Poll(ctx); !errors.Is(err, modelstore.ErrTooLarge) || !strings.Contains(err.Error(), "over the limit of 65536 bytes") {
		t.Errorf("alias over 64 KiB: %.300v", err)
	}
	if w := r.Waiting(); strings.Contains(w, "unavailable") {
		t.Errorf("an oversize alias is reported as an outage: %s", w)
	}
}
