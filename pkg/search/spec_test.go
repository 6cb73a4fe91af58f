package search

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestSpecConfig(t *testing.T) {
	classes := []string{"setosa", "versicolor", "virginica"}
	cases := []struct {
		name    string
		body    string
		c       []float64
		weights []ClassWeight
		folds   int
		scoring Scoring
		err     string
	}{
		{name: "list", body: `{"c": [0.01, 0.1, 1, 10]}`, c: []float64{0.01, 0.1, 1, 10}, folds: 5, scoring: NegLogLoss},
		{name: "logspace", body: `{"c": {"logspace": [-2, 2, 5]}, "folds": 3, "scoring": "accuracy"}`, c: []float64{0.01, 0.1, 1, 10, 100}, folds: 3, scoring: Accuracy},
		{name: "class weights", body: `{"c": [1], "class_weight": [null, "balanced", {"virginica": 2}], "scoring": "f1_macro"}`, c: []float64{1},
			weights: []ClassWeight{{}, {Balanced: true}, {ByClass: []float64{1, 1, 2}}}, folds: 5, scoring: F1Macro},
		{name: "c not a list", body: `{"c": "1"}`, err: `c must be a list of numbers or {"logspace": [start, stop, n]}`},
		{name: "unknown grid key", body: `{"c": {"linspace": [1, 2, 3]}}`, err: `c must be a list of numbers`},
		{name: "extra grid key", body: `{"c": {"logspace": [-2, 2, 5], "base": 2}}`, err: `c must be a list of numbers`},
		{name: "empty grid", body: `{"c": []}`, err: "the C grid is empty"},
		{name: "negative C", body: `{"c": [1, -1]}`, err: "every C must be a finite number > 0, got -1"},
		{name: "fractional n", body: `{"c": {"logspace": [-2, 2, 2.5]}}`, err: "n a whole number from 1 to 100"},
		{name: "too many points", body: `{"c": {"logspace": [-2, 2, 101]}}`, err: "n a whole number from 1 to 100"},
		{name: "one fold", body: `{"c": [1], "folds": 1}`, err: "folds must be at least 2, got 1"},
		{name: "unknown scoring", body: `{"c": [1], "scoring": "auc"}`, err: `unknown scoring "auc"`},
		{name: "bad class weight", body: `{"c": [1], "class_weight": ["heavy"]}`, err: `a class_weight candidate is null, "balanced" or`},
		{name: "unknown class", body: `{"c": [1], "class_weight": [{"rose": 2}]}`, err: `names class "rose"`},
		{name: "negative class weight", body: `{"c": [1], "class_weight": [{"setosa": -2}]}`, err: "class weight of class 0 must be a finite number >= 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var s Spec
			err := json.Unmarshal([]byte(tc.body), &s)
			var cfg Config
			if err == nil {
				cfg, err = s.Config(classes)
			}
			if tc.err != "" {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want ErrInvalid with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range tc.c {
				if d := cfg.C[i] - c; d > 1e-12*c || d < -1e-12*c {
					t.Fatalf("C = %v, want %v", cfg.C, tc.c)
				}
			}
			if len(cfg.C) != len(tc.c) || cfg.Folds != tc.folds || cfg.Scoring != tc.scoring || !reflect.DeepEqual(cfg.ClassWeights, tc.weights) {
				t.Fatalf("config %+v", cfg)
			}
		})
	}
}

func TestParseGrid(t *testing.T) {
	cases := []struct {
		in   string
		want []float64
		err  string
	}{
		{in: "1e-4:1e4:10", want: []float64{1e-4, 7.742636826811277e-4, 5.994842503189409e-3, 4.641588833612782e-2, 0.3593813663804626, 2.782559402207126, 21.54434690031882, 166.81005372000593, 1291.5496650148827, 1e4}},
		{in: "0.1, 1,10", want: []float64{0.1, 1, 10}},
		{in: "1:10", err: "a range takes three parts"},
		{in: "0:10:3", err: "the bounds must be > 0"},
		{in: "a,b", err: `"a" is not a number`},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			g, err := ParseGrid(tc.in)
			var cs []float64
			if err == nil {
				cs, err = g.C()
			}
			if tc.err != "" {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || len(cs) != len(tc.want) {
				t.Fatalf("%v, %v", cs, err)
			}
			for i, w := range tc.want {
				if d := cs[i] - w; d > 1e-13*w || d < -1e-13*w {
					t.Fatalf("c[%d] = %v, want %v", i, cs[i], w)
				}
			}
		})
	}
}

func TestRecordWireForm(t *testing.T) {
	var s Spec
	if err := json.Unmarshal([]byte(`{"c": [0.1, 1], "class_weight": [null, "balanced"], "folds": 3}`), &s); err != nil {
		t.Fatal(err)
	}
	cfg, err := s.Config([]string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := Run(context.Background(), loadData(t, "iris"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(NewRecord(s, out))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Scoring   string `json:"scoring"`
		Folds     int    `json:"folds"`
		BestIndex *int   `json:"best_index"`
		Results   []struct {
			C           float64   `json:"c"`
			ClassWeight any       `json:"class_weight"`
			FoldScores  []float64 `json:"fold_scores"`
			MeanScore   *float64  `json:"mean_score"`
			StdScore    *float64  `json:"std_score"`
			FitSeconds  *float64  `json:"fit_seconds"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Scoring != "neg_log_loss" || got.Folds != 3 || got.BestIndex == nil || len(got.Results) != 4 {
		t.Fatalf("record %s", b)
	}
	weights := []any{nil, "balanced", nil, "balanced"}
	for i, r := range got.Results {
		if r.C != cfg.C[i/2] || r.ClassWeight != weights[i] || len(r.FoldScores) != 3 || r.MeanScore == nil || r.StdScore == nil || r.FitSeconds == nil {
			t.Fatalf("result %d: %+v in %s", i, r, b)
		}
	}
	// The spec travels in the form it was given.
	sb, _ := json.Marshal(s)
	if string(sb) != `{"c":[0.1,1],"class_weight":[null,"balanced"],"folds":3}` {
		t.Fatalf("spec %s", sb)
	}
}
