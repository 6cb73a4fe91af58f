package api

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

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

type wrkResult struct {
	rps, p50, p99 float64 // requests/s, microseconds
	non2xx        int
}

var (
	rpsRE     = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	latencyRE = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)`)
	non2xxRE  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

func runWrk(b *testing.B, url string, d time.Duration) wrkResult {
	b.Helper()
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Fatal("wrk not installed: apt-get install wrk")
	}
	script := filepath.Join(b.TempDir(), "post.lua")
	lua := fmt.Sprintf("wrk.method = \"POST\"\nwrk.body = %q\nwrk.headers[\"Content-Type\"] = \"application/json\"\n", seed)
	if err := os.WriteFile(script, []byte(lua), 0o644); err != nil {
		b.Fatal(err)
	}
	out, err := exec.Command(wrk, "-t2", "-c32", "-d"+d.String(), "--latency", "-s", script, url).CombinedOutput()
	if err != nil {
		b.Fatalf("wrk: %v\n%s", err, out)
	}
	var r wrkResult
	m := rpsRE.FindSubmatch(out)
	if m == nil {
		b.Fatalf("no throughput in wrk output:\n%s", out)
	}
	r.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	for _, l := range latencyRE.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(l[2]), 64)
		switch string(l[3]) {
		case "ms":
			v *= 1000
		case "s":
			v *= 1e6
		}
		if string(l[1]) == "50" {
			r.p50 = v
		} else {
			r.p99 = v
		}
	}
	if m := non2xxRE.FindSubmatch(out); m != nil {
		r.non2xx, _ = strconv.Atoi(string(m[1]))
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
		var o, base []wrkResult
		for range 3 {
			o = append(o, runWrk(b, ours, d))
			base = append(base, runWrk(b, bare, d))
		}
		om, bm := median(o), median(base)
		for _, r := range append(o, base...) {
			if r.non2xx != 0 {
				b.Fatalf("%d non-2xx answers", r.non2xx)
			}
		}
		b.ReportMetric(om.rps, "req/s")
		b.ReportMetric(om.p50, "p50-µs")
		b.ReportMetric(om.p99, "p99-µs")
		b.ReportMetric(bm.rps, "baseline-req/s")
		b.ReportMetric(bm.p50, "baseline-p50-µs")
		b.ReportMetric(bm.p99, "baseline-p99-µs")
		b.ReportMetric(om.rps/bm.rps, "ratio")
	}
}

// median takes each figure's median over the rounds.
func median(rs []wrkResult) wrkResult {
	pick := func(f func(wrkResult) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return wrkResult{
		rps: pick(func(r wrkResult) float64 { return r.rps }),
		p50: pick(func(r wrkResult) float64 { return r.p50 }),
		p99: pick(func(r wrkResult) float64 { return r.p99 }),
	}
}
