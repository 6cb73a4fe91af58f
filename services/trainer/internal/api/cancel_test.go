package api

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/modelferry/modelferry/pkg/errcode"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/services/trainer/internal/jobs"
	"github.com/modelferry/modelferry/services/trainer/internal/pipeline"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

// TestCancelAtEveryBoundaryEndsOneWay cancels a run once, at each stage
// boundary and before each object the run writes (hooks, not timing), and
// holds its end to one of two: cancelled with nothing of its version in
// the bucket and no alias on it, or, once its end was decided, succeeded
// whole (version, latest, production) with the cancel refused as already
// finished. Its record's reasons are true either way.
func TestCancelAtEveryBoundaryEndsOneWay(t *testing.T) {
	stage := func(s registry.Stage) func(string, string, registry.Stage) bool {
		return func(_, _ string, got registry.Stage) bool { return got == s }
	}
	store := func(op, part string) func(string, string, registry.Stage) bool {
		return func(gotOp, key string, _ registry.Stage) bool { return gotOp == op && strings.Contains(key, part) }
	}
	for _, tc := range []struct {
		name string
		at   func(op, key string, s registry.Stage) bool
		// taken: the cancel wins; else it is refused as already finished.
		taken bool
	}{
		{"loading", stage(registry.StageLoading), true},
		{"splitting", stage(registry.StageSplitting), true},
		{"fitting", stage(registry.StageFitting), true},
		{"storing the dataset", store("put", "datasets/"), true},
		{"evaluating", stage(registry.StageEvaluating), true},
		{"publishing", stage(registry.StagePublishing), true},
		{"writing the version's record", store("put", "/run.json"), false},
		{"writing the artifact", store("put", "/model.pb"), false},
		{"reading the artifact back", store("get", "/model.pb"), false},
		{"moving latest", store("put", "/aliases/latest.json"), false},
		{"moving production", store("put", "/aliases/production.json"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var (
				mu        sync.Mutex
				queue     *jobs.Queue
				id        string
				fired     bool
				cancelErr error
			)
			// cancel asks once, from inside the run, without waiting for
			// its end (an expired context).
			cancel := func(op, key string, s registry.Stage) {
				mu.Lock()
				defer mu.Unlock()
				if fired || id == "" || !tc.at(op, key, s) {
					return
				}
				fired = true
				ctx, stop := context.WithCancel(context.Background())
				stop()
				_, cancelErr = queue.Cancel(ctx, id)
			}
			e := newEnv(t, func(_ *Config, q *jobs.Config) {
				work := q.Work
				q.Work = func(ctx context.Context, run registry.Run, src pipeline.Source, update func(func(*registry.Run)), commit func() error) error {
					mu.Lock()
					id = run.ID
					mu.Unlock()
					hooked := func(f func(*registry.Run)) {
						var probe registry.Run
						f(&probe)
						if probe.Progress != nil {
							cancel("", "", probe.Progress.Stage)
						}
						update(f)
					}
					return work(ctx, run, src, hooked, commit)
				}
			})
			queue = e.queue
			e.mem.SetHook(func(op, key string) error {
				cancel(op, key, "")
				return nil
			})
			resp := e.do("POST", "/train?model=iris&wait=true", "", nil)
			run := resp.run(t)
			e.mem.SetHook(nil)
			mu.Lock()
			reached, cancelErr := fired, cancelErr
			mu.Unlock()
			if !reached {
				t.Fatalf("the boundary was never reached: %s %+v", run.Status, run.Error)
			}
			keys := e.mem.Keys()
			versionKeys := 0
			for _, k := range keys {
				if strings.Contains(k, "/versions/"+run.ID+"/") {
					versionKeys++
				}
			}
			aliases, err := e.store.ListAliases(context.Background(), "iris")
			if err != nil {
				t.Fatal(err)
			}
			if tc.taken {
				if cancelErr != nil && !errors.Is(cancelErr, context.Canceled) {
					t.Errorf("cancel answered %v", cancelErr)
				}
				if run.Status != registry.StatusCancelled || run.Error == nil || run.Error.Code != errcode.Cancelled {
					t.Errorf("run ended %s %+v, want cancelled", run.Status, run.Error)
				}
				if versionKeys != 0 || len(aliases) != 0 || run.Version != "" {
					t.Errorf("a cancelled run left %d objects of its version, aliases %v, version %q: %v", versionKeys, aliases, run.Version, keys)
				}
				return
			}
			if !errors.Is(cancelErr, jobs.ErrCommitted) {
				t.Errorf("cancel answered %v, want already finished", cancelErr)
			}
			if run.Status != registry.StatusSucceeded || run.Version != run.ID || !run.Promoted || run.PromotionReason != "" {
				t.Errorf("run ended %s, version %q, promoted %v (%q), want succeeded whole", run.Status, run.Version, run.Promoted, run.PromotionReason)
			}
			if aliases["latest"].Version != run.ID || aliases["production"].Version != run.ID {
				t.Errorf("aliases %v, want latest and production on %s", aliases, run.ID)
			}
		})
	}
}

// TestCancelOfAPublishingRunAnswersConflict: the API's answer to a cancel
// refused because the run is publishing.
func TestCancelOfAPublishingRunAnswersConflict(t *testing.T) {
	var e *env
	var answer response
	var once sync.Once
	e = newEnv(t)
	e.mem.SetHook(func(op, key string) error {
		if op == "put" && strings.HasSuffix(key, "/model.pb") {
			once.Do(func() {
				id := strings.Split(strings.TrimPrefix(key, "models/iris/versions/"), "/")[0]
				answer = e.do("POST", "/runs/"+id+"/cancel", "", nil)
			})
		}
		return nil
	})
	if run := e.do("POST", "/train?model=iris&wait=true", "", nil).run(t); run.Status != registry.StatusSucceeded {
		t.Fatalf("run %s", run.Status)
	}
	if answer.code != 409 || !strings.Contains(answer.apiError(t).Message, "already finished") {
		t.Errorf("%d %s", answer.code, answer.body)
	}
}

// TestFailedPublishLeavesNothing: a publish that fails after writing
// (the artifact cannot be read back) removes what it wrote: the version
// never becomes visible under a failed run.
func TestFailedPublishLeavesNothing(t *testing.T) {
	e := newEnv(t)
	e.mem.SetHook(func(op, key string) error {
		if op == "get" && strings.HasSuffix(key, "/model.pb") {
			return modelstore.ErrUnavailable
		}
		return nil
	})
	run := e.do("POST", "/train?model=iris&wait=true", "", nil).run(t)
	e.mem.SetHook(nil)
	if run.Status != registry.StatusFailed || run.Error == nil || run.Error.Code != errcode.Unavailable {
		t.Errorf("run ended %s %+v", run.Status, run.Error)
	}
	for _, k := range e.mem.Keys() {
		if strings.Contains(k, "/versions/"+run.ID+"/") {
			t.Errorf("%s is left", k)
		}
	}
}
