package serving

import (
	"strings"
	"testing"
)

func BenchmarkPredictSingle(b *testing.B) {
	m := irisModel(b)
	var sc Scratch
	body := []byte(seedBody)
	p := make([]float64, 3)
	out := make([]byte, 0, 512)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req, err := m.DecodePredict(body, 10, &sc)
		if err != nil {
			b.Fatal(err)
		}
		k, err := m.Predict(req.X, p)
		if err != nil {
			b.Fatal(err)
		}
		out = m.AppendSingle(out[:0], k, p)
	}
}

func BenchmarkPredictBatch1000(b *testing.B) {
	m := irisModel(b)
	body := []byte(`{"instances": [` + strings.TrimSuffix(strings.Repeat(`[5.1, 3.5, 1.4, 0.2],`, 1000), ",") + `]}`)
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
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/row")
}
