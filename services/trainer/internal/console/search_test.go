package console

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/modelferry/modelferry/pkg/search"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

func TestSearchRunPage(t *testing.T) {
	e := newEnv(t)
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	rec := &search.Record{Scoring: "accuracy", Folds: 3, BestIndex: 3, Results: []search.RecordResult{
		{C: 0.01, FoldScores: []float64{0.7, 0.8, 0.75}, MeanScore: 0.75, StdScore: 0.04},
		{C: 0.01, ClassWeight: search.ClassWeightSpec{Balanced: true}, FoldScores: []float64{0.72, 0.8, 0.76}, MeanScore: 0.76, StdScore: 0.03},
		{C: 1, FoldScores: []float64{0.9, 0.95, 0.93}, MeanScore: 0.9267, StdScore: 0.02},
		{C: 1, ClassWeight: search.ClassWeightSpec{Balanced: true}, FoldScores: []float64{0.96, 0.94, 0.98}, MeanScore: 0.96, StdScore: 0.0163},
	}}
	run := registry.Run{ID: "20261207T100000Z-0000abcd", Model: "iris", Kind: registry.KindSearch, Status: registry.StatusSucceeded,
		Params: registry.DefaultParams(), Version: "20261207T100000Z-0000abcd", Search: rec, CreatedAt: now, FinishedAt: &now}
	run.Params.Search = &search.Spec{C: search.Grid{Values: []float64{0.01, 1}}, ClassWeight: []search.ClassWeightSpec{{}, {Balanced: true}}, Folds: 3, Scoring: "accuracy"}
	if err := e.reg.SaveRun(context.Background(), run, registry.SaveOptions{First: true}); err != nil {
		t.Fatal(err)
	}
	code, body := e.get("/ui/runs/" + run.ID)
	if code != 200 {
		t.Fatal(code)
	}
	contains(t, "search run", body, `<section id="search">`, "4 grid points × 3 folds, accuracy",
		`the best refit as <a href="/ui/models/iris/versions/20261207T100000Z-0000abcd"`,
		"Validation curve: accuracy, 3-fold", "<polygon", `class="best"><title>best: C 1, mean 0.96</title>`,
		`<tr class="best"><td>★ best</td><td>1</td><td>balanced</td><td>0.96</td>`, "<td>0.96 0.94 0.98</td>",
		`<tr><th>search</th><td class="mono">{&#34;c&#34;:[0.01,1],&#34;class_weight&#34;:[null,&#34;balanced&#34;],&#34;folds&#34;:3,&#34;scoring&#34;:&#34;accuracy&#34;}</td></tr>`)
	// Two class-weight candidates: two bands, two mean lines, 12 fold points.
	if n := strings.Count(body, "<polygon"); n != 2 {
		t.Errorf("%d bands, want 2", n)
	}
	if n := strings.Count(body, "fold 2:"); n != 4 {
		t.Errorf("%d third-fold points, want 4", n)
	}
	if n := strings.Count(body, `<tr class="best">`); n != 1 {
		t.Errorf("%d best rows", n)
	}
	_, body = e.get("/ui/runs")
	contains(t, "runs list", body, `<a href="/ui/runs/`+run.ID+`" class="mono">`+run.ID+`</a> <span class="tag" title="4 grid points">search</span>`)
	// A search still running has no results yet.
	live := registry.Run{ID: "20261207T110000Z-0000abce", Model: "iris", Kind: registry.KindSearch, Status: registry.StatusRunning,
		Params: registry.DefaultParams(), Progress: &registry.Progress{Stage: registry.StageSearching, FitsDone: 3, FitsTotal: 20}, CreatedAt: now}
	if err := e.reg.SaveRun(context.Background(), live, registry.SaveOptions{First: true}); err != nil {
		t.Fatal(err)
	}
	if code, body := e.get("/ui/runs"); code != 200 || !strings.Contains(body, live.ID+`</a> <span class="tag">search</span>`) {
		t.Errorf("runs list with a live search: %d", code)
	}
}
