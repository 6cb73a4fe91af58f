package pipeline

import (
	"context"
	"io"
	"log/slog"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/modelferry/modelferry/devstack/testkit/repo"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

// TestProgressGoesThroughTheStages watches every change the pipeline
// makes to the live record: the stages in order, the load's bytes up to
// the file's size, and one history point per iteration.
func TestProgressGoesThroughTheStages(t *testing.T) {
	f := newFixture()
	run := registry.Run{ID: modelstore.NewVersion(time.Now()), Model: "iris", Status: registry.StatusRunning, Params: registry.DefaultParams()}
	var stages []registry.Stage
	var bytesSeen []int64
	var total int64
	iterations := 0
	err := Run(context.Background(), Input{
		Run: run, Source: Source{Path: repo.Iris(t)}, Datasets: f.store, Registry: f.reg,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), TrainerVersion: "test", Now: time.Now,
		Update: func(change func(*registry.Run)) {
			change(&run)
			p := run.Progress
			if p == nil {
				return
			}
			if len(stages) == 0 || stages[len(stages)-1] != p.Stage {
				stages = append(stages, p.Stage)
			}
			if p.Stage == registry.StageLoading {
				bytesSeen = append(bytesSeen, p.BytesRead)
				total = p.BytesTotal
			}
			if p.Stage == registry.StageFitting && p.Iteration > iterations {
				iterations = p.Iteration
				if p.GradNorm <= 0 || p.Loss <= 0 {
					t.Errorf("iteration %d: loss %v, grad norm %v", p.Iteration, p.Loss, p.GradNorm)
				}
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []registry.Stage{registry.StageLoading, registry.StageSplitting, registry.StageFitting, registry.StageEvaluating, registry.StagePublishing}
	if !slices.Equal(stages, want) {
		t.Errorf("stages %v, want %v", stages, want)
	}
	st, _ := os.Stat(repo.Iris(t))
	if total != st.Size() || len(bytesSeen) < 2 || bytesSeen[len(bytesSeen)-1] != total || !slices.IsSorted(bytesSeen) {
		t.Errorf("load progress %v of %d, want up to %d", bytesSeen, total, st.Size())
	}
	if len(run.History) != run.Iterations || iterations != run.Iterations {
		t.Fatalf("history of %d points, progress to %d, for %d iterations", len(run.History), iterations, run.Iterations)
	}
	last := run.History[len(run.History)-1]
	if last.Iteration != run.Iterations || last.Loss != *run.Objective || last.GradNorm >= run.Params.Tol {
		t.Errorf("last point %+v, objective %v", last, *run.Objective)
	}
	for i := 1; i < len(run.History); i++ {
		if run.History[i].Iteration != i+1 || run.History[i].Loss > run.History[i-1].Loss {
			t.Errorf("point %d: %+v after %+v", i, run.History[i], run.History[i-1])
		}
	}
}
