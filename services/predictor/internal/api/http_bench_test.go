package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/modelferry/modelferry/devstack/testkit/wrk"
	"github.com/modelferry/modelferry/pkg/httpserver"
)

// baseline is the yardstick: a bare net/http handler that decodes the same
// body with encoding/json and answers a fixed prediction.
func baseline() http.Handler {
	fixed := []byte(`{"label":"setosa","class_id":0,"probabilities":{"setosa":0.98,"versicolor":0.02,"virginica":0.0}}`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			SepalLength float64 `json:"sepal_length"`
			SepalWidth  float64 `json:"sepal_width"`
			PetalLength float64 `json:"petal_length"`
			PetalWidth  float64 `json:"petal_width"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(fixed)
	})
}

func runWrk(b *testing.B, url string, d time.Duration) wrk.Result {
	b.Helper()
	r, err := wrk.Run(url, wrk.Options{Threads: 2, Connections: 32, Duration: d, Body: seed})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

func serve(b *testing.B, h http.Handler) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := httpserver.NewServer(h, slog.New(slog.NewTextHandler(io.Discard, nil)), httpserver.Timeouts{Read: 30 * time.Second, Write: 30 * time.Second})
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String() + "/predict"
}

// BenchmarkHTTPPredictVsBaseline loads POST /predict with wrk (2 threads,
// 32 connections) on the full predictor stack (gin routing, metrics
// middleware, validation, the model) and on the bare baseline, alternating
// three rounds each, and reports the medians and their ratio. Run with
// -benchtime 1x; BENCH_WRK_DURATION sets each round's length (default 5s).
func BenchmarkHTTPPredictVsBaseline(b *testing.B) {
	e, _ := newAPI(b, true)
	ours := serve(b, e)
	bare := serve(b, baseline())
	d := 5 * time.Second
	if s := os.Getenv("BENCH_WRK_DURATION"); s != "" {
		d, _ = time.ParseDuration(s)
	}
	for b.Loop() {
		var o, base []wrk.Result
		for range 3 {
			o = append(o, runWrk(b, ours, d))
			base = append(base, runWrk(b, bare, d))
		}
		om, bm := median(o), median(base)
		for _, r := range append(o, base...) {
			if r.Non2xx != 0 {
				b.Fatalf("%d non-2xx answers", r.Non2xx)
			}
		}
		us := func(d time.Duration) float64 { return float64(d.Microseconds()) }
		b.ReportMetric(om.RequestsPerSecond, "req/s")
		b.ReportMetric(us(om.P50), "p50-µs")
		b.ReportMetric(us(om.P99), "p99-µs")
		b.ReportMetric(bm.RequestsPerSecond, "baseline-req/s")
		b.ReportMetric(us(bm.P50), "baseline-p50-µs")
		b.ReportMetric(us(bm.P99), "baseline-p99-µs")
		b.ReportMetric(om.RequestsPerSecond/bm.RequestsPerSecond, "ratio")
	}
}

// median takes each figure's median over the rounds.
func median(rs []wrk.Result) wrk.Result {
	pick := func(f func(wrk.Result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return wrk.Result{
		RequestsPerSecond: pick(func(r wrk.Result) float64 { return r.RequestsPerSecond }),
		P50:               time.Duration(pick(func(r wrk.Result) float64 { return float64(r.P50) })),
		P99:               time.Duration(pick(func(r wrk.Result) float64 { return float64(r.P99) })),
	}
}
