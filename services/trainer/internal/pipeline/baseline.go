package pipeline

import (
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/modelferry/modelferry/pkg/artifact/artifactpb"
	"github.com/modelferry/modelferry/pkg/dataset"
	"github.com/modelferry/modelferry/pkg/drift"
	"github.com/modelferry/modelferry/pkg/logreg"
)

// baselineSample is how many rows, evenly spaced, the bin edges come from.
const baselineSample = 20_000

// baseline describes the training rows for drift monitoring: each
// feature's quantile bins and counts, the labels' class mix and the
// model's predicted class mix on the same rows. It reads X twice: a sample
// of rows sets the edges, then every row is counted.
func baseline(train *dataset.Dataset, classes int, model *logreg.Compiled) *artifactpb.Baseline {
	rows, f := train.Rows(), len(train.Features)
	step := max(1, (rows+baselineSample-1)/baselineSample)
	// One column of the sample at a time, sorted in one buffer: the run's
	// matrix is live, so what is allocated here adds to the trainer's peak.
	column := make([]float64, 0, (rows+step-1)/step)
	edges := make([][]float64, f)
	for j := range f {
		column = column[:0]
		for i := 0; i < rows; i += step {
			if v := train.X[i*f+j]; !math.IsNaN(v) {
				column = append(column, v)
			}
		}
		slices.Sort(column)
		edges[j] = drift.SortedEdges(column, drift.DefaultBins)
	}
	// Counting is split over the cores by row ranges; sums of counts come
	// out the same whatever the split.
	parts := make([]*tally, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for p := range parts {
		parts[p] = newTally(edges, classes)
		lo, hi := rows*p/len(parts), rows*(p+1)/len(parts)
		wg.Go(func() { parts[p].count(train, lo, hi, model) })
	}
	wg.Wait()
	total := parts[0]
	for _, t := range parts[1:] {
		total.add(t)
	}
	b := &artifactpb.Baseline{Rows: uint64(rows), LabelCounts: total.labels, PredictionCounts: total.predictions}
	for j := range f {
		b.Features = append(b.Features, &artifactpb.FeatureBaseline{Edges: edges[j], Counts: total.features(j)})
	}
	return b
}

// tally counts rows into bins and classes. The bins of every feature are
// in one slice, feature j's from offsets[j]: counting is the inner loop
// over every training value.
type tally struct {
	edges               [][]float64
	offsets             []int
	bins                []uint64
	labels, predictions []uint64
}

func newTally(edges [][]float64, classes int) *tally {
	t := &tally{edges: edges, offsets: make([]int, len(edges)+1),
		labels: make([]uint64, classes), predictions: make([]uint64, classes)}
	for j, e := range edges {
		t.offsets[j+1] = t.offsets[j] + len(e) + 1
	}
	t.bins = make([]uint64, t.offsets[len(edges)])
	return t
}

func (t *tally) count(d *dataset.Dataset, lo, hi int, model *logreg.Compiled) {
	for i := lo; i < hi; i++ {
		row := d.Row(i)
		for j, v := range row {
			t.bins[t.offsets[j]+drift.Bin(t.edges[j], v)]++
		}
		t.labels[d.Y[i]]++
		t.predictions[model.Predict(row)]++
	}
}

func (t *tally) add(o *tally) {
	for k, n := range o.bins {
		t.bins[k] += n
	}
	for k := range t.labels {
		t.labels[k] += o.labels[k]
		t.predictions[k] += o.predictions[k]
	}
}

// features returns feature j's counts, one per bin.
func (t *tally) features(j int) []uint64 { return t.bins[t.offsets[j]:t.offsets[j+1]:t.offsets[j+1]] }
