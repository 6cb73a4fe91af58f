package serving

import (
	"strings"
	"testing"
)

// The OIP benchmarks answer the same rows as BenchmarkPredictSingle and
// BenchmarkPredictBatch100, for a side-by-side reading.

func BenchmarkInferSingle(b *testing.B) { benchmarkInfer(b, 1) }

func BenchmarkInferBatch100(b *testing.B) { benchmarkInfer(b, 100) }

func benchmarkInfer(b *testing.B, rows int) {
	m := irisModel(b)
	body := inferBody(rows)
	var sc Scratch
	var ans Answers
	out := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req, err := m.DecodeInfer(body, 10000, &sc)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.PredictRows(req.X, req.Rows, &ans); err != nil {
			b.Fatal(err)
		}
		out = m.AppendInfer(out[:0], req.ID, req.Outputs, &ans)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(rows), "ns/row")
}

func BenchmarkPredictBatch100(b *testing.B) { benchmarkPredictBatch(b, 100) }

func benchmarkPredictBatch(b *testing.B, rows int) {
	m := irisModel(b)
	body := []byte(`{"instances": [` + strings.TrimSuffix(strings.Repeat(`[5.1, 3.5, 1.4, 0.2],`, rows), ",") + `]}`)
	var sc Scratch
	p := make([]float64, 3)
	out := make([]byte, 0, 256<<10)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req, err := m.DecodePredict(body, 10000, &sc)
		if err != nil {
			b.Fatal(err)
		}
		if out, err = m.AppendBatch(out[:0], req.X, req.Rows, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(rows), "ns/row")
}
