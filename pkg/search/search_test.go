package search

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/modelferry/modelferry/pkg/logreg"
)

func TestRunRejectsBadInput(t *testing.T) {
	d := loadData(t, "iris") // 50 rows per class
	many := make([]float64, 101)
	for i := range many {
		many[i] = float64(i + 1)
	}
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"empty grid", Config{}, "the C grid is empty"},
		{"zero C", Config{C: []float64{1, 0}}, "every C must be a finite number > 0, got 0"},
		{"negative C", Config{C: []float64{-1}}, "got -1"},
		{"too many points", Config{C: many}, "the grid has 101 points"},
		{"too many with class weights", Config{C: many[:51], ClassWeights: []ClassWeight{{}, {Balanced: true}}}, "the grid has 102 points"},
		{"one fold", Config{C: []float64{1}, Folds: 1}, "folds must be at least 2, got 1"},
		{"more folds than the smallest class", Config{C: []float64{1}, Folds: 51}, "must not exceed the smallest class's count in the training rows (50), got 51"},
		{"unknown scoring", Config{C: []float64{1}, Scoring: "roc_auc"}, `unknown scoring "roc_auc": use neg_log_loss, accuracy or f1_macro`},
		{"class weights of the wrong length", Config{C: []float64{1}, ClassWeights: []ClassWeight{{ByClass: []float64{1, 2}}}}, "2 values for 3 classes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(context.Background(), d, tc.cfg)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrInvalid with %q", err, tc.want)
			}
		})
	}
}

func irisConfig() Config {
	cs, _ := Logspace(-4, 4, 10)
	return Config{C: cs, Folds: 5, Fit: logreg.Options{Standardize: true, Tol: 1e-10}}
}

func TestRunIsTheSameOnAnyCoreBudget(t *testing.T) {
	d := loadData(t, "tenclass")
	cfg := Config{C: []float64{0.1, 1, 10}, Folds: 4, Fit: logreg.Options{Standardize: true},
		ClassWeights: []ClassWeight{{}, {Balanced: true}}}
	var ref *Outcome
	for _, workers := range []int{1, 2, 3, 8} {
		cfg.Workers = workers
		out, err := Run(context.Background(), d, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for i := range out.Results {
			out.Results[i].FitSeconds = 0
		}
		if ref == nil {
			ref = out
			continue
		}
		if !reflect.DeepEqual(out, ref) {
			t.Fatalf("workers %d: results differ from workers 1", workers)
		}
	}
}

func TestWarmStartsSaveIterationsNotAccuracy(t *testing.T) {
	d := loadData(t, "iris")
	warm, err := Run(context.Background(), d, irisConfig())
	if err != nil {
		t.Fatal(err)
	}
	cfg := irisConfig()
	cfg.ColdStart = true
	cold, err := Run(context.Background(), d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	wi, ci := 0, 0
	for i := range warm.Results {
		for f := range warm.Results[i].FoldScores {
			wi += warm.Results[i].Iterations[f]
			ci += cold.Results[i].Iterations[f]
			if diff := warm.Results[i].FoldScores[f] - cold.Results[i].FoldScores[f]; diff > 1e-7 || diff < -1e-7 {
				t.Fatalf("C=%v fold %d: warm %v, cold %v", warm.Results[i].C, f, warm.Results[i].FoldScores[f], cold.Results[i].FoldScores[f])
			}
		}
	}
	if wi >= ci {
		t.Fatalf("warm starts took %d iterations, cold %d", wi, ci)
	}
	t.Logf("iris, 10 C × 5 folds: %d iterations warm, %d cold", wi, ci)
}

func TestRunReportsProgressAndStopsOnCancel(t *testing.T) {
	d := loadData(t, "iris")
	cfg := irisConfig()
	var seen []Progress
	cfg.OnProgress = func(p Progress) { seen = append(seen, p) }
	out, err := Run(context.Background(), d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 50 || seen[49].Done != 50 || seen[49].Total != 50 {
		t.Fatalf("progress: %d reports, last %+v", len(seen), seen[len(seen)-1])
	}
	if seen[0].BestIndex != -1 {
		t.Fatalf("a best before any grid point is complete: %+v", seen[0])
	}
	if last := seen[49]; last.BestIndex != out.BestIndex || last.BestScore != out.Best().MeanScore {
		t.Fatalf("last progress %+v, outcome best %d (%v)", last, out.BestIndex, out.Best().MeanScore)
	}

	ctx, cancel := context.WithCancel(context.Background())
	fits := 0
	cfg.OnProgress = func(p Progress) {
		if fits++; fits == 3 {
			cancel()
		}
	}
	cfg.Workers = 1
	if _, err := Run(ctx, d, cfg); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if fits > 4 {
		t.Fatalf("%d fits after the cancel", fits-3)
	}
}

func TestRunCutsFoldsOnTheIndexedRows(t *testing.T) {
	d := loadData(t, "iris")
	var idx []int
	for i := 0; i < d.Rows; i++ {
		if i%3 != 0 {
			idx = append(idx, i)
		}
	}
	view := d
	view.Index = idx
	got, err := Run(context.Background(), view, Config{C: []float64{0.5, 5}, Folds: 3})
	if err != nil {
		t.Fatal(err)
	}
	copied := logreg.Data{Rows: len(idx), Features: d.Features, Classes: d.Classes}
	for _, r := range idx {
		copied.X = append(copied.X, d.X[r*4:r*4+4]...)
		copied.Y = append(copied.Y, d.Y[r])
	}
	want, err := Run(context.Background(), copied, Config{C: []float64{0.5, 5}, Folds: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i := range want.Results {
		if !reflect.DeepEqual(got.Results[i].FoldScores, want.Results[i].FoldScores) {
			t.Fatalf("C=%v: index view %v, copied rows %v", want.Results[i].C, got.Results[i].FoldScores, want.Results[i].FoldScores)
		}
	}
}

func TestBestTiesGoToTheSmallerC(t *testing.T) {
	rs := []Result{{C: 10, MeanScore: 0.9}, {C: 0.1, MeanScore: 0.9}, {C: 1, MeanScore: 0.8}, {C: 0.1, MeanScore: 0.9}}
	if b := best(rs); b != 1 {
		t.Fatalf("best = %d, want 1 (C=0.1, the first of the smallest)", b)
	}
	rs[2].MeanScore = 0.95
	if b := best(rs); b != 2 {
		t.Fatalf("best = %d, want 2", b)
	}
}

func TestBalancedWeightsAreFoldLocal(t *testing.T) {
	y := []int32{0, 0, 0, 1, 1, 2}
	w := ClassWeight{Balanced: true}.rowWeights(y, 3, []int{0, 1, 3}, nil)
	// 3 rows, 3 classes: class 0 twice -> 3/(3·2), class 1 once -> 1, class 2 absent.
	want := []float64{0.5, 0.5, 0, 1, 0, 0}
	if !reflect.DeepEqual(w, want) {
		t.Fatalf("weights %v, want %v", w, want)
	}
	w = ClassWeight{ByClass: []float64{2, 1, 3}}.rowWeights(y, 3, []int{0, 5}, []float64{1, 1, 1, 1, 1, 0.5})
	if want := []float64{2, 0, 0, 0, 0, 1.5}; !reflect.DeepEqual(w, want) {
		t.Fatalf("weights %v, want %v", w, want)
	}
}
