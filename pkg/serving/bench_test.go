package serving

import "testing"

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

func BenchmarkPredictBatch1000(b *testing.B) { benchmarkPredictBatch(b, 1000) }
