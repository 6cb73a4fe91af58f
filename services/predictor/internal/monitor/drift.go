// Package monitor watches models while they serve, inside the predictor:
// live feature distributions and predicted classes against the training
// baseline in the artifact (population stability index over a sliding
// window), with no locks and no allocation per row.
package monitor

import (
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/modelferry/modelferry/pkg/artifact/artifactpb"
	"github.com/modelferry/modelferry/pkg/drift"
)

// Clock is a coarse clock of window buckets: a ticker advances Epoch, so
// the hot path reads one atomic instead of the time.
type Clock struct {
	bucket time.Duration
	epoch  atomic.Int64
}

// NewClock returns a clock of buckets of the given length, started at
// now; Run keeps it going.
func NewClock(bucket time.Duration, now time.Time) *Clock {
	c := &Clock{bucket: bucket}
	c.epoch.Store(now.UnixNano() / int64(bucket))
	return c
}

// Epoch is the number of the current bucket.
func (c *Clock) Epoch() int64 { return c.epoch.Load() }

// Set moves the clock to now (Run does it; tests call it).
func (c *Clock) Set(now time.Time) { c.epoch.Store(now.UnixNano() / int64(c.bucket)) }

// Run advances the clock until stop is closed.
func (c *Clock) Run(stop <-chan struct{}) {
	t := time.NewTicker(c.bucket / 10)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			c.Set(now)
		}
	}
}

// Buckets is how many buckets a window is split into.
const Buckets = 10

// Drift counts one model version's live rows per feature bin and per
// predicted class over a sliding window of Buckets buckets. Counters are
// sharded so that cores do not fight over cache lines.
type Drift struct {
	clock    *Clock
	baseline *artifactpb.Baseline
	edges    [][]float64
	offsets  []int // feature j's bins start at offsets[j]
	width    int   // bins of all features, then the classes
	shards   []shard
}

type shard struct {
	buckets [Buckets]bucket
	_       [64]byte // keeps shards' hot words off each other's cache lines
}

type bucket struct {
	epoch  atomic.Int64
	counts []atomic.Uint64 // width of them
}

// NewDrift watches a model against its baseline; nil when the artifact
// has none (made before baselines existed: monitoring is off for it).
func NewDrift(m *artifactpb.Model, clock *Clock) *Drift {
	b := m.GetBaseline()
	if b == nil || len(b.Features) != len(m.FeatureNames) {
		return nil
	}
	d := &Drift{clock: clock, baseline: b}
	for _, f := range b.Features {
		d.offsets = append(d.offsets, d.width)
		d.edges = append(d.edges, f.Edges)
		d.width += len(f.Edges) + 1
	}
	d.width += len(m.ClassNames)
	d.shards = make([]shard, max(1, runtime.GOMAXPROCS(0)))
	for s := range d.shards {
		for b := range d.shards[s].buckets {
			d.shards[s].buckets[b].counts = make([]atomic.Uint64, d.width)
		}
	}
	return d
}

// Observe counts one served row and its predicted class.
func (d *Drift) Observe(x []float64, class int) {
	epoch := d.clock.Epoch()
	s := &d.shards[rand.IntN(len(d.shards))]
	b := &s.buckets[epoch%Buckets]
	if b.epoch.Load() != epoch {
		// The bucket held an older window slot: start it afresh. Rows
		// counted by a racing core meanwhile may be lost; this is a
		// monitor, not a ledger.
		if old := b.epoch.Load(); old != epoch && b.epoch.CompareAndSwap(old, epoch) {
			for i := range b.counts {
				b.counts[i].Store(0)
			}
		}
	}
	for j, v := range x {
		b.counts[d.offsets[j]+drift.Bin(d.edges[j], v)].Add(1)
	}
	b.counts[d.width-len(d.baseline.LabelCounts)+class].Add(1)
}

// Report is the drift of the window ending now.
type Report struct {
	// Rows counted in the window.
	Rows uint64
	// PSI per feature, in the model's feature order.
	PSI []float64
	// ClassPSI compares the predicted class mix with the one on the
	// training rows; LiveShare and TrainingShare are those mixes.
	ClassPSI                 float64
	LiveShare, TrainingShare []float64
}

// Report sums the window's buckets and compares them with the baseline.
func (d *Drift) Report() Report {
	epoch := d.clock.Epoch()
	live := make([]uint64, d.width)
	for s := range d.shards {
		for b := range d.shards[s].buckets {
			bk := &d.shards[s].buckets[b]
			if e := bk.epoch.Load(); e > epoch-Buckets && e <= epoch {
				for i := range bk.counts {
					live[i] += bk.counts[i].Load()
				}
			}
		}
	}
	classes := live[d.width-len(d.baseline.LabelCounts):]
	r := Report{PSI: make([]float64, len(d.edges))}
	for _, c := range classes {
		r.Rows += c
	}
	for j, f := range d.baseline.Features {
		r.PSI[j] = drift.PSI(f.Counts, live[d.offsets[j]:d.offsets[j]+len(f.Counts)])
	}
	r.ClassPSI = drift.PSI(d.baseline.PredictionCounts, classes)
	r.LiveShare, r.TrainingShare = shares(classes), shares(d.baseline.PredictionCounts)
	return r
}

func shares(counts []uint64) []float64 {
	var total uint64
	for _, c := range counts {
		total += c
	}
	out := make([]float64, len(counts))
	for i, c := range counts {
		if total > 0 {
			out[i] = float64(c) / float64(total)
		}
	}
	return out
}
