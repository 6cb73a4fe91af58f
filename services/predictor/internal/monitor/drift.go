// Package monitor watches models while they serve, inside the predictor:
// live feature distributions and predicted classes against the training
// baseline in the artifact (population stability index over a sliding
// window), with no locks and no allocation per row.
package monitor

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/modelferry/modelferry/pkg/artifact"
	"github.com/modelferry/modelferry/pkg/artifact/artifactpb"
	"github.com/modelferry/modelferry/pkg/drift"
	"github.com/modelferry/modelferry/pkg/tabular"
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

// Drift counts one model version's live rows per feature bin, missing
// values per feature and rows per predicted class over a sliding window
// of Buckets buckets. Counters are sharded so that cores do not fight
// over cache lines.
type Drift struct {
	clock    *Clock
	baseline *artifactpb.Baseline // nil for a tabular model trained without one
	cols     []column
	classes  int // the last counts of a bucket, one per class
	width    int // counts of all features, then the classes
	shards   []shard
}

// column is how one input column of the model is counted: its bins, then
// one count of missing values (which is the last bin of a categorical
// column).
type column struct {
	categorical bool
	at          int // index of the value (numeric) or code in the row
	indicator   int // index of the numeric column's missing indicator, -1 when none
	edges       []float64
	offset      int // first count of the column
	bins        int // counts before the missing count; 0: no numeric baseline
	// Categorical columns: codes 0..levels-1 are the categories and the
	// infrequent group, then comes the unseen bin; missing is the code
	// of a missing cell.
	levels, missing int
	expected        []uint64  // numeric: training rows per bin
	shares          []float64 // categorical: training share per bin, missing last
	trainingMissing float64
}

type shard struct {
	buckets [Buckets]bucket
	_       [64]byte // keeps shards' hot words off each other's cache lines
}

type bucket struct {
	epoch  atomic.Int64
	counts []atomic.Uint64 // width of them
}

// NewDrift watches a model against its training rows; nil when there is
// nothing to compare with: a model of numeric features made before
// baselines existed (monitoring is off for it). A tabular model's
// categorical columns are compared with the category shares of its
// transform, its numeric ones with the baseline when it has one.
func NewDrift(m *artifactpb.Model, clock *Clock) *Drift {
	b := m.GetBaseline()
	if b != nil && (len(b.Features) != len(m.FeatureNames) || len(b.PredictionCounts) != len(m.ClassNames)) {
		b = nil
	}
	var enc *tabular.Encoder
	if t := artifact.Transform(m); t != nil {
		var err error
		if enc, err = t.Encoder(); err != nil {
			return nil
		}
	} else if b == nil {
		return nil
	}
	d := &Drift{clock: clock, baseline: b, classes: len(m.ClassNames)}
	for j := range m.FeatureNames {
		c := column{at: j, indicator: -1}
		if enc != nil {
			c.at, c.indicator = enc.Slots(j)
			tc := m.Tabular.Columns[j]
			c.trainingMissing = tc.MissingShare
			if tc.Type == string(tabular.Categorical) {
				c.categorical = true
				c.levels, c.missing, c.shares = categoryBins(tc)
				c.bins = c.levels + 1
			}
		}
		if !c.categorical && b != nil {
			c.edges, c.expected = b.Features[j].Edges, b.Features[j].Counts
			c.bins = len(c.edges) + 1
		}
		c.offset = d.width
		d.width += c.bins + 1
		d.cols = append(d.cols, c)
	}
	d.width += d.classes
	d.shards = make([]shard, max(1, runtime.GOMAXPROCS(0)))
	for s := range d.shards {
		for b := range d.shards[s].buckets {
			d.shards[s].buckets[b].counts = make([]atomic.Uint64, d.width)
		}
	}
	return d
}

// categoryBins returns a categorical column's levels (its categories and
// the infrequent group), the code of a missing cell, and the training
// share of each bin: the levels, unseen (none in training) and missing.
func categoryBins(c *artifactpb.Column) (levels, missing int, shares []float64) {
	levels = len(c.Categories)
	if len(c.Infrequent) > 0 {
		levels++
	}
	missing = int(tabular.MissingCode)
	shares = make([]float64, levels+2)
	for k, cat := range c.Categories {
		if cat == tabular.MissingCategory {
			missing = k
			shares[levels+1] = c.Shares[k]
			continue
		}
		shares[k] = c.Shares[k]
	}
	if len(c.Infrequent) > 0 {
		shares[levels-1] = c.InfrequentShare
	}
	return levels, missing, shares
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
	for j := range d.cols {
		c := &d.cols[j]
		v := x[c.at]
		switch {
		case c.categorical:
			switch code := int(v); {
			case code == c.missing:
				b.counts[c.offset+c.bins].Add(1)
			case code < 0: // unseen
				b.counts[c.offset+c.levels].Add(1)
			default:
				b.counts[c.offset+code].Add(1)
			}
		case c.indicator >= 0 && x[c.indicator] == 1:
			b.counts[c.offset+c.bins].Add(1)
		case c.bins > 0:
			b.counts[c.offset+drift.Bin(c.edges, v)].Add(1)
		}
	}
	b.counts[d.width-d.classes+class].Add(1)
}

// Report is the drift of the window ending now.
type Report struct {
	// Rows counted in the window.
	Rows uint64
	// PSI per feature, in the model's feature order; NaN for a numeric
	// column of a tabular model trained without a baseline.
	PSI []float64
	// MissingLive is each feature's share of missing values in the
	// window, MissingTraining on the training rows.
	MissingLive, MissingTraining []float64
	// ClassPSI compares the predicted class mix with the one on the
	// training rows; LiveShare and TrainingShare are those mixes.
	// TrainingShare is nil, and ClassPSI NaN, without a baseline.
	ClassPSI                 float64
	LiveShare, TrainingShare []float64
}

// Report sums the window's buckets and compares them with the training
// rows.
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
	classes := live[d.width-d.classes:]
	r := Report{PSI: make([]float64, len(d.cols)),
		MissingLive: make([]float64, len(d.cols)), MissingTraining: make([]float64, len(d.cols))}
	for _, c := range classes {
		r.Rows += c
	}
	for j, c := range d.cols {
		counts := live[c.offset : c.offset+c.bins+1]
		switch {
		case c.categorical:
			r.PSI[j] = drift.SharesPSI(c.shares, counts)
		case c.bins > 0:
			r.PSI[j] = drift.PSI(c.expected, counts[:c.bins])
		default:
			r.PSI[j] = math.NaN()
		}
		if r.Rows > 0 {
			r.MissingLive[j] = float64(counts[c.bins]) / float64(r.Rows)
		}
		r.MissingTraining[j] = c.trainingMissing
	}
	r.LiveShare = shares(classes)
	r.ClassPSI = math.NaN()
	if d.baseline != nil {
		r.ClassPSI = drift.PSI(d.baseline.PredictionCounts, classes)
		r.TrainingShare = shares(d.baseline.PredictionCounts)
	}
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
