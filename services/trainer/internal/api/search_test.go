package api

import (
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
