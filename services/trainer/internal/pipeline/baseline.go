package pipeline

import (
	"runtime"
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
// model's predicted class mix on the same rows. It reads X row by row,
// twice: once for a sample that sets the edges, once to count.
func baseline(train *dataset.Dataset, classes int, model *logreg.Compiled) *artifactpb.Baseline {
	rows, f := train.Rows(), len(train.Features)
	b := &artifactpb.Baseline{
		Rows:             uint64(rows),
		LabelCounts:      make([]uint64, classes),
		PredictionCounts: make([]uint64, classes),
	}
	step := max(1, rows/baselineSample)
	columns := make([][]float64, f)
	for i := 0; i < rows; i += step {
		for j, v := range train.Row(i) {
			columns[j] = append(columns[j], v)
		}
	}
	edges := make([][]float64, f)
	for j := range f {
		edges[j] = drift.Edges(columns[j], drift.DefaultBins)
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
	for j := range f {
		b.Features = append(b.Features, &artifactpb.FeatureBaseline{Edges: edges[j], Counts: total.features[j]})
	}
	b.LabelCounts, b.PredictionCounts = total.labels, total.predictions
	return b
}

// tally counts rows into bins and classes.
type tally struct {
	edges               [][]float64
	features            [][]uint64
	labels, predictions []uint64
}

func newTally(edges [][]float64, classes int) *tally {
	t := &tally{edges: edges, labels: make([]uint64, classes), predictions: make([]uint64, classes)}
	for _, e := range edges {
		t.features = append(t.features, make([]uint64, len(e)+1))
	}
	return t
}

func (t *tally) count(d *dataset.Dataset, lo, hi int, model *logreg.Compiled) {
	proba := make([]float64, len(t.labels))
	for i := lo; i < hi; i++ {
		row := d.Row(i)
		for j, v := range row {
			t.features[j][drift.Bin(t.edges[j], v)]++
		}
		t.labels[d.Y[i]]++
		t.predictions[model.PredictProba(row, proba)]++
	}
}

func (t *tally) add(o *tally) {
	for j := range t.features {
		for k := range t.features[j] {
			t.features[j][k] += o.features[j][k]
		}
	}
	for k := range t.labels {
		t.labels[k] += o.labels[k]
		t.predictions[k] += o.predictions[k]
	}
}
