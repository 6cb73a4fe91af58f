package catalog

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/modelferry/modelferry/pkg/logreg"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/pkg/testmodel"
	"github.com/modelferry/modelferry/services/predictor/internal/reloader"
)

type fixture struct {
	bucket  *modelstore.Memory
	store   *modelstore.Store
	reg     *prometheus.Registry
	metrics *reloader.Metrics
	data    logreg.Data
	// ops counts the bucket's operations by kind ("get", "list", ...)
	// and the artifacts read.
	mu  sync.Mutex
	ops map[string]int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{bucket: modelstore.NewMemory("modelferry"), reg: prometheus.NewRegistry(), data: testmodel.Iris(t), ops: map[string]int{}}
	f.store = modelstore.New(f.bucket, modelstore.Options{})
	f.bucket.SetHook(func(op, key string) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.ops[op]++
		if strings.HasSuffix(key, "/model.pb") {
			f.ops["artifact"]++
		}
		return nil
	})
	return f
}

func (f *fixture) catalog(cfg Config) *Catalog {
	cfg.Store, cfg.Logger = f.store, slog.New(slog.NewTextHandler(io.Discard, nil))
	if f.metrics == nil {
		f.metrics = reloader.NewMetrics(f.reg)
	}
	cfg.Metrics, cfg.Interval = f.metrics, time.Hour
	return New(cfg)
}

func (f *fixture) publish(t *testing.T, name string) modelstore.Ref {
	t.Helper()
	return testmodel.Publish(t, f.store, f.data, name, "production", 1)
}

// counted returns the operations since the last call.
func (f *fixture) counted() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	ops := f.ops
	f.ops = map[string]int{}
	return ops
}

func TestListedModels(t *testing.T) {
	f := newFixture(t)
	c := f.catalog(Config{Models: []Spec{{"iris", "production"}, {"wine", "staging"}}})
	ctx := context.Background()
	if c.Default() != "iris" {
		t.Errorf("default %q", c.Default())
	}
	if _, err := c.Lookup("other"); !errors.Is(err, ErrNotServed) || !strings.Contains(err.Error(), "this predictor serves iris, wine") {
		t.Errorf("unknown model: %v", err)
	}
	c.Poll(ctx)
	if _, err := c.Lookup(""); !errors.Is(err, ErrNotLoaded) || !strings.Contains(err.Error(), "waiting for iris@production") {
		t.Errorf("before publishing: %v", err)
	}
	iris := f.publish(t, "iris")
	c.Poll(ctx)
	if m, err := c.Lookup(""); err != nil || m.Name != "iris" || m.Version != iris.Version {
		t.Fatalf("default model after publishing: %v, %v", m, err)
	}
	if err := c.Ready(); err == nil || !strings.Contains(err.Error(), "wine: waiting for wine@staging") {
		t.Errorf("ready with wine missing: %v", err)
	}
	wine := testmodel.Publish(t, f.store, f.data, "wine", "staging", 1)
	c.Poll(ctx)
	if err := c.Ready(); err != nil {
		t.Errorf("not ready with both loaded: %v", err)
	}
	if m, err := c.Lookup("wine"); err != nil || m.Version != wine.Version {
		t.Errorf("wine: %v, %v", m, err)
	}
	got := c.List()
	if len(got) != 2 || got[0].Name != "iris" || got[1].Name != "wine" || got[1].Alias != "staging" || got[1].Model == nil {
		t.Errorf("list %+v", got)
	}
}

// TestEveryModelOfTheBucket follows PREDICTOR_MODELS=*: models found by
// listing, those without the alias left out, a deleted alias unloaded.
func TestEveryModelOfTheBucket(t *testing.T) {
	f := newFixture(t)
	var unloaded []string
	c := f.catalog(Config{All: true, Alias: "production", Default: "iris", OnUnload: func(name string) { unloaded = append(unloaded, name) }})
	ctx := context.Background()
	if err := c.Ready(); err == nil {
		t.Error("ready before the first listing")
	}
	c.round(ctx, true)
	c.started.Store(true)
	if err := c.Ready(); err == nil || !strings.Contains(err.Error(), `waiting for a model with the "production" alias`) {
		t.Errorf("ready in an empty bucket: %v", err)
	}
	f.publish(t, "a")
	f.publish(t, "b")
	// A model with versions but no production alias is not served.
	if _, err := f.store.Publish(ctx, "c", modelstore.NewVersion(time.Now()), testmodel.Artifact(t, f.data, "c", "20261126T100000Z-00000001", 1), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	c.Poll(ctx)
	if names := served(c); !slices.Equal(names, []string{"a", "b"}) {
		t.Fatalf("served %v", names)
	}
	if err := c.Ready(); err != nil {
		t.Errorf("not ready: %v", err)
	}
	if _, err := c.Lookup(""); !errors.Is(err, ErrNotServed) {
		t.Errorf("the default model iris is not in the bucket: %v", err)
	}
	f.publish(t, "c")
	c.Poll(ctx)
	if names := served(c); !slices.Equal(names, []string{"a", "b", "c"}) {
		t.Fatalf("after c got its alias: %v", names)
	}
	if testutil.ToFloat64(gauge(t, f.reg, "predictor_model_loaded", "a")) != 1 {
		t.Error("no loaded series for a")
	}
	// Deleting a's alias unloads it and its series.
	if err := f.bucket.Delete(ctx, "models/a/aliases/production.json"); err != nil {
		t.Fatal(err)
	}
	c.Poll(ctx)
	if names := served(c); !slices.Equal(names, []string{"b", "c"}) {
		t.Fatalf("after a's alias was deleted: %v", names)
	}
	if _, err := c.Lookup("a"); !errors.Is(err, ErrNotServed) {
		t.Errorf("a after unloading: %v", err)
	}
	if !slices.Equal(unloaded, []string{"a"}) {
		t.Errorf("unloaded %v", unloaded)
	}
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "model" && l.GetValue() == "a" {
					t.Errorf("%s still has a series of a", mf.GetName())
				}
			}
		}
	}
	// And publishing it again serves it again.
	f.publish(t, "a")
	c.Poll(ctx)
	if names := served(c); !slices.Equal(names, []string{"a", "b", "c"}) {
		t.Fatalf("after a was published again: %v", names)
	}
}

// TestOneRoundOfReads: a round is one listing and one conditional GET per
// model, nothing more while nothing changes.
func TestOneRoundOfReads(t *testing.T) {
	f := newFixture(t)
	for _, name := range []string{"a", "b", "c"} {
		f.publish(t, name)
	}
	ctx := context.Background()
	listed := f.catalog(Config{Models: []Spec{{"a", "production"}, {"b", "production"}, {"c", "production"}}})
	all := f.catalog(Config{All: true, Alias: "production"})
	listed.Poll(ctx)
	all.Poll(ctx)
	f.counted()
	listed.Poll(ctx)
	if ops := f.counted(); ops["get"] != 3 || len(ops) != 1 {
		t.Errorf("a round of 3 listed models: %v", ops)
	}
	all.Poll(ctx)
	if ops := f.counted(); ops["get"] != 3 || ops["list"] != 1 || len(ops) != 2 {
		t.Errorf("a round of every model of a bucket of 3: %v", ops)
	}
}

func TestCachedModelsServeWhenTheBucketIsDown(t *testing.T) {
	f := newFixture(t)
	f.publish(t, "a")
	f.publish(t, "b")
	dir := t.TempDir()
	ctx := context.Background()
	first := f.catalog(Config{All: true, Alias: "production", CacheDir: dir})
	first.round(ctx, true)
	if names := served(first); len(names) != 2 {
		t.Fatalf("served %v", names)
	}
	f.bucket.SetHook(func(op, key string) error { return errors.New("connection refused") })
	restarted := newFixture(t)
	restarted.bucket, restarted.store = f.bucket, f.store
	c := restarted.catalog(Config{All: true, Alias: "production", CacheDir: dir})
	c.round(ctx, true)
	c.started.Store(true)
	if names := served(c); !slices.Equal(names, []string{"a", "b"}) {
		t.Fatalf("with the bucket down after a restart: %v", names)
	}
	if err := c.Ready(); err != nil {
		t.Errorf("not ready from the cache: %v", err)
	}
	// A round that fails to read the aliases keeps the cached models.
	c.Poll(ctx)
	if names := served(c); !slices.Equal(names, []string{"a", "b"}) {
		t.Fatalf("a second round with the bucket down: %v", names)
	}
}

// The cache stands in for storage that does not answer, never for
// storage that answers "alias not found": a model whose alias is gone is
// not served from the cache, and a model found in the cache is not kept
// once storage says it has no alias.
func TestCacheIsNotServedForADeletedAlias(t *testing.T) {
	ctx := context.Background()
	populate := func(t *testing.T) (*fixture, string) {
		f := newFixture(t)
		f.publish(t, "a")
		f.publish(t, "b")
		dir := t.TempDir()
		c := f.catalog(Config{All: true, Alias: "production", CacheDir: dir})
		c.round(ctx, true)
		if names := served(c); !slices.Equal(names, []string{"a", "b"}) {
			t.Fatalf("served %v", names)
		}
		if err := f.bucket.Delete(ctx, "models/a/aliases/production.json"); err != nil {
			t.Fatal(err)
		}
		return f, dir
	}
	t.Run("a listed model", func(t *testing.T) {
		f, dir := populate(t)
		c := f.catalog(Config{Models: []Spec{{"a", "production"}, {"b", "production"}}, CacheDir: dir})
		c.round(ctx, true)
		if names := served(c); !slices.Equal(names, []string{"b"}) {
			t.Errorf("served %v, want b alone: a's alias is deleted", names)
		}
	})
	t.Run("every model of a bucket that cannot be listed", func(t *testing.T) {
		f, dir := populate(t)
		// Listing fails, so the first round takes the models of the
		// cache; reading their aliases works.
		f.bucket.SetHook(func(op, key string) error {
			if op == "list" {
				return errors.New("connection refused")
			}
			return nil
		})
		c := f.catalog(Config{All: true, Alias: "production", CacheDir: dir})
		c.round(ctx, true)
		if names := served(c); !slices.Equal(names, []string{"b"}) {
			t.Errorf("served %v, want b alone: a's alias is deleted", names)
		}
		c.Poll(ctx)
		if _, err := c.Lookup("a"); !errors.Is(err, ErrNotServed) {
			t.Errorf("a, found in the cache, with no alias in storage: %v; want it no longer served", err)
		}
		if names := served(c); !slices.Equal(names, []string{"b"}) {
			t.Errorf("served %v after a second round", names)
		}
	})
}

// served lists the loaded models.
func served(c *Catalog) []string {
	var names []string
	for _, m := range c.Loaded() {
		names = append(names, m.Name)
	}
	return names
}

func gauge(t *testing.T, reg *prometheus.Registry, name, model string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "model" && l.GetValue() == model {
					g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "x"})
					g.Set(m.GetGauge().GetValue())
					return g
				}
			}
		}
	}
	t.Fatalf("no %s{model=%q}", name, model)
	return nil
}
func TestJitterSpreadsTheIntervalTenPercent(t *testing.T) {
	for _, tc := range []struct {
		u    float64
		want time.Duration
	}{{0, 900 * time.Millisecond}, {0.5, time.Second}, {0.999, 1099800 * time.Microsecond}} {
		if got := jitter(time.Second, tc.u); got != tc.want {
			t.Errorf("jitter(1s, %v) = %v, want %v", tc.u, got, tc.want)
		}
	}
}
