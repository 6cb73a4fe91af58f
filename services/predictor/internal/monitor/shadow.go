package monitor

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Scorer scores a row without side effects; *serving.Model has it.
type Scorer interface {
	Score(x, p []float64) (int, error)
}

// ShadowConfig configures a Shadow.
type ShadowConfig struct {
	Registry prometheus.Registerer
	// Fraction of requests scored by the shadow, in (0, 1].
	Fraction float64
	// Queue bounds the requests waiting for the shadow; past it they are
	// dropped (and counted). 0 means 4,096.
	Queue int
}

// Shadow scores requests with a candidate version off the response path
// and compares its answers with the served ones: agreement (same label)
// and the mean absolute difference of the probabilities.
type Shadow struct {
	cfg     ShadowConfig
	jobs    chan shadowJob
	rows    *prometheus.CounterVec
	agreed  *prometheus.CounterVec
	absDiff *prometheus.CounterVec
	latency *prometheus.HistogramVec
	dropped *prometheus.CounterVec

	mu    sync.Mutex
	stats map[string]*ShadowStats // by model

	// Run's own: the counters of each (model, version, shadow version),
	// and row buffers handed from Offer to Run.
	series map[[3]string]*shadowSeries
	rows64 sync.Pool
}

type shadowSeries struct {
	rows, agreed, absDiff prometheus.Counter
	latency               prometheus.Observer
}

// ShadowStats is how a shadow compares so far with what is served.
type ShadowStats struct {
	Version, ShadowVersion string
	Rows, Agreed           uint64
	AbsDiffSum             float64
}

// Agreement is the share of rows where the shadow chose the same label.
func (s ShadowStats) Agreement() float64 {
	if s.Rows == 0 {
		return math.NaN()
	}
	return float64(s.Agreed) / float64(s.Rows)
}

type shadowJob struct {
	model, version, shadowVersion string
	served, shadow                Scorer
	x                             *[]float64 // from Shadow.rows64
	features, classes             int
}

// NewShadow returns a Shadow; Run scores what it is offered.
func NewShadow(cfg ShadowConfig) *Shadow {
	if cfg.Queue <= 0 {
		cfg.Queue = 4096
	}
	labels := []string{"model", "version", "shadow_version"}
	f := promauto.With(cfg.Registry)
	return &Shadow{
		cfg:  cfg,
		jobs: make(chan shadowJob, cfg.Queue),
		rows: f.NewCounterVec(prometheus.CounterOpts{Name: "predictor_shadow_rows_total",
			Help: "Rows scored by the shadow version as well as the served one."}, labels),
		agreed: f.NewCounterVec(prometheus.CounterOpts{Name: "predictor_shadow_agreements_total",
			Help: "Rows where the shadow version chose the served version's label."}, labels),
		absDiff: f.NewCounterVec(prometheus.CounterOpts{Name: "predictor_shadow_abs_prob_diff_total",
			Help: "Sum over shadow-scored rows of the mean absolute difference of the class probabilities; divide by predictor_shadow_rows_total."}, labels),
		latency: f.NewHistogramVec(prometheus.HistogramOpts{Name: "predictor_shadow_scoring_seconds",
			Help:    "Time the shadow took to score one request's rows, off the response path.",
			Buckets: []float64{1e-6, 5e-6, 25e-6, 1e-4, 5e-4, 2.5e-3, 0.01, 0.05}}, []string{"model"}),
		dropped: f.NewCounterVec(prometheus.CounterOpts{Name: "predictor_shadow_dropped_total",
			Help: "Requests not shadow-scored because the shadow's queue was full."}, []string{"model"}),
		stats:  map[string]*ShadowStats{},
		series: map[[3]string]*shadowSeries{},
		rows64: sync.Pool{New: func() any { return new([]float64) }},
	}
}

// Sample decides whether to shadow this request: ask before copying.
func (s *Shadow) Sample() bool { return s != nil && rand.Float64() < s.cfg.Fraction }

// Offer queues a request's rows (features wide, flat) for scoring by
// both the served model and the shadow, off the response path. It copies
// the rows and never blocks: a full queue drops the request.
func (s *Shadow) Offer(model, version string, served Scorer, shadowVersion string, shadow Scorer, x []float64, features, classes int) {
	buf := s.rows64.Get().(*[]float64)
	*buf = append((*buf)[:0], x...)
	j := shadowJob{model: model, version: version, shadowVersion: shadowVersion, served: served, shadow: shadow,
		features: features, classes: classes, x: buf}
	select {
	case s.jobs <- j:
	default:
		s.rows64.Put(buf)
		s.dropped.WithLabelValues(model).Inc()
	}
}

// drainEvery is how often Run empties the queue. Draining in bursts
// instead of waiting on the channel keeps Offer from waking a parked
// goroutine on every request, which cost more than the scoring itself.
const drainEvery = 5 * time.Millisecond

// Run scores queued requests until ctx ends.
func (s *Shadow) Run(ctx context.Context) {
	t := time.NewTicker(drainEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for n := len(s.jobs); n > 0; n-- {
			s.score(<-s.jobs)
		}
	}
}

func (s *Shadow) score(j shadowJob) {
	start := time.Now()
	defer s.rows64.Put(j.x)
	x := *j.x
	k := j.classes
	var pq [64]float64 // p and q without allocating, for up to 32 classes
	var p, q []float64
	if 2*k <= len(pq) {
		p, q = pq[:k], pq[k:2*k]
	} else {
		p, q = make([]float64, k), make([]float64, k)
	}
	agreed, diff := 0, 0.0
	scored := 0
	for i := range len(x) / j.features {
		row := x[i*j.features : (i+1)*j.features]
		want, err := j.served.Score(row, p)
		if err != nil {
			continue
		}
		got, err := j.shadow.Score(row, q)
		if err != nil {
			continue
		}
		scored++
		if got == want {
			agreed++
		}
		d := 0.0
		for c := range k {
			d += math.Abs(p[c] - q[c])
		}
		diff += d / float64(k)
	}
	key := [3]string{j.model, j.version, j.shadowVersion}
	m := s.series[key]
	if m == nil {
		// A new version on either side: the old pair's series go, so the
		// label sets stay bounded however many versions come and go.
		for old := range s.series {
			if old[0] == j.model {
				for _, v := range []*prometheus.CounterVec{s.rows, s.agreed, s.absDiff} {
					v.DeleteLabelValues(old[:]...)
				}
				delete(s.series, old)
			}
		}
		m = &shadowSeries{rows: s.rows.WithLabelValues(key[:]...), agreed: s.agreed.WithLabelValues(key[:]...),
			absDiff: s.absDiff.WithLabelValues(key[:]...), latency: s.latency.WithLabelValues(j.model)}
		s.series[key] = m
	}
	m.latency.Observe(time.Since(start).Seconds())
	m.rows.Add(float64(scored))
	m.agreed.Add(float64(agreed))
	m.absDiff.Add(diff)
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats[j.model]
	if st == nil || st.Version != j.version || st.ShadowVersion != j.shadowVersion {
		st = &ShadowStats{Version: j.version, ShadowVersion: j.shadowVersion}
		s.stats[j.model] = st
	}
	st.Rows += uint64(scored)
	st.Agreed += uint64(agreed)
	st.AbsDiffSum += diff
}

// Stats is how the shadow of model compares so far with the served
// version (since either last changed).
func (s *Shadow) Stats(model string) (ShadowStats, bool) {
	if s == nil {
		return ShadowStats{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.stats[model]
	if !ok {
		return ShadowStats{}, false
	}
	return *st, true
}

// Tap sees every answered request and hands samples of it to the payload
// log and to the shadow. A nil Tap, or nil parts, do nothing.
type Tap struct {
	Sampler *Sampler
	Shadow  *Shadow
	// ShadowOf returns the shadow version loaded for a model, if any.
	ShadowOf func(model string) (Scorer, string, bool)
}

// Answered is called once a request's answer is written: x holds its rows
// (features wide), request and response the bodies.
func (t *Tap) Answered(model, version string, served Scorer, x []float64, features, classes int, request, response []byte) {
	if t == nil {
		return
	}
	if t.Sampler.Sample() {
		t.Sampler.Offer(model, version, request, response)
	}
	if t.Shadow.Sample() {
		if shadow, sv, ok := t.ShadowOf(model); ok {
			t.Shadow.Offer(model, version, served, sv, shadow, x, features, classes)
		}
	}
}
