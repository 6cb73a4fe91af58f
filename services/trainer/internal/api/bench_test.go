package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelferry/modelferry/devstack/testkit/s3test"
	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

// BenchmarkRunsListing measures GET /runs?limit=100 and GET /runs/{id}
// over 1,000 stored runs of two models on loopback versitygw, with the
// page's records read one at a time and in parallel.
func BenchmarkRunsListing(b *testing.B) {
	srv := s3test.Start(b)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	open := func(parallelism int) *modelstore.Store {
		store, err := modelstore.OpenS3(modelstore.S3Options{Endpoint: srv.Endpoint, AccessKey: s3test.AccessKey,
			SecretKey: s3test.SecretKey, Bucket: "modelferry"}, modelstore.Options{ReadParallelism: parallelism})
		if err != nil {
			b.Fatal(err)
		}
		return store
	}
	ctx := context.Background()
	seed := open(0)
	if err := seed.EnsureBucket(ctx); err != nil {
		b.Fatal(err)
	}
	reg := registry.New(registry.Config{Storage: seed, Logger: logger})
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 1000 {
		at := now.Add(time.Duration(i) * time.Second)
		run := registry.Run{ID: at.Format("20060102T150405Z") + fmt.Sprintf("-%08x", i), Model: []string{"iris", "wine"}[i%2],
			Status: registry.StatusSucceeded, Params: registry.DefaultParams(), CreatedAt: at,
			Dataset: registry.DatasetInfo{Rows: 150, Features: []string{"a", "b", "c", "d"}, Classes: []string{"x", "y", "z"}}}
		if err := reg.SaveRun(ctx, run, registry.SaveOptions{First: true}); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, run.ID)
	}
	gin.SetMode(gin.TestMode)
	// serve is a new trainer process; one "after start" has run its
	// start-up recovery, which reads each model's newest runs.
	serve := func(parallelism int, started bool) *gin.Engine {
		e := httpserver.NewEngine(httpserver.Options{Logger: logger, Registry: prometheus.NewRegistry(), Namespace: "trainer"})
		reg := registry.New(registry.Config{Storage: open(parallelism), Logger: logger})
		if started {
			if err := reg.RecoverInterrupted(ctx, now); err != nil {
				b.Fatal(err)
			}
		}
		New(Config{Logger: logger, Registry: reg}).Register(e)
		return e
	}
	for _, bc := range []struct {
		name        string
		parallelism int
		cold        bool // a new trainer process: nothing cached
		target      string
	}{
		{"list-100-cold-sequential", 1, true, "/runs?limit=100"},
		{"list-100-cold-parallel", 0, true, "/runs?limit=100"},
		{"list-100-after-start", 0, true, "/runs?limit=100"},
		{"list-100-warm", 0, false, "/runs?limit=100"},
		{"get-by-id-cold", 0, true, "/runs/" + ids[500]},
	} {
		b.Run(bc.name, func(b *testing.B) {
			started := strings.HasSuffix(bc.name, "after-start")
			e := serve(bc.parallelism, started)
			var samples []time.Duration
			for b.Loop() {
				if bc.cold {
					b.StopTimer()
					e = serve(bc.parallelism, started)
					b.StartTimer()
				}
				start := time.Now()
				w := httptest.NewRecorder()
				e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, bc.target, nil))
				if w.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", bc.target, w.Code, w.Body.Bytes()[:min(200, w.Body.Len())])
				}
				samples = append(samples, time.Since(start))
			}
			sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
			b.ReportMetric(float64(samples[len(samples)/2].Microseconds())/1000, "median-ms")
			b.ReportMetric(float64(samples[len(samples)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}
