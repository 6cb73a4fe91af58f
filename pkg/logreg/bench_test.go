package logreg

import (
	"context"
	"testing"
)

func BenchmarkPredictProbaIris(b *testing.B) {
	d := loadIris(b)
	m, _, err := Fit(context.Background(), d, Options{Standardize: true})
	if err != nil {
		b.Fatal(err)
	}
	c, err := m.Compile()
	if err != nil {
		b.Fatal(err)
	}
	out := make([]float64, 3)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.PredictProba(d.X[i*4:i*4+4], out)
		i++
		if i == d.Rows {
			i = 0
		}
	}
}

func benchmarkFit(b *testing.B, d Data) {
	b.ReportAllocs()
	var info FitInfo
	for b.Loop() {
		var err error
		if _, info, err = Fit(context.Background(), d, Options{Standardize: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(info.Iterations), "iterations")
	b.ReportMetric(float64(info.Evaluations), "evaluations")
	b.ReportMetric(info.Objective, "objective")
}

// BenchmarkFitMixed1M fits 1M rows of 10 numeric features and 5
// categorical columns of 20 levels with three classes.
func BenchmarkFitMixed1M(b *testing.B) {
	benchmarkFit(b, withCodes(synthetic(1_000_000, 10, 3, 0, 42), []int{20, 20, 20, 20, 20}, false, 42))
}

func BenchmarkFit100kx20x3(b *testing.B) { benchmarkFit(b, synthetic(100_000, 20, 3, 0, 42)) }
func BenchmarkFit1Mx20x3(b *testing.B)   { benchmarkFit(b, synthetic(1_000_000, 20, 3, 0, 42)) }

// BenchmarkObjective times one pass of loss and gradient over 1M × 20 rows
// with three classes at a typical point.
func BenchmarkObjective1Mx20x3(b *testing.B) {
	benchmarkObjective(b, synthetic(1_000_000, 20, 3, 0, 42))
}

// BenchmarkObjectiveMixed1M times one pass over 1M rows of 10 numeric
// features and 5 categorical columns of 20 levels with three classes, the
// issue's tabular shape; BenchmarkObjective1Mx15x3 is the all-numeric pass
// of as many source columns, to compare side by side.
func BenchmarkObjectiveMixed1M(b *testing.B) {
	d := withCodes(synthetic(1_000_000, 10, 3, 0, 42), []int{20, 20, 20, 20, 20}, false, 42)
	benchmarkObjective(b, d)
}

func BenchmarkObjective1Mx15x3(b *testing.B) {
	benchmarkObjective(b, synthetic(1_000_000, 15, 3, 0, 42))
}

func benchmarkObjective(b *testing.B, d Data) {
	mean, scale := meanScale(d)
	o := newObjective(d, mean, scale, 1, 0)
	theta := make([]float64, o.dim())
	for i := range theta {
		theta[i] = 0.01 * float64(i%7-3)
	}
	for b.Loop() {
		o.compute(theta)
	}
}
