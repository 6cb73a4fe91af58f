package monitor

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// LogStore keeps batches of sampled predictions; *modelstore.Store has
// it.
type LogStore interface {
	PutLog(ctx context.Context, model string, at time.Time, ndjson []byte) (string, error)
}

// SamplerConfig configures a Sampler.
type SamplerConfig struct {
	Store    LogStore
	Logger   *slog.Logger
	Registry prometheus.Registerer
	// Fraction of requests logged, in (0, 1].
	Fraction float64
	// Queue bounds the lines waiting to be written; past it lines are
	// dropped (and counted), never waited for. 0 means 10,000.
	Queue int
	// A batch is written when it reaches BatchBytes (0: 4 MiB) or is
	// FlushEvery old (0: 30s).
	BatchBytes int
	FlushEvery time.Duration
	Now        func() time.Time
}

// Sampler logs a share of requests and their answers as NDJSON batches in
// the bucket, off the response path.
type Sampler struct {
	cfg     SamplerConfig
	lines   chan line
	dropped *prometheus.CounterVec
	logged  *prometheus.CounterVec
	writes  *prometheus.CounterVec
}

type line struct {
	model string
	at    time.Time
	b     []byte
}

// NewSampler returns a Sampler; Run writes what it samples.
func NewSampler(cfg SamplerConfig) *Sampler {
	if cfg.Queue <= 0 {
		cfg.Queue = 10_000
	}
	if cfg.BatchBytes <= 0 {
		cfg.BatchBytes = 4 << 20
	}
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	f := promauto.With(cfg.Registry)
	return &Sampler{
		cfg:   cfg,
		lines: make(chan line, cfg.Queue),
		logged: f.NewCounterVec(prometheus.CounterOpts{Name: "predictor_payload_log_lines_total",
			Help: "Sampled requests with their answers written to the bucket's logs/, by model."}, []string{"model"}),
		dropped: f.NewCounterVec(prometheus.CounterOpts{Name: "predictor_payload_log_dropped_total",
			Help: "Sampled requests not logged because the queue was full or a write failed, by model."}, []string{"model"}),
		writes: f.NewCounterVec(prometheus.CounterOpts{Name: "predictor_payload_log_writes_total",
			Help: "Batches of sampled requests written to the bucket, by result."}, []string{"result"}),
	}
}

// Sample decides whether to log this request: ask before copying
// anything.
func (s *Sampler) Sample() bool { return s != nil && rand.Float64() < s.cfg.Fraction }

// Offer queues a request and its answer (both JSON) for the log, or drops
// it when the queue is full. It never blocks.
func (s *Sampler) Offer(model, version string, request, response []byte) {
	at := s.cfg.Now().UTC()
	b := make([]byte, 0, len(request)+len(response)+128)
	b = append(b, `{"time":`...)
	b = strconv.AppendQuote(b, at.Format(time.RFC3339Nano))
	b = append(b, `,"model":`...)
	b = strconv.AppendQuote(b, model)
	b = append(b, `,"version":`...)
	b = strconv.AppendQuote(b, version)
	b = append(b, `,"request":`...)
	b = appendJSON(b, request)
	b = append(b, `,"response":`...)
	b = appendJSON(b, response)
	b = append(b, "}\n"...)
	select {
	case s.lines <- line{model: model, at: at, b: b}:
	default:
		s.dropped.WithLabelValues(model).Inc()
	}
}

// appendJSON appends raw when it is JSON, else raw as a string (a body
// that failed to parse is logged as it came).
func appendJSON(b, raw []byte) []byte {
	if json.Valid(raw) {
		return append(b, raw...)
	}
	return strconv.AppendQuote(b, string(raw))
}

// Run writes batches until ctx ends, then writes what is left within 10s.
func (s *Sampler) Run(ctx context.Context) {
	batches := map[string]*batch{}
	tick := time.NewTicker(s.cfg.FlushEvery / 4)
	defer tick.Stop()
	flush := func(ctx context.Context, model string, b *batch) {
		delete(batches, model)
		if _, err := s.cfg.Store.PutLog(ctx, model, b.first, b.data); err != nil {
			s.writes.WithLabelValues("failure").Inc()
			s.dropped.WithLabelValues(model).Add(float64(b.lines))
			s.cfg.Logger.Warn("writing sampled predictions", "model", model, "lines", b.lines, "err", err)
			return
		}
		s.writes.WithLabelValues("success").Inc()
		s.logged.WithLabelValues(model).Add(float64(b.lines))
	}
	add := func(ctx context.Context, l line) {
		b := batches[l.model]
		if b == nil {
			b = &batch{first: l.at}
			batches[l.model] = b
		}
		b.data = append(b.data, l.b...)
		b.lines++
		if len(b.data) >= s.cfg.BatchBytes {
			flush(ctx, l.model, b)
		}
	}
	for {
		select {
		case l := <-s.lines:
			add(ctx, l)
		case <-tick.C:
			for model, b := range batches {
				if s.cfg.Now().Sub(b.first) >= s.cfg.FlushEvery {
					flush(ctx, model, b)
				}
			}
		case <-ctx.Done():
			// Shutdown: what was sampled is written, within a bound.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			for len(s.lines) > 0 {
				add(fctx, <-s.lines)
			}
			for model, b := range batches {
				flush(fctx, model, b)
			}
			return
		}
	}
}

type batch struct {
	first time.Time
	data  []byte
	lines int
}
