package registry

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/modelferry/modelferry/pkg/modelstore"
)

// DatasetView is a content-addressed dataset in the bucket with what the
// runs that used it know of it.
type DatasetView struct {
	modelstore.Dataset
	// Rows, Features and Classes come from the newest run that used it;
	// empty when none did.
	Rows     int      `json:"rows,omitempty"`
	Features []string `json:"features,omitempty"`
	Classes  []string `json:"classes,omitempty"`
	// Filenames are the names it was uploaded under, newest first.
	Filenames []string `json:"filenames,omitempty"`
	// Runs are the ids of the runs that used it, newest first.
	Runs []string `json:"runs"`
}

// AllRuns returns every run, newest first. Finished runs come from memory
// once read, so this costs one listing and the reads of what is new.
func (r *Registry) AllRuns(ctx context.Context) ([]Run, error) {
	var all []Run
	q := RunQuery{Limit: 1 << 30}
	for {
		page, err := r.Runs(ctx, q)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Runs...)
		if page.NextPageToken == "" {
			return all, nil
		}
		q.PageToken = page.NextPageToken
	}
}

// Datasets lists the bucket's content-addressed datasets, the most
// recently used first, then the unused ones by hash.
func (r *Registry) Datasets(ctx context.Context) ([]DatasetView, error) {
	stored, err := r.store.ListDatasets(ctx)
	if err != nil {
		return nil, fmt.Errorf("list datasets: %w", err)
	}
	runs, err := r.AllRuns(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]DatasetView, len(stored))
	at := make(map[string]int, len(stored))
	for i, d := range stored {
		out[i] = DatasetView{Dataset: d, Runs: []string{}}
		at[d.SHA256] = i
	}
	lastUse := make([]string, len(stored))
	for _, run := range runs {
		i, ok := at[run.Dataset.SHA256]
		if !ok {
			continue
		}
		v := &out[i]
		if len(v.Runs) == 0 {
			v.Rows, v.Features, v.Classes = run.Dataset.Rows, run.Dataset.Features, run.Dataset.Classes
			lastUse[i] = run.ID
		}
		v.Runs = append(v.Runs, run.ID)
		if f := run.Dataset.Filename; f != "" && !slices.Contains(v.Filenames, f) {
			v.Filenames = append(v.Filenames, f)
		}
	}
	order := make([]int, len(out))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(lastUse[b], lastUse[a]) })
	sorted := make([]DatasetView, len(out))
	for i, j := range order {
		sorted[i] = out[j]
	}
	return sorted, nil
}
