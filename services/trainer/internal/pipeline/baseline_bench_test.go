package pipeline

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/modelferry/modelferry/pkg/dataset"
	"github.com/modelferry/modelferry/pkg/logreg"
)

// BenchmarkBaseline measures the drift baseline of 1M training rows × 20
// features × 3 classes: what it adds to a large training.
func BenchmarkBaseline(b *testing.B) {
	const rows, f, k = 1_000_000, 20, 3
	r := rand.New(rand.NewPCG(1, 2))
	d := &dataset.Dataset{X: make([]float64, rows*f), Y: make([]int, rows)}
	for j := range f {
		d.Features = append(d.Features, fmt.Sprint("f", j))
	}
	for i := range rows {
		d.Y[i] = i % k
		for j := range f {
			d.X[i*f+j] = r.NormFloat64() + float64(d.Y[i]*j%3)
		}
	}
	m := &logreg.Model{Features: f, Classes: k, Coef: make([]float64, k*f), Intercept: make([]float64, k)}
	for i := range m.Coef {
		m.Coef[i] = r.NormFloat64()
	}
	c, err := m.Compile()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		_ = baseline(d, k, c)
	}
}
