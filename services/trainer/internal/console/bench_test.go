package console

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

// pageBudget is the most a page may weigh, its stylesheet and script
// included.
const pageBudget = 200_000

// bigPages are the console's pages over bigStore: the heaviest instance
// of each (the run with the longest history, five such runs compared).
func bigPages(runs []registry.Run) map[string]string {
	var long []string
	var version string
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		if len(r.History) == registry.MaxHistory && len(long) < 5 {
			long = append(long, r.ID)
		}
		if version == "" && r.Version != "" {
			version = r.Version
		}
	}
	return map[string]string{
		"models":   "/ui/",
		"model":    "/ui/models/iris",
		"version":  "/ui/models/iris/versions/" + version + "?x=5.1&x=3.5&x=1.4&x=0.2",
		"runs":     "/ui/runs?sort=accuracy&page=3",
		"run":      "/ui/runs/" + long[0],
		"compare":  "/ui/compare?run=" + strings.Join(long, "&run="),
		"datasets": "/ui/datasets",
	}
}

// TestPageWeights renders every page over 1,000 runs and 100 versions:
// each, with its stylesheet and script, stays under pageBudget.
func TestPageWeights(t *testing.T) {
	e := newEnv(t)
	pages := bigPages(e.bigStore(t, 1000, 100))
	assets := 0
	for _, a := range []string{"/ui/static/app.css", "/ui/static/app.js"} {
		code, body := e.get(a)
		if code != 200 {
			t.Fatalf("%s: %d", a, code)
		}
		assets += len(body)
	}
	for name, path := range pages {
		code, body := e.get(path)
		if code != 200 {
			t.Fatalf("%s: %d\n%.500s", name, code, body)
		}
		if w := len(body) + assets; w > pageBudget {
			t.Errorf("%s weighs %d bytes (page %d + assets %d), over %d", name, w, len(body), assets, pageBudget)
		}
	}
}

// BenchmarkPages renders each page over 1,000 runs and 100 versions in
// the in-memory store (render time, not S3's), reporting the p95 and the
// page's weight. The first request, which reads every run record, is not
// timed: finished runs are then served from the registry's memory.
func BenchmarkPages(b *testing.B) {
	e := newEnv(b)
	pages := bigPages(e.bigStore(b, 1000, 100))
	names := make([]string, 0, len(pages))
	for n := range pages {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		path := pages[name]
		b.Run(name, func(b *testing.B) {
			code, body := e.get(path)
			if code != 200 {
				b.Fatalf("%d", code)
			}
			times := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for b.Loop() {
				start := time.Now()
				w := httptest.NewRecorder()
				e.engine.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
				times = append(times, time.Since(start))
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)*95/100].Microseconds())/1000, "p95-ms")
			b.ReportMetric(float64(len(body)), "page-bytes")
		})
	}
}
