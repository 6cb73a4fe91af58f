package pipeline

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/modelferry/modelferry/pkg/dataset"
	"github.com/modelferry/modelferry/pkg/drift"
	"github.com/modelferry/modelferry/pkg/logreg"
)

// TestBaselineCountsEveryRow checks the baseline against a plain count of
// every row: each feature's bins over the edges it recorded, the labels,
// and the classes PredictProba picks.
func TestBaselineCountsEveryRow(t *testing.T) {
	for _, tc := range []struct{ rows, features, classes int }{
		{1, 2, 2}, {7, 3, 2}, {1000, 4, 3}, {2*baselineSample - 1, 2, 3}, {45_001, 5, 4},
	} {
		t.Run(fmt.Sprintf("%dx%dx%d", tc.rows, tc.features, tc.classes), func(t *testing.T) {
			d, c := randomTraining(tc.rows, tc.features, tc.classes)
			b := baseline(d, tc.classes, c)
			if b.Rows != uint64(tc.rows) || len(b.Features) != tc.features {
				t.Fatalf("rows %d, features %d", b.Rows, len(b.Features))
			}
			// The edges come from every step-th row, at most
			// baselineSample of them.
			step := (tc.rows + baselineSample - 1) / baselineSample
			for j, fb := range b.Features {
				var sample []float64
				for i := 0; i < tc.rows; i += step {
					sample = append(sample, d.Row(i)[j])
				}
				slices.Sort(sample)
				if want := drift.SortedEdges(sample, drift.DefaultBins); !slices.Equal(fb.Edges, want) || len(sample) > baselineSample {
					t.Errorf("feature %d: edges %v, want %v from %d rows", j, fb.Edges, want, len(sample))
				}
				column := make([]float64, tc.rows)
				for i := range column {
					column[i] = d.Row(i)[j]
				}
				if want := drift.Counts(fb.Edges, column); !slices.Equal(fb.Counts, want) {
					t.Errorf("feature %d: counts %v, want %v", j, fb.Counts, want)
				}
			}
			labels, predictions := make([]uint64, tc.classes), make([]uint64, tc.classes)
			proba := make([]float64, tc.classes)
			for i := range tc.rows {
				labels[d.Y[i]]++
				predictions[c.PredictProba(d.Row(i), proba)]++
			}
			if !slices.Equal(b.LabelCounts, labels) || !slices.Equal(b.PredictionCounts, predictions) {
				t.Errorf("labels %v, predictions %v; want %v, %v", b.LabelCounts, b.PredictionCounts, labels, predictions)
			}
		})
	}
}

// randomTraining is rows of normal features shifted by class, and a
// random model over them.
func randomTraining(rows, f, k int) (*dataset.Dataset, *logreg.Compiled) {
	r := rand.New(rand.NewPCG(uint64(rows), uint64(f)))
	d := &dataset.Dataset{X: make([]float64, rows*f), Y: make([]int32, rows)}
	for j := range f {
		d.Features = append(d.Features, fmt.Sprint("f", j))
	}
	for i := range rows {
		d.Y[i] = int32(i % k)
		for j := range f {
			d.X[i*f+j] = r.NormFloat64() + float64(int(d.Y[i])*j%3)
		}
	}
	m := &logreg.Model{Features: f, Classes: k}
	m.Coef, m.Intercept = make([]float64, m.WeightRows()*f), make([]float64, m.WeightRows())
	for i := range m.Coef {
		m.Coef[i] = r.NormFloat64()
	}
	c, err := m.Compile()
	if err != nil {
		panic(err)
	}
	return d, c
}
