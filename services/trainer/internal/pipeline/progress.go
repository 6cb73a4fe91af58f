package pipeline

import (
	"io"

	"github.com/modelferry/modelferry/pkg/logreg"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

// enter records that the run moved to stage s.
func (in Input) enter(s registry.Stage) {
	in.Update(func(r *registry.Run) {
		if r.Progress == nil {
			r.Progress = &registry.Progress{}
		}
		r.Progress.Stage = s
	})
}

// loadProgress reports the bytes of the dataset read so far.
func (in Input) loadProgress(read, total int64) {
	in.Update(func(r *registry.Run) {
		r.Progress = &registry.Progress{Stage: registry.StageLoading, BytesRead: read, BytesTotal: total}
	})
}

// fitProgress records a solver iteration in the progress and the history;
// it is called from the fitting goroutine only.
func (in Input) fitProgress(h *registry.History) func(logreg.Progress) {
	return func(p logreg.Progress) {
		in.Update(func(r *registry.Run) {
			r.Progress = &registry.Progress{Stage: registry.StageFitting, Iteration: p.Iteration, Loss: p.Loss, GradNorm: p.GradNorm}
			// Added under the run's lock: readers copy the record while
			// holding it.
			h.Add(registry.HistoryPoint{Iteration: p.Iteration, Loss: p.Loss, GradNorm: p.GradNorm})
			r.History = h.Kept()
		})
	}
}

// countingReader reports the bytes read through it.
type countingReader struct {
	r      io.Reader
	n      int64
	total  int64
	report func(read, total int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.n += int64(n)
		c.report(c.n, c.total)
	}
	return n, err
}
