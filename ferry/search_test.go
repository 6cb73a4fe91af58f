package main

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestTrainSearchShowsFitsThenTheTable(t *testing.T) {
	final := fakeRun(runA, 0.1, 0.97, true)
	final["kind"] = "search"
	final["search"] = map[string]any{"scoring": "accuracy", "folds": 3, "best_index": 1, "results": []any{
		map[string]any{"c": 0.01, "class_weight": nil, "fold_scores": []float64{0.8, 0.85, 0.9}, "mean_score": 0.85, "std_score": 0.0408, "fit_seconds": 0.001},
		map[string]any{"c": 1, "class_weight": "balanced", "fold_scores": []float64{0.96, 0.94, 0.98}, "mean_score": 0.96, "std_score": 0.0163, "fit_seconds": 0.002},
	}}
	ft := &fakeTrainer{final: final, events: []map[string]any{
		{"status": "running", "stage": "searching", "fits_done": 1, "fits_total": 6},
		{"status": "running", "stage": "fitting", "iteration": 5, "loss": 10.5},
	}}
	tr := httptest.NewServer(ft)
	defer tr.Close()
	out, errOut, code := ferry(t, tr.URL, "", "", "train", "--wait", "--search-c", "1e-2:1:2", "--folds", "3", "--scoring", "accuracy")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// Without a file the parameters go as JSON: the search as params.search.
	if body := string(ft.bodies[0]); !strings.Contains(body, `"search":{"c":{"logspace":[-2,0,2]},"folds":3,"scoring":"accuracy"}`) {
		t.Errorf("sent %s", body)
	}
	if !strings.Contains(errOut, "searching fits 1/6") {
		t.Errorf("progress lacks the fits:\n%s", errOut)
	}
	for _, want := range []string{
		"search    3-fold, accuracy",
		"C     CLASS_WEIGHT  MEAN    STD     FOLDS                 FIT_S",
		"   0.01  none          0.8500  0.0408  0.8000 0.8500 0.9000  0.001",
		"*  1     balanced      0.9600  0.0163  0.9600 0.9400 0.9800  0.002",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
