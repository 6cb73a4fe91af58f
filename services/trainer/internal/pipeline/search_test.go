package pipeline

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelferry/modelferry/devstack/testkit/repo"
	"github.com/modelferry/modelferry/pkg/errcode"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/pkg/search"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

func searchParams(t *testing.T, spec string) registry.Params {
	t.Helper()
	p := registry.DefaultParams()
	p.Search = new(search.Spec)
	if err := json.Unmarshal([]byte(spec), p.Search); err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSearchRunRefitsTheBestAndPublishesItsResults(t *testing.T) {
	f := newFixture()
	ctx := context.Background()
	p := searchParams(t, `{"c": [0.001, 1, 100], "class_weight": [null, "balanced"], "folds": 4, "scoring": "accuracy"}`)
	run := registry.Run{ID: modelstore.NewVersion(time.Now()), Model: "iris", Kind: p.Kind(), Status: registry.StatusRunning, Params: p}
	var mu sync.Mutex
	var progress []registry.Progress
	err := Run(ctx, Input{
		Run: run, Source: Source{Path: repo.Iris(t)}, Datasets: f.store, Registry: f.reg,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), TrainerVersion: "test", Now: time.Now,
		Update: func(change func(*registry.Run)) {
			mu.Lock()
			defer mu.Unlock()
			change(&run)
			if run.Progress != nil && run.Progress.Stage == registry.StageSearching {
				progress = append(progress, *run.Progress)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if run.Kind != registry.KindSearch || run.Search == nil || len(run.Search.Results) != 6 || run.Search.Folds != 4 || run.Search.Scoring != "accuracy" {
		t.Fatalf("run %+v, search %+v", run, run.Search)
	}
	best := run.Search.Results[run.Search.BestIndex]
	for _, r := range run.Search.Results {
		if len(r.FoldScores) != 4 || r.MeanScore > best.MeanScore {
			t.Fatalf("result %+v beats the best %+v", r, best)
		}
	}
	if run.Params.C != best.C || run.Params.Search == nil {
		t.Fatalf("the run's params %+v do not say the chosen C %v", run.Params, best.C)
	}
	if best.C == 0.001 {
		t.Fatalf("the most regularized C won: %+v", run.Search)
	}
	last := progress[len(progress)-1]
	if last.FitsDone != 24 || last.FitsTotal != 24 || last.BestC == nil || *last.BestC != best.C || *last.BestScore != best.MeanScore {
		t.Fatalf("last progress %+v", last)
	}
	// The refit is the best C on every training row, evaluated on the test
	// split and published with the search's results.
	if run.Version != run.ID || run.MetricsOn != "test" || run.Metrics.Accuracy < 0.9 {
		t.Fatalf("run %+v", run)
	}
	v, err := f.reg.Version(ctx, "iris", run.Version)
	if err != nil {
		t.Fatal(err)
	}
	if v.Record.Params.C != best.C || v.Record.Search == nil || v.Record.Search.BestIndex != run.Search.BestIndex {
		t.Fatalf("version record params %+v, search %+v", v.Record.Params, v.Record.Search)
	}
	m, _, err := f.reg.ReadModel(ctx, "iris", run.Version)
	if err != nil || m.GetParams().GetC() != best.C {
		t.Fatalf("artifact C %v, want %v (%v)", m.GetParams().GetC(), best.C, err)
	}
}

func TestSearchWithMoreFoldsThanAClassFails(t *testing.T) {
	f := newFixture()
	// 40 training rows per class after the split.
	run, err := f.train(t, searchParams(t, `{"c": [1], "folds": 41}`), Source{Path: repo.Iris(t)})
	if err == nil {
		t.Fatalf("run %+v", run)
	}
	re := RunError(err)
	if re.Code != errcode.InvalidArgument || !strings.Contains(re.Message, "folds must not exceed the smallest class's count in the training rows (40), got 41") {
		t.Fatalf("run error %+v", re)
	}
	if _, err := f.reg.Version(context.Background(), "iris", run.ID); err == nil {
		t.Fatal("a failed search published a version")
	}
}

// TestSearchOnATable: a search takes the column transform's data (codes
// of categorical columns, missing values imputed) like any run.
func TestSearchOnATable(t *testing.T) {
	f := newFixture()
	p := searchParams(t, `{"c": [0.01, 1], "class_weight": [null, "balanced"], "folds": 3}`)
	p.Drop = []string{"id"}
	run, err := f.train(t, p, Source{Path: repo.Path(t, "pkg/tabular/testdata") + "/binary_basic_train.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if run.Schema == nil || run.Search == nil || len(run.Search.Results) != 4 || run.Version == "" {
		t.Fatalf("run %+v", run)
	}
	for _, r := range run.Search.Results {
		for _, s := range r.FoldScores {
			if !(s < 0) {
				t.Fatalf("neg_log_loss fold score %v", s)
			}
		}
	}
	if r := run.Search.Results; r[0].MeanScore == r[1].MeanScore {
		t.Errorf("balanced weights changed nothing on an unbalanced table: %+v", r[:2])
	}
}
