package logreg

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/modelferry/modelferry/devstack/testkit/repo"
)

type goldenFit struct {
	ScalerMean  []float64   `json:"scaler_mean"`
	ScalerScale []float64   `json:"scaler_scale"`
	Coef        [][]float64 `json:"coef"`
	Intercept   []float64   `json:"intercept"`
	Objective   float64     `json:"objective_sum_form"`
	Accuracy    float64     `json:"train_accuracy"`
	Proba       [][]float64 `json:"predict_proba"`
}

type golden struct {
	Meta struct {
		Y []int `json:"y"`
	} `json:"meta"`
	Scaled   goldenFit `json:"scaled_converged_reference"`
	Unscaled goldenFit `json:"unscaled_converged_reference"`
}

// loadIris reads the repository's data/iris.csv without the dataset
// package: the model math depends on nothing of ours.
func loadIris(t testing.TB) Data {
	t.Helper()
	d := repo.LoadIris(t)
	return Data{X: d.X, Y: d.Y, Rows: d.Rows, Features: 4, Classes: 3}
}

func loadGolden(t testing.TB) golden {
	t.Helper()
	b, err := os.ReadFile("testdata/iris_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestFitMatchesScikitLearnOptimum(t *testing.T) {
	d := loadIris(t)
	g := loadGolden(t)
	for i, y := range g.Meta.Y {
		if int(d.Y[i]) != y {
			t.Fatalf("row %d: label %d, golden %d", i, d.Y[i], y)
		}
	}
	for _, tc := range []struct {
		name        string
		standardize bool
		want        goldenFit
	}{
		{"standardized", true, g.Scaled},
		{"raw", false, g.Unscaled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, info, err := Fit(context.Background(), d, Options{Standardize: tc.standardize})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("iterations %d, evaluations %d, objective %.12g (golden %.12g), grad %.3g, %s",
				info.Iterations, info.Evaluations, info.Objective, tc.want.Objective, info.GradNorm, info.Status)
			if !info.Converged {
				t.Errorf("not converged: %+v", info)
			}
			if rel := math.Abs(info.Objective-tc.want.Objective) / tc.want.Objective; rel > 1e-6 {
				t.Errorf("objective %.12g, golden %.12g: relative difference %.3g > 1e-6", info.Objective, tc.want.Objective, rel)
			}
			if tc.standardize {
				for j := range m.Mean {
					if math.Abs(m.Mean[j]-tc.want.ScalerMean[j]) > 1e-12 || math.Abs(m.Scale[j]-tc.want.ScalerScale[j]) > 1e-12 {
						t.Errorf("scaler[%d] = %v/%v, golden %v/%v", j, m.Mean[j], m.Scale[j], tc.want.ScalerMean[j], tc.want.ScalerScale[j])
					}
				}
			}
			c, err := m.Compile()
			if err != nil {
				t.Fatal(err)
			}
			p := make([]float64, 3)
			correct := 0
			worst := 0.0
			for i := 0; i < d.Rows; i++ {
				if c.PredictProba(d.X[i*4:i*4+4], p) == int(d.Y[i]) {
					correct++
				}
				for k := range p {
					worst = max(worst, math.Abs(p[k]-tc.want.Proba[i][k]))
				}
			}
			// Golden probabilities are rounded to 6 decimals.
			if worst > 1e-4 {
				t.Errorf("max |p - golden| = %.3g > 1e-4", worst)
			}
			if acc := float64(correct) / float64(d.Rows); acc != tc.want.Accuracy {
				t.Errorf("accuracy %v, golden %v", acc, tc.want.Accuracy)
			}
			t.Logf("max |p - golden| = %.3g", worst)
		})
	}
}
