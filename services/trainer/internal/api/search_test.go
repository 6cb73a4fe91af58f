package api

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestTrainSearchBadInput(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, target, body, msg string
	}{
		{"empty grid", "/train", `{"params":{"search":{"c":[]}}}`, "search: invalid search: the C grid is empty"},
		{"non-positive C", "/train", `{"params":{"search":{"c":[1,0]}}}`, "every C must be a finite number > 0, got 0"},
		{"too many points", "/train", `{"params":{"search":{"c":{"logspace":[-4,4,101]}}}}`, "n a whole number from 1 to 100"},
		{"one fold", "/train", `{"params":{"search":{"c":[1],"folds":1}}}`, "folds must be at least 2, got 1"},
		{"unknown scoring", "/train", `{"params":{"search":{"c":[1],"scoring":"auc"}}}`, `unknown scoring "auc": use neg_log_loss, accuracy or f1_macro`},
		{"grid not a list", "/train", `{"params":{"search":{"c":"1"}}}`, `c must be a list of numbers or {"logspace": [start, stop, n]}`},
		{"more folds than a class", "/train?wait=true", `{"params":{"search":{"c":[1],"folds":41}}}`, "folds must not exceed the smallest class's count in the training rows (40), got 41"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.do("POST", tc.target, "application/json", strings.NewReader(tc.body))
			if resp.code != 400 {
				t.Fatalf("status %d, want 400: %s", resp.code, resp.body)
			}
			if got := resp.apiError(t); got.Code != "invalid_argument" || !strings.Contains(got.Message, tc.msg) {
				t.Errorf("error %+v, want one containing %q", got, tc.msg)
			}
		})
	}
}

func TestTrainSearchFromTheQuery(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, target, msg string
	}{
		{"folds without a grid", "/train?folds=3", "folds and scoring belong to a search: give search_c too"},
		{"bad range", "/train?search_c=1e-4:1e4", `search_c "1e-4:1e4": a range takes three parts`},
		{"folds not a number", "/train?search_c=1,2&folds=x", `folds: "x" is not an integer`},
		{"unknown scoring", "/train?search_c=1,2&scoring=auc", `unknown scoring "auc"`},
		{"too many points", "/train?search_c=1e-4:1e4:101", "n a whole number from 1 to 100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.do("POST", tc.target, "text/csv", strings.NewReader(string(iris(t))))
			if resp.code != 400 {
				t.Fatalf("status %d, want 400: %s", resp.code, resp.body)
			}
			if got := resp.apiError(t); got.Code != "invalid_argument" || !strings.Contains(got.Message, tc.msg) {
				t.Errorf("error %+v, want one containing %q", got, tc.msg)
			}
		})
	}
	resp := e.do("POST", "/train?wait=true&search_c=1e-2:1e2:5&folds=4&scoring=f1_macro", "text/csv", strings.NewReader(string(iris(t))))
	if resp.code != 200 {
		t.Fatalf("status %d: %s", resp.code, resp.body)
	}
	var run struct {
		Kind   string `json:"kind"`
		Params struct {
			Search struct {
				C     any `json:"c"`
				Folds int `json:"folds"`
			} `json:"search"`
		} `json:"params"`
		Search struct {
			Scoring   string `json:"scoring"`
			Folds     int    `json:"folds"`
			BestIndex int    `json:"best_index"`
			Results   []struct {
				C          float64   `json:"c"`
				FoldScores []float64 `json:"fold_scores"`
			} `json:"results"`
		} `json:"search"`
		Version string `json:"version"`
	}
	if err := json.Unmarshal([]byte(resp.body), &run); err != nil {
		t.Fatal(err)
	}
	if run.Kind != "search" || run.Search.Scoring != "f1_macro" || run.Search.Folds != 4 || len(run.Search.Results) != 5 ||
		len(run.Search.Results[0].FoldScores) != 4 || run.Version == "" || run.Params.Search.Folds != 4 {
		t.Fatalf("run %s", resp.body)
	}
}
