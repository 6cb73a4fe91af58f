package pipeline

import "testing"

// BenchmarkBaseline measures the drift baseline of 1M training rows × 20
// features × 3 classes: what it adds to a large training.
func BenchmarkBaseline(b *testing.B) {
	d, c := randomTraining(1_000_000, 20, 3)
	b.ReportAllocs()
	for b.Loop() {
		_ = baseline(d, 3, c)
	}
}
