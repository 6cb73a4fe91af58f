package api

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelferry/modelferry/devstack/testkit/wrk"
	"github.com/modelferry/modelferry/pkg/artifact"
	"github.com/modelferry/modelferry/pkg/artifact/artifactpb"
	"github.com/modelferry/modelferry/pkg/drift"
	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/pkg/serving"
	"github.com/modelferry/modelferry/pkg/testmodel"
	"github.com/modelferry/modelferry/services/predictor/internal/monitor"
)

// discard is a log store that keeps nothing.
type discard struct{}

func (discard) PutLog(context.Context, string, time.Time, []byte) (string, error) { return "", nil }

// monitoredAPI serves iris with drift on, every request shadowed by the
// same version, and 1% of requests sampled to a log store.
func monitoredAPI(b *testing.B) *gin.Engine {
	d := testmodel.Iris(b)
	am, err := artifact.Decode(testmodel.Artifact(b, d, "iris", version, 1))
	if err != nil {
		b.Fatal(err)
	}
	base := &artifactpb.Baseline{Rows: uint64(d.Rows), LabelCounts: []uint64{50, 50, 50}, PredictionCounts: []uint64{50, 50, 50}}
	col := make([]float64, d.Rows)
	for j := range d.Features {
		for i := range d.Rows {
			col[i] = d.X[i*d.Features+j]
		}
		e := drift.Edges(col, drift.DefaultBins)
		base.Features = append(base.Features, &artifactpb.FeatureBaseline{Edges: e, Counts: drift.Counts(e, col)})
	}
	am.Baseline = base
	reg := prometheus.NewRegistry()
	m, err := serving.New(am, "abc", nil, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	m.Watch(monitor.NewDrift(am, monitor.NewClock(time.Minute, time.Now())))
	models := &fixedModels{}
	models.m.Store(m)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	tap := &monitor.Tap{
		Sampler:  monitor.NewSampler(monitor.SamplerConfig{Store: discard{}, Logger: logger, Registry: reg, Fraction: 0.01}),
		Shadow:   monitor.NewShadow(monitor.ShadowConfig{Registry: reg, Fraction: 1}),
		ShadowOf: func(string) (monitor.Scorer, string, bool) { return m, m.Version, true },
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	go tap.Sampler.Run(ctx)
	go tap.Shadow.Run(ctx)
	e := httpserver.NewEngine(httpserver.Options{Logger: logger, Registry: reg, Namespace: "predictor"})
	New(Config{Logger: logger, Models: models, MaxBodyBytes: 4096, MaxBatch: 5, Tap: tap}).Register(e)
	return e
}

// BenchmarkHTTPMonitoringCost loads POST /predict with wrk with monitoring
// off and on (drift, a shadow scoring every request, 1% sampled to the
// log), alternating three rounds each, and reports the medians and the
// ratio on/off. Run with -benchtime 1x; BENCH_WRK_DURATION sets a round.
func BenchmarkHTTPMonitoringCost(b *testing.B) {
	off, _ := newAPI(b, true)
	offURL, onURL := serve(b, off), serve(b, monitoredAPI(b))
	d := 5 * time.Second
	if s := os.Getenv("BENCH_WRK_DURATION"); s != "" {
		d, _ = time.ParseDuration(s)
	}
	for b.Loop() {
		var offs, ons []wrk.Result
		for range 3 {
			offs = append(offs, runWrk(b, offURL, d))
			ons = append(ons, runWrk(b, onURL, d))
		}
		for _, r := range append(offs, ons...) {
			if r.Non2xx != 0 {
				b.Fatalf("%d non-2xx answers", r.Non2xx)
			}
		}
		om, nm := median(offs), median(ons)
		b.ReportMetric(om.RequestsPerSecond, "off-req/s")
		b.ReportMetric(nm.RequestsPerSecond, "on-req/s")
		b.ReportMetric(float64(nm.P99.Microseconds()), "on-p99-µs")
		b.ReportMetric(nm.RequestsPerSecond/om.RequestsPerSecond, "ratio")
	}
}
