package pipeline

import (
	"runtime"
	"sync"

	"github.com/modelferry/modelferry/pkg/artifact/artifactpb"
	"github.com/modelferry/modelferry/pkg/logreg"
	"github.com/modelferry/modelferry/pkg/tabular"
)

// tableBaseline is baseline for a table as it came: each numeric column's
// quantile bins over its training values, the missing ones left out (the
// column transform binned them before imputing); for a categorical column
// an empty entry, its training shares being the transform's; the class
// mixes of the labels and of the model's predictions, as for numbers. It
// reads the prepared rows in place, one packed row per core at a time.
func tableBaseline(p *tabular.Prepared, model *logreg.Compiled) *artifactpb.Baseline {
	dense, nc, classes := p.Encoder.Dense(), p.Encoder.Codes(), len(p.Classes)
	parts := make([]*tally, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for k := range parts {
		parts[k] = newTally(nil, classes)
		lo, hi := p.Rows*k/len(parts), p.Rows*(k+1)/len(parts)
		wg.Go(func() {
			t := parts[k]
			row, out := make([]float64, dense+nc), make([]float64, classes)
			packed := logreg.Packed{Compiled: model}
			for i := lo; i < hi; i++ {
				copy(row, p.X[i*dense:(i+1)*dense])
				for j, c := range p.Codes[i*nc : (i+1)*nc] {
					row[dense+j] = float64(c)
				}
				t.labels[p.Y[i]]++
				t.predictions[packed.PredictProba(row, out)]++
			}
		})
	}
	wg.Wait()
	total := parts[0]
	for _, t := range parts[1:] {
		total.add(t)
	}
	b := &artifactpb.Baseline{Rows: uint64(p.Rows), LabelCounts: total.labels, PredictionCounts: total.predictions}
	for j := range p.Transform.Columns {
		b.Features = append(b.Features, &artifactpb.FeatureBaseline{Edges: p.Edges[j], Counts: p.Counts[j]})
	}
	return b
}
