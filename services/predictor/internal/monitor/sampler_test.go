package monitor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

type logStore struct {
	mu      sync.Mutex
	batches map[string][][]byte
	fail    bool
}

func (l *logStore) PutLog(_ context.Context, model string, _ time.Time, b []byte) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail {
		return "", errors.New("storage down")
	}
	l.batches[model] = append(l.batches[model], bytes.Clone(b))
	return "k", nil
}

func (l *logStore) lines(model string) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, b := range l.batches[model] {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				panic(err)
			}
			out = append(out, m)
		}
	}
	return out
}

func newSampler(store *logStore, fraction float64, queue int) *Sampler {
	return NewSampler(SamplerConfig{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Registry: prometheus.NewRegistry(), Fraction: fraction, Queue: queue, BatchBytes: 2000, FlushEvery: time.Hour})
}

func TestSamplerShareAndLines(t *testing.T) {
	s := newSampler(&logStore{batches: map[string][][]byte{}}, 0.1, 10)
	n := 0
	for range 100_000 {
		if s.Sample() {
			n++
		}
	}
	if n < 9_400 || n > 10_600 {
		t.Errorf("sampled %d of 100000 at 0.1", n)
	}
	if (*Sampler)(nil).Sample() {
		t.Error("no sampler sampled")
	}
}

func TestSamplerWritesBatchesAndFlushesAtShutdown(t *testing.T) {
	store := &logStore{batches: map[string][][]byte{}}
	s := newSampler(store, 1, 1000)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	for i := range 50 {
		s.Offer("iris", "v1", []byte(`{"sepal_length": 5.1}`), []byte(`{"label":"setosa"}`))
		if i%10 == 0 {
			s.Offer("wine", "v2", []byte(`not json`), []byte(`{"label":"a"}`))
		}
	}
	cancel()
	<-done
	iris, wine := store.lines("iris"), store.lines("wine")
	if len(iris) != 50 || len(wine) != 5 {
		t.Fatalf("%d iris lines, %d wine lines", len(iris), len(wine))
	}
	if len(store.batches["iris"]) < 2 {
		t.Errorf("%d iris batches: 2000-byte batches should have split 50 lines", len(store.batches["iris"]))
	}
	l := iris[0]
	if l["model"] != "iris" || l["version"] != "v1" || l["request"].(map[string]any)["sepal_length"] != 5.1 ||
		l["response"].(map[string]any)["label"] != "setosa" || !strings.HasPrefix(l["time"].(string), "20") {
		t.Errorf("line %v", l)
	}
	if wine[0]["request"] != "not json" {
		t.Errorf("a body that is not JSON is logged as a string: %v", wine[0]["request"])
	}
	if got := testutil.ToFloat64(s.logged.WithLabelValues("iris")); got != 50 {
		t.Errorf("logged counter %v", got)
	}
}

func TestSamplerDropsInsteadOfBlocking(t *testing.T) {
	store := &logStore{batches: map[string][][]byte{}}
	s := newSampler(store, 1, 3) // nobody runs it: the queue fills
	for range 10 {
		s.Offer("iris", "v1", []byte(`{}`), []byte(`{}`))
	}
	if got := testutil.ToFloat64(s.dropped.WithLabelValues("iris")); got != 7 {
		t.Errorf("dropped %v, want 7", got)
	}
	store.fail = true
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.Run(ctx)
	if got := testutil.ToFloat64(s.dropped.WithLabelValues("iris")); got != 10 {
		t.Errorf("after a failed write, dropped %v, want 10", got)
	}
}

// The zero configuration takes the documented defaults; a set one is kept.
func TestSamplerDefaults(t *testing.T) {
	s := NewSampler(SamplerConfig{Registry: prometheus.NewRegistry()})
	if s.cfg.Queue != 10_000 || s.cfg.BatchBytes != 4<<20 || s.cfg.FlushEvery != 30*time.Second || cap(s.lines) != 10_000 {
		t.Errorf("defaults: queue %d, batch %d bytes, flush every %s", s.cfg.Queue, s.cfg.BatchBytes, s.cfg.FlushEvery)
	}
	set := NewSampler(SamplerConfig{Registry: prometheus.NewRegistry(), Queue: 1, BatchBytes: 2, FlushEvery: time.Second})
	if set.cfg.Queue != 1 || set.cfg.BatchBytes != 2 || set.cfg.FlushEvery != time.Second {
		t.Errorf("set: queue %d, batch %d bytes, flush every %s", set.cfg.Queue, set.cfg.BatchBytes, set.cfg.FlushEvery)
	}
	// An answer far longer than its request is logged whole.
	answer := `{"predictions":"` + strings.Repeat("x", 1000) + `"}`
	s.Offer("iris", "v1", []byte(`{}`), []byte(answer))
	select {
	case l := <-s.lines:
		if !strings.Contains(string(l.b), answer) || !json.Valid(l.b) {
			t.Errorf("line %.100s", l.b)
		}
	default:
		t.Error("the line was dropped")
	}
}
