package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelferry/modelferry/pkg/artifact"
	"github.com/modelferry/modelferry/pkg/artifact/artifactpb"
	"github.com/modelferry/modelferry/pkg/modelstore"
)

func TestGate(t *testing.T) {
	g := Gate{MinAccuracy: 0.7, MaxRegression: 0.05}
	onTrain := func(m *artifactpb.Model) *artifactpb.Model { m.Metrics.MetricsOn = "train"; return m }
	otherClasses := func(m *artifactpb.Model) *artifactpb.Model { m.ClassNames = []string{"x", "z"}; return m }
	model := func(acc float64, features ...string) *artifactpb.Model { return testModel("v", acc, features...) }
	for _, tc := range []struct {
		name       string
		cand, prod *artifactpb.Model
		ok         bool
		reason     string
	}{
		{"first model above minimum", model(0.9), nil, true, ""},
		{"first model below minimum", model(0.5), nil, false, "below the minimum 0.7000"},
		{"better than production", model(0.95), model(0.9), true, ""},
		{"slightly worse, within margin", model(0.86), model(0.9), true, ""},
		{"much worse than production", model(0.8), model(0.9), false, "more than 0.0500 below production"},
		{"other features", model(0.99, "a", "c"), model(0.9), false, "features or classes differ"},
		{"other classes", otherClasses(model(0.99)), model(0.9), false, "features or classes differ"},
		{"exactly the minimum", model(0.7), nil, true, ""},
		{"exactly the allowed regression", model(0.85), model(0.9), true, ""},
		{"metrics on training data", onTrain(model(0.99)), nil, false, "metrics come from the training data"},
		{"production judged on training data is no yardstick", model(0.8), onTrain(model(1)), true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, reason := g.Decide(tc.cand, tc.prod)
			if ok != tc.ok || !strings.Contains(reason, tc.reason) {
				t.Errorf("Decide = %v %q, want %v %q", ok, reason, tc.ok, tc.reason)
			}
		})
	}
}

func TestParamsValidate(t *testing.T) {
	for _, tc := range []struct {
		change func(*Params)
		want   string
	}{
		{func(*Params) {}, ""},
		{func(p *Params) { p.C = 0 }, "c must be a positive finite number"},
		{func(p *Params) { p.MaxIter = 0 }, "max_iter must be in"},
		{func(p *Params) { p.MaxIter = MaxIterLimit }, ""},
		{func(p *Params) { p.MaxIter = MaxIterLimit + 1 }, "max_iter must be in [1, 100000], got 100001"},
		{func(p *Params) { p.Tol = -1 }, "tol must be a positive finite number"},
		{func(p *Params) { p.TestFraction = 1 }, "test_fraction must be in [0, 1)"},
	} {
		p := DefaultParams()
		tc.change(&p)
		err := p.Validate()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: %v, want %q", p, err, tc.want)
		}
	}
}

func testModel(version string, acc float64, features ...string) *artifactpb.Model {
	if len(features) == 0 {
		features = []string{"a", "b"}
	}
	return &artifactpb.Model{FormatVersion: artifact.FormatVersion, Name: "iris", Version: version,
		FeatureNames: features, ClassNames: []string{"x", "y"},
		Linear:  &artifactpb.LinearModel{Rows: 1, Cols: uint32(len(features)), Coefficients: make([]float64, len(features)), Intercepts: []float64{0}},
		Metrics: &artifactpb.Metrics{Accuracy: acc, MetricsOn: "test"}}
}

type fixture struct {
	mem   *modelstore.Memory
	store *modelstore.Store
	reg   *Registry
	live  map[string]Run
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{mem: modelstore.NewMemory("modelferry"), live: map[string]Run{}}
	f.store = modelstore.New(f.mem, modelstore.Options{Timeout: time.Second})
	f.reg = New(Config{Storage: f.store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Gate: Gate{MinAccuracy: 0.7, MaxRegression: 0.05},
		Live: func(id string) (Run, bool) { r, ok := f.live[id]; return r, ok }})
	return f
}

// publish stores a version of iris with the given accuracy.
func (f *fixture) publish(t *testing.T, version string, acc float64) (*artifactpb.Model, modelstore.Ref) {
	t.Helper()
	m := testModel(version, acc)
	ref, _, err := f.reg.Publish(context.Background(), m, VersionRecord{RunID: version, Model: "iris", Version: version})
	if err != nil {
		t.Fatal(err)
	}
	return m, ref
}

func version(i int) string { return fmt.Sprintf("20261126T1000%02dZ-%08x", i, i) }

func TestPromoteRetriesWhenProductionMovesUnderIt(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// the accuracy of the model a concurrent writer promotes between
		// the gate's read and our write
		racerAcc     float64
		wantPromoted bool
		wantReason   string
	}{
		{"the gate passes again: promoted", 0.9, true, ""},
		{"the racer is much better: the gate refuses", 0.99, false, "more than 0.0500 below production"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			_, old := f.publish(t, version(1), 0.9)
			if err := f.reg.MoveAlias(ctx, AliasProduction, old); err != nil {
				t.Fatal(err)
			}
			_, racer := f.publish(t, version(2), tc.racerAcc)
			cand, ref := f.publish(t, version(3), 0.92)
			var raced, puts atomic.Int32
			f.mem.SetHook(func(op, key string) error {
				if op == "put" && strings.HasSuffix(key, "/aliases/production.json") {
					puts.Add(1)
					if raced.CompareAndSwap(0, 1) {
						// Another trainer moves production first: our
						// compare-and-swap must lose and look again.
						if err := f.reg.MoveAlias(ctx, AliasProduction, racer); err != nil {
							t.Error(err)
						}
					}
				}
				return nil
			})
			promoted, reason, err := f.reg.Promote(ctx, cand, ref)
			if err != nil {
				t.Fatal(err)
			}
			f.mem.SetHook(nil)
			if raced.Load() != 1 || puts.Load() < 2 {
				t.Fatalf("the race did not happen: %d races, %d puts", raced.Load(), puts.Load())
			}
			prod, _, err := f.store.GetAlias(ctx, "iris", AliasProduction)
			if err != nil {
				t.Fatal(err)
			}
			if promoted != tc.wantPromoted || !strings.Contains(reason, tc.wantReason) {
				t.Errorf("promoted %v %q, want %v %q", promoted, reason, tc.wantPromoted, tc.wantReason)
			}
			// promoted is true exactly when production really moved to us.
			if promoted != (prod.Version == ref.Version) {
				t.Errorf("promoted %v but production holds %s (candidate %s)", promoted, prod.Version, ref.Version)
			}
			if !promoted && prod.Version != racer.Version {
				t.Errorf("production holds %s, want the racer's %s", prod.Version, racer.Version)
			}
		})
	}
}

func TestPromoteGivesUpWhenProductionKeepsMoving(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	_, old := f.publish(t, version(1), 0.9)
	if err := f.reg.MoveAlias(ctx, AliasProduction, old); err != nil {
		t.Fatal(err)
	}
	cand, ref := f.publish(t, version(3), 0.92)
	f.mem.SetHook(func(op, key string) error {
		if op == "put" && strings.HasSuffix(key, "/aliases/production.json") {
			return fmt.Errorf("%w: injected", modelstore.ErrConflict)
		}
		return nil
	})
	promoted, reason, err := f.reg.Promote(ctx, cand, ref)
	if err != nil || promoted || !strings.Contains(reason, "moved concurrently") {
		t.Errorf("promoted %v %q, %v", promoted, reason, err)
	}
}

// Production's artifact overwritten in the bucket: a corrupt production
// counts as none, so the gate judges the candidate on minimum accuracy
// alone and promotes it.
func TestPromoteOverACorruptProduction(t *testing.T) {
	ctx := context.Background()
	for name, damage := range map[string][]byte{
		"garbage":                     []byte("garbage"),
		"another valid artifact":      mustEncode(t, testModel(version(9), 0.99)),
		"the same version, retouched": mustEncode(t, testModel(version(1), 0.98)),
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			_, old := f.publish(t, version(1), 0.99)
			if err := f.reg.MoveAlias(ctx, AliasProduction, old); err != nil {
				t.Fatal(err)
			}
			f.mem.Overwrite("models/iris/versions/"+old.Version+"/model.pb", damage)
			// Far below the broken production's 0.99, above the minimum.
			cand, ref := f.publish(t, version(2), 0.75)
			promoted, reason, err := f.reg.Promote(ctx, cand, ref)
			if err != nil || !promoted {
				t.Fatalf("promoted %v %q, %v; want promoted over a corrupt production", promoted, reason, err)
			}
			prod, _, err := f.store.GetAlias(ctx, "iris", AliasProduction)
			if err != nil || prod.Version != ref.Version || prod.Previous != old.Version {
				t.Errorf("production %+v, %v; want %s after %s", prod, err, ref.Version, old.Version)
			}
		})
	}
}

// Two automatic promotions in a row: production's previous_version names
// the first, so that a rollback after a gate promotion has somewhere to go.
func TestPromoteRecordsThePreviousVersion(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	first, ref1 := f.publish(t, version(1), 0.9)
	second, ref2 := f.publish(t, version(2), 0.91)
	for _, c := range []struct {
		m   *artifactpb.Model
		ref modelstore.Ref
	}{{first, ref1}, {second, ref2}} {
		if promoted, reason, err := f.reg.Promote(ctx, c.m, c.ref); err != nil || !promoted {
			t.Fatalf("promote %s: %v %q, %v", c.ref.Version, promoted, reason, err)
		}
	}
	prod, _, err := f.store.GetAlias(ctx, "iris", AliasProduction)
	if err != nil || prod.Version != ref2.Version || prod.Previous != ref1.Version {
		t.Errorf("production %+v, %v; want %s with previous_version %s", prod, err, ref2.Version, ref1.Version)
	}
}

func mustEncode(t *testing.T, m *artifactpb.Model) []byte {
	t.Helper()
	b, err := artifact.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSetAliasVerifiesTheArtifact(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	_, good := f.publish(t, version(1), 0.9)
	if _, err := f.reg.SetAlias(ctx, "iris", AliasProduction, good.Version); err != nil {
		t.Fatal(err)
	}
	_, bad := f.publish(t, version(2), 0.9)
	// A valid artifact of another version copied over this one.
	other, _ := artifact.Encode(testModel(version(3), 0.9))
	f.mem.Overwrite("models/iris/versions/"+bad.Version+"/model.pb", other)
	if _, err := f.reg.SetAlias(ctx, "iris", AliasProduction, bad.Version); !errors.Is(err, modelstore.ErrIntegrity) {
		t.Fatalf("got %v, want ErrIntegrity", err)
	}
	if prod, _, _ := f.store.GetAlias(ctx, "iris", AliasProduction); prod.Version != good.Version {
		t.Errorf("production moved to %s", prod.Version)
	}
	// The alias remembers where it was, for rollbacks.
	_, third := f.publish(t, version(4), 0.9)
	if _, err := f.reg.SetAlias(ctx, "iris", AliasProduction, third.Version); err != nil {
		t.Fatal(err)
	}
	if prod, _, _ := f.store.GetAlias(ctx, "iris", AliasProduction); prod.Previous != good.Version {
		t.Errorf("production after a move: previous %q, want %s", prod.Previous, good.Version)
	}
	if _, err := f.reg.SetAlias(ctx, "iris", AliasProduction, third.Version); err != nil {
		t.Fatal(err)
	}
	if prod, _, _ := f.store.GetAlias(ctx, "iris", AliasProduction); prod.Previous != good.Version {
		t.Errorf("production moved onto itself: previous %q, want still %s", prod.Previous, good.Version)
	}
	change, err := f.reg.SetAlias(ctx, "iris", "staging", good.Version)
	if err != nil || change.PreviousVersion != "" || change.Version != good.Version || change.SHA256 != good.SHA256 {
		t.Errorf("new alias: %+v, %v", change, err)
	}
}

func saveRuns(t *testing.T, f *fixture, runs ...Run) {
	t.Helper()
	for _, r := range runs {
		if err := f.reg.SaveRun(context.Background(), r, SaveOptions{First: true}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRecoverInterrupted(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	start := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	stale := Run{ID: version(1), Model: "iris", Status: StatusRunning}
	live := Run{ID: version(2), Model: "iris", Status: StatusRunning}
	done := Run{ID: version(3), Model: "wine", Status: StatusSucceeded}
	saveRuns(t, f, stale, live, done)
	f.live[live.ID] = live
	f.publish(t, version(4), 0.9)
	// A publish a dead process cut short, and one of this process.
	f.mem.Overwrite("models/iris/versions/"+version(5)+"/run.json", []byte(`{}`))
	after := "20261126T130000Z-0000000a"
	f.mem.Overwrite("models/iris/versions/"+after+"/run.json", []byte(`{}`))

	if err := f.reg.RecoverInterrupted(ctx, start); err != nil {
		t.Fatal(err)
	}
	delete(f.live, live.ID)
	for _, tc := range []struct {
		id   string
		want Status
	}{{stale.ID, StatusFailed}, {live.ID, StatusRunning}, {done.ID, StatusSucceeded}} {
		got, err := f.reg.Run(ctx, tc.id)
		if err != nil || got.Status != tc.want {
			t.Errorf("run %s: %s, %v; want %s", tc.id, got.Status, err, tc.want)
		}
		if tc.want == StatusFailed && (got.Error == nil || !strings.Contains(got.Error.Message, "interrupted") || got.FinishedAt == nil) {
			t.Errorf("failed run says %+v", got.Error)
		}
	}
	keys := f.mem.Keys()
	if slices.Contains(keys, "models/iris/versions/"+version(5)+"/run.json") {
		t.Error("the cut-short version of a dead process is still there")
	}
	if !slices.Contains(keys, "models/iris/versions/"+after+"/run.json") {
		t.Error("a version begun after start was removed")
	}
}

func TestRunsListing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	var all []Run
	for i := range 30 {
		r := Run{ID: version(i), Model: []string{"iris", "wine"}[i%2], Status: []Status{StatusSucceeded, StatusFailed, StatusQueued}[i%3]}
		all = append(all, r)
	}
	saveRuns(t, f, all...)
	newestFirst := slices.Clone(all)
	slices.Reverse(newestFirst)
	ids := func(runs []Run) []string {
		out := []string{}
		for _, r := range runs {
			out = append(out, r.ID)
		}
		return out
	}
	filter := func(keep func(Run) bool) []string {
		var out []Run
		for _, r := range newestFirst {
			if keep(r) {
				out = append(out, r)
			}
		}
		return ids(out)
	}
	// A live run shows its in-memory state.
	f.live[version(29)] = Run{ID: version(29), Model: "wine", Status: StatusRunning, Progress: &Progress{Iteration: 7}}
	for _, tc := range []struct {
		name string
		q    RunQuery
		want []string
	}{
		{"all models", RunQuery{}, ids(newestFirst)},
		{"one model", RunQuery{Model: "iris"}, filter(func(r Run) bool { return r.Model == "iris" })},
		{"by status", RunQuery{Status: StatusFailed}, filter(func(r Run) bool { return r.Status == StatusFailed })},
		{"live status wins", RunQuery{Status: StatusRunning}, []string{version(29)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := []string{}
			q := tc.q
			q.Limit = 7
			for pages := 0; ; pages++ {
				page, err := f.reg.Runs(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, ids(page.Runs)...)
				if page.NextPageToken == "" {
					break
				}
				if pages > 10 {
					t.Fatal("paging does not end")
				}
				q.PageToken = page.NextPageToken
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v\nwant %v", got, tc.want)
			}
		})
	}
	t.Run("finished runs come from memory once read", func(t *testing.T) {
		fresh := New(Config{Storage: f.store, Logger: f.reg.log})
		if _, err := fresh.Runs(ctx, RunQuery{Limit: 100}); err != nil {
			t.Fatal(err)
		}
		var gets atomic.Int32
		f.mem.SetHook(func(op, key string) error {
			if op == "get" && strings.HasPrefix(key, "runs/") {
				gets.Add(1)
			}
			return nil
		})
		defer f.mem.SetHook(nil)
		page, err := fresh.Runs(ctx, RunQuery{Limit: 100})
		if err != nil || len(page.Runs) != 30 {
			t.Fatalf("%d runs, %v", len(page.Runs), err)
		}
		// The queued ones may still change: only they are read again.
		if n := gets.Load(); n != 10 {
			t.Errorf("%d records read again, want the 10 unfinished", n)
		}
	})
	run, err := f.reg.Run(ctx, version(29))
	if err != nil || run.Progress == nil || run.Progress.Iteration != 7 {
		t.Errorf("live run: %+v, %v", run, err)
	}
	if _, err := f.reg.Run(ctx, version(99)); !errors.Is(err, modelstore.ErrNotFound) {
		t.Errorf("missing run: %v", err)
	}
}

func TestViews(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	if _, err := f.reg.Model(ctx, "iris"); !errors.Is(err, modelstore.ErrNotFound) {
		t.Errorf("unknown model: %v", err)
	}
	_, r1 := f.publish(t, version(1), 0.9)
	_, r2 := f.publish(t, version(2), 0.9)
	if err := f.reg.MoveAlias(ctx, AliasProduction, r1); err != nil {
		t.Fatal(err)
	}
	if err := f.reg.MoveAlias(ctx, AliasLatest, r1); err != nil {
		t.Fatal(err)
	}
	view, err := f.reg.Model(ctx, "iris")
	if err != nil || !slices.Equal(view.Versions, []string{r2.Version, r1.Version}) || view.Aliases[AliasProduction].Version != r1.Version {
		t.Errorf("model view %+v, %v", view, err)
	}
	v, err := f.reg.Version(ctx, "iris", r1.Version)
	if err != nil || v.SHA256 != r1.SHA256 || !slices.Equal(v.Aliases, []string{AliasLatest, AliasProduction}) || v.Record.RunID != r1.Version {
		t.Errorf("version view %+v, %v", v, err)
	}
	models, err := f.reg.Models(ctx)
	if err != nil || len(models) != 1 || models[0].Name != "iris" || len(models[0].Aliases) != 2 {
		t.Errorf("models %+v, %v", models, err)
	}
	b, _ := json.Marshal(v)
	if !strings.Contains(string(b), `"record":{"run_id"`) {
		t.Errorf("version view JSON %s", b)
	}
}

// runsUnlisted is a store whose runs cannot be listed (a transient error
// at start).
type runsUnlisted struct{ *modelstore.Store }

func (runsUnlisted) ListRuns(context.Context, string) ([]modelstore.RunKey, error) {
	return nil, fmt.Errorf("list runs/: %w", modelstore.ErrUnavailable)
}

// TestRecoverRemovesWhatAKilledPublishLeft builds what kill -9 in the
// middle of a publish leaves: the run's record running at the publishing
// stage, its version's run.json written, its model.pb not.
func TestRecoverRemovesWhatAKilledPublishLeft(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		// id is the dead run's, which is also its version.
		id         string
		runsListed bool
	}{
		{"a run of before the start", version(7), true},
		{"a run of a dead trainer whose clock ran ahead", "20261126T120500Z-0000000d", true},
		{"runs cannot be listed at start", version(8), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			run := Run{ID: tc.id, Model: "iris", Status: StatusRunning, Progress: &Progress{Stage: StagePublishing}}
			saveRuns(t, f, run)
			rec, err := json.Marshal(VersionRecord{RunID: tc.id, Model: "iris", Version: tc.id})
			if err != nil {
				t.Fatal(err)
			}
			f.mem.Overwrite("models/iris/versions/"+tc.id+"/run.json", rec)
			f.publish(t, version(4), 0.9) // a complete version stays
			reg := f.reg
			if !tc.runsListed {
				reg = New(Config{Storage: runsUnlisted{f.store}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			}
			err = reg.RecoverInterrupted(ctx, start)
			if tc.runsListed && err != nil {
				t.Fatal(err)
			}
			keys := f.mem.Keys()
			if slices.Contains(keys, "models/iris/versions/"+tc.id+"/run.json") {
				t.Errorf("the orphan run.json is still there: %v", keys)
			}
			if !slices.Contains(keys, "models/iris/versions/"+version(4)+"/model.pb") {
				t.Errorf("a complete version was removed: %v", keys)
			}
			if got, err := f.store.ListVersions(ctx, "iris"); err != nil || !slices.Equal(got, []string{version(4)}) {
				t.Errorf("versions %v, %v", got, err)
			}
		})
	}
}
