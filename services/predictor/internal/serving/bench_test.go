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
		k := m.Predict(req.X, p)
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
		out = m.AppendBatch(out[:0], req.X, req.Rows, p)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/row")
}
