package evaluation

import (
	"math"
	"slices"
	"testing"
)

// table is a classifier that returns fixed probabilities per row; x holds
// the row index.
type table [][]float64

func (t table) Classes() int  { return len(t[0]) }
func (t table) Features() int { return 1 }
func (t table) PredictProba(x, out []float64) int {
	copy(out, t[int(x[0])])
	best := 0
	for k, v := range out {
		if v > out[best] {
			best = k
		}
	}
	return best
}

func TestEvaluateMatchesScikitLearn(t *testing.T) {
	// Expected values worked out by hand from scikit-learn's definitions for
	// y_true = [0, 0, 1, 1, 2, 2], y_pred = [0, 1, 1, 1, 0, 2].
	probs := table{
		{0.7, 0.2, 0.1},
		{0.3, 0.6, 0.1},
		{0.1, 0.8, 0.1},
		{0.2, 0.5, 0.3},
		{0.5, 0.1, 0.4},
		{0.1, 0.1, 0.8},
	}
	y := []int32{0, 0, 1, 1, 2, 2}
	x := []float64{0, 1, 2, 3, 4, 5}
	r, err := Evaluate(probs, x, y, []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Accuracy != 4.0/6 {
		t.Errorf("accuracy %v, want 4/6", r.Accuracy)
	}
	wantLoss := -(math.Log(0.7) + math.Log(0.3) + math.Log(0.8) + math.Log(0.5) + math.Log(0.4) + math.Log(0.8)) / 6
	if math.Abs(r.LogLoss-wantLoss) > 1e-12 {
		t.Errorf("log loss %v, want %v", r.LogLoss, wantLoss)
	}
	wantCM := [][]int{{1, 1, 0}, {0, 2, 0}, {1, 0, 1}}
	for i := range wantCM {
		if !slices.Equal(r.ConfusionMatrix[i], wantCM[i]) {
			t.Errorf("confusion row %d = %v, want %v", i, r.ConfusionMatrix[i], wantCM[i])
		}
	}
	// precision [0.5, 2/3, 1], recall [0.5, 1, 0.5]
	wantF1 := []float64{0.5, 0.8, 2.0 / 3}
	for k, cr := range r.PerClass {
		if math.Abs(cr.F1-wantF1[k]) > 1e-12 {
			t.Errorf("class %s F1 %v, want %v", cr.Class, cr.F1, wantF1[k])
		}
		if cr.Support != 2 {
			t.Errorf("class %s support %d", cr.Class, cr.Support)
		}
	}
	if want := (0.5 + 0.8 + 2.0/3) / 3; math.Abs(r.MacroF1-want) > 1e-12 {
		t.Errorf("macro F1 %v, want %v", r.MacroF1, want)
	}
}

func TestEvaluateNeverPredictedClassScoresZero(t *testing.T) {
	probs := table{{0.9, 0.1}, {0.8, 0.2}}
	r, err := Evaluate(probs, []float64{0, 1}, []int32{0, 1}, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if b := r.PerClass[1]; b.Precision != 0 || b.Recall != 0 || b.F1 != 0 {
		t.Errorf("class b: %+v, want zeros", b)
	}
}

func TestEvaluateClipsZeroProbability(t *testing.T) {
	probs := table{{1, 0}}
	r, err := Evaluate(probs, []float64{0}, []int32{1}, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if math.IsInf(r.LogLoss, 0) || math.Abs(r.LogLoss+math.Log(logLossEps)) > 1e-9 {
		t.Errorf("log loss %v, want -log(1e-15)", r.LogLoss)
	}
}

func TestEvaluateRejectsMismatches(t *testing.T) {
	probs := table{{0.5, 0.5}}
	for _, tc := range []struct {
		name  string
		x     []float64
		y     []int32
		names []string
	}{
		{"names", []float64{0}, []int32{0}, []string{"a"}},
		{"no rows", nil, nil, []string{"a", "b"}},
		{"short x", []float64{}, []int32{0}, []string{"a", "b"}},
		{"label range", []float64{0}, []int32{7}, []string{"a", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Evaluate(probs, tc.x, tc.y, tc.names); err == nil {
				t.Error("want an error")
			}
		})
	}
}

// Evaluate reads the rows where they are: what it allocates depends on the
// classes, not on the rows.
func TestEvaluateAllocatesPerClassNotPerRow(t *testing.T) {
	probs := table{{0.7, 0.2, 0.1}, {0.3, 0.6, 0.1}, {0.1, 0.1, 0.8}}
	allocs := func(rows int) float64 {
		x := make([]float64, rows)
		y := make([]int32, rows)
		for i := range x {
			x[i] = float64(i % 3)
			y[i] = int32(i % 3)
		}
		return testing.AllocsPerRun(5, func() {
			if _, err := Evaluate(probs, x, y, []string{"a", "b", "c"}); err != nil {
				t.Fatal(err)
			}
		})
	}
	if small, large := allocs(10), allocs(10000); large != small {
		t.Errorf("%v allocations for 10 rows, %v for 10000", small, large)
	}
}
