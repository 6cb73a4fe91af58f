package console

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/modelferry/modelferry/pkg/artifact"
	"github.com/modelferry/modelferry/pkg/artifact/artifactpb"
	"github.com/modelferry/modelferry/pkg/errcode"
	"github.com/modelferry/modelferry/pkg/evaluation"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

// bigStore fills e's registry with runs runs of two models, the newest
// versions of which published versions (and are iris's versions), with
// histories of up to registry.MaxHistory points: the load the console's
// render times and weights are measured at.
func (e *env) bigStore(t testing.TB, runs, versions int) []registry.Run {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 11))
	classes := []string{"setosa", "versicolor", "virginica"}
	features := []string{"sepal_length", "sepal_width", "petal_length", "petal_width"}
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var out []registry.Run
	var sums []string
	for i := range runs {
		created := start.Add(time.Duration(i) * time.Minute)
		id := created.Format("20060102T150405Z") + fmt.Sprintf("-%08x", i)
		model := "iris"
		if i%4 == 3 {
			model = "wine"
		}
		finished := created.Add(2 * time.Second)
		r := registry.Run{ID: id, Model: model, Status: registry.StatusSucceeded, Params: registry.DefaultParams(),
			Label: "species", CreatedAt: created, StartedAt: &created, FinishedAt: &finished, DurationSeconds: 2,
			Dataset: registry.DatasetInfo{URI: "s3://modelferry/datasets/x.csv", SHA256: fmt.Sprintf("%064x", i%7), Rows: 150,
				Features: features, Classes: classes, TrainRows: 120, TestRows: 30},
			Timings:   registry.Timings{LoadSeconds: 0.2, FitSeconds: 1.5, EvaluateSeconds: 0.1, PublishSeconds: 0.2},
			MetricsOn: "test", TrainerVersion: "bench",
		}
		r.Params.C = math.Pow(10, float64(i%5-2))
		if i%10 == 9 {
			r.Status = registry.StatusFailed
			r.Error = &registry.RunError{Code: errcode.InvalidArgument, Message: "line 7: expected 5 fields, got 4"}
		} else {
			acc := 0.8 + 0.2*rng.Float64()
			rep := &evaluation.Report{Rows: 30, Accuracy: acc, LogLoss: 1 - acc, MacroF1: acc - 0.01,
				ConfusionMatrix: [][]int{{10, 0, 0}, {0, 8, 2}, {0, 1, 9}}}
			for _, c := range classes {
				rep.PerClass = append(rep.PerClass, evaluation.ClassReport{Class: c, Precision: acc, Recall: acc, F1: acc, Support: 10})
			}
			r.Metrics = rep
			n := 20 + i%80
			if i%50 == 0 {
				n = registry.MaxHistory
			}
			var h registry.History
			for it := 1; it <= n; it++ {
				h.Add(registry.HistoryPoint{Iteration: it, Loss: 30 + 100/float64(it), GradNorm: math.Pow(10, -8*float64(it)/float64(n))})
			}
			r.History = h.Points()
			obj := r.History[len(r.History)-1].Loss
			r.Objective, r.Iterations, r.Converged = &obj, n, true
		}
		// The newest successful iris runs published the versions.
		if model == "iris" && r.Status == registry.StatusSucceeded && i >= runs-versions*2 {
			r.Version = id
		}
		out = append(out, r)
	}
	// The datasets the runs name exist.
	for k := range 7 {
		data := []byte(fmt.Sprintf("a,b,label\n%d,2,x\n3,4,y\n", k))
		sum := modelstore.SHA256(data)
		if _, err := e.store.PutDataset(ctx, sum, bytes.NewReader(data), int64(len(data))); err != nil {
			t.Fatal(err)
		}
		sums = append(sums, sum)
	}
	for i := range out {
		out[i].Dataset.SHA256 = sums[i%len(sums)]
	}
	published := 0
	for i := len(out) - 1; i >= 0 && published < versions; i-- {
		r := &out[i]
		if r.Version == "" {
			continue
		}
		m := &artifactpb.Model{FormatVersion: artifact.FormatVersion, Name: r.Model, Version: r.ID, RunId: r.ID,
			FeatureNames: features, ClassNames: classes,
			Linear: &artifactpb.LinearModel{Rows: 3, Cols: 4, Coefficients: []float64{-1, 1.1, -1.8, -1.7, 0.5, -0.3, -0.3, -0.7, 0.5, -0.8, 2.1, 2.4},
				Intercepts: []float64{-0.2, 2, -1.8}},
			Scaler:  &artifactpb.Scaler{Mean: []float64{5.8, 3, 3.8, 1.2}, Scale: []float64{0.8, 0.4, 1.8, 0.8}},
			Metrics: &artifactpb.Metrics{MetricsOn: "test", Accuracy: r.Metrics.Accuracy, Rows: 30}}
		if _, _, err := e.reg.Publish(ctx, m, registry.VersionRecord{RunID: r.ID, Model: r.Model, Version: r.ID, Params: r.Params,
			Label: r.Label, Dataset: r.Dataset, Metrics: r.Metrics, MetricsOn: "test", Objective: *r.Objective,
			Iterations: r.Iterations, Converged: true, Timings: r.Timings, CreatedAt: *r.FinishedAt}); err != nil {
			t.Fatal(err)
		}
		published++
		if published == 1 {
			r.Promoted = true
		}
	}
	if published != versions {
		t.Fatalf("published %d versions, want %d", published, versions)
	}
	for _, r := range out {
		if err := e.reg.SaveRun(ctx, r, registry.SaveOptions{First: true}); err != nil {
			t.Fatal(err)
		}
	}
	for _, alias := range []string{registry.AliasLatest, registry.AliasProduction} {
		for i := len(out) - 1; i >= 0; i-- {
			if out[i].Version != "" {
				if _, err := e.reg.SetAlias(ctx, "iris", alias, out[i].Version); err != nil {
					t.Fatal(err)
				}
				break
			}
		}
	}
	return out
}
