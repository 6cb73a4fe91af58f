package registry

import (
	"context"
	"fmt"

	"github.com/modelferry/modelferry/pkg/modelstore"
)

// RunQuery selects a page of runs, newest first.
type RunQuery struct {
	// Model limits the runs to one model; empty means every model.
	Model string
	// Status limits the runs to one state; empty means any.
	Status Status
	Limit  int
	// PageToken continues a listing where the previous page ended.
	PageToken string
}

// RunPage is a page of runs.
type RunPage struct {
	Runs []Run
	// NextPageToken continues the listing; empty on the last page.
	NextPageToken string
}

// maxScanned bounds the records one page reads while filtering by
// status; past it the page ends early with a token to go on.
const maxScanned = 2000

// Runs lists runs newest first: one listing of the run keys, then the
// records of the page read in parallel. Live runs of this process show
// their in-memory state.
func (r *Registry) Runs(ctx context.Context, q RunQuery) (RunPage, error) {
	keys, err := r.store.ListRuns(ctx, q.Model)
	if err != nil {
		return RunPage{}, fmt.Errorf("list runs: %w", err)
	}
	if q.PageToken != "" {
		if !modelstore.ValidVersion(q.PageToken) {
			return RunPage{}, fmt.Errorf("page token %q: %w", q.PageToken, modelstore.ErrInvalid)
		}
		i := 0
		for i < len(keys) && keys[i].ID >= q.PageToken {
			i++
		}
		keys = keys[i:]
	}
	page := RunPage{Runs: []Run{}}
	scanned := 0
	for len(keys) > 0 && len(page.Runs) < q.Limit {
		n := q.Limit - len(page.Runs)
		if q.Status != "" {
			n = max(n, 100) // filtering: read ahead in larger chunks
		}
		chunk := keys[:min(n, len(keys))]
		keys = keys[len(chunk):]
		records, err := r.store.GetRuns(ctx, chunk)
		if err != nil {
			return RunPage{}, fmt.Errorf("read runs: %w", err)
		}
		for i, b := range records {
			last := chunk[i].ID
			if b == nil {
				continue // deleted since it was listed
			}
			run, ok := r.live(chunk[i].ID)
			if !ok {
				if run, err = decodeRun(chunk[i].ID, b); err != nil {
					r.log.Warn("skipping an unreadable run record", "run", chunk[i].ID, "err", err)
					continue
				}
			}
			if q.Status != "" && run.Status != q.Status {
				continue
			}
			page.Runs = append(page.Runs, run)
			if len(page.Runs) == q.Limit {
				if i < len(records)-1 || len(keys) > 0 {
					page.NextPageToken = last
				}
				return page, nil
			}
		}
		scanned += len(chunk)
		if scanned >= maxScanned && len(keys) > 0 {
			page.NextPageToken = chunk[len(chunk)-1].ID
			return page, nil
		}
	}
	return page, nil
}
