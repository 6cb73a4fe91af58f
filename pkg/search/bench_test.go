package search

import (
	"context"
	"testing"
)

// BenchmarkSearchIris is the iris-sized figure: 10 C × 5 folds,
// standardized, neg_log_loss, warm starts (the default) and cold starts
// side by side. It reports the solver iterations per fit.
func BenchmarkSearchIris(b *testing.B) {
	d := loadData(b, "iris")
	for _, tc := range []struct {
		name string
		cold bool
	}{{"warm", false}, {"cold", true}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := irisConfig()
			cfg.ColdStart = tc.cold
			iterations, fits := 0, 0
			for b.Loop() {
				out, err := Run(context.Background(), d, cfg)
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range out.Results {
					for _, it := range r.Iterations {
						iterations += it
						fits++
					}
				}
			}
			b.ReportMetric(float64(iterations)/float64(fits), "iter/fit")
		})
	}
}
