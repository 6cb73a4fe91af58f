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
	// Match, when set, keeps only the runs it accepts (a search filter).
	Match func(*Run) bool
	Limit int
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
		if q.Status != "" || q.Match != nil {
			n = max(n, 100) // filtering: read ahead in larger chunks
		}
		chunk := keys[:min(n, len(keys))]
		keys = keys[len(chunk):]
		runs, err := r.readRuns(ctx, chunk)
		if err != nil {
			return RunPage{}, err
		}
		for i, run := range runs {
			if run == nil || (q.Status != "" && run.Status != q.Status) || (q.Match != nil && !q.Match(run)) {
				continue
			}
			page.Runs = append(page.Runs, *run)
			if len(page.Runs) == q.Limit {
				if i < len(runs)-1 || len(keys) > 0 {
					page.NextPageToken = chunk[i].ID
				}
				return page, nil
			}
		}
		scanned += len(chunk)
		if scanned >= q.scanBound() && len(keys) > 0 {
			page.NextPageToken = chunk[len(chunk)-1].ID
			return page, nil
		}
	}
	return page, nil
}

// readRuns returns the runs of keys, in order: live ones as this process
// has them, finished ones from the cache, the rest read in parallel. A
// run deleted since it was listed, or unreadable, is nil. The runs are
// read-only: cached ones are the cache's own.
func (r *Registry) readRuns(ctx context.Context, keys []modelstore.RunKey) ([]*Run, error) {
	out := make([]*Run, len(keys))
	var missing []modelstore.RunKey
	var at []int
	for i, k := range keys {
		if run, ok := r.liveRun(k.ID); ok {
			out[i] = &run
		} else if run, ok := r.cache.peek(k.ID); ok {
			out[i] = run // shared with the cache: read, never changed
		} else {
			missing = append(missing, k)
			at = append(at, i)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	records, err := r.store.GetRuns(ctx, missing)
	if err != nil {
		return nil, fmt.Errorf("read runs: %w", err)
	}
	for j, b := range records {
		if b == nil {
			continue
		}
		run, err := decodeRun(missing[j].ID, b)
		if err != nil {
			r.log.Warn("skipping an unreadable run record", "run", missing[j].ID, "err", err)
			continue
		}
		r.cache.put(run)
		out[at[j]] = &run
	}
	return out, nil
}
