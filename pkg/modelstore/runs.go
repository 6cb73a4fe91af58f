package modelstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// RunKey names a stored run record.
type RunKey struct {
	Model string
	ID    string
}

// PutRunOptions say how a run record is written.
type PutRunOptions struct {
	// First marks a run's first record: the store also indexes its id,
	// so FindRun finds it without knowing its model.
	First bool
	// IfMatch replaces the record only if it still has this ETag (as
	// GetRunTagged read it): ErrConflict otherwise.
	IfMatch string
}

// PutRun writes a run record (runs/<model>/<id>.json), replacing an older
// state of the same run.
func (s *Store) PutRun(ctx context.Context, model, id string, record []byte, opts PutRunOptions) error {
	if err := checkNames(model, id); err != nil {
		return err
	}
	if opts.First {
		b, err := json.Marshal(runIndex{Model: model})
		if err != nil {
			return fmt.Errorf("encode run index: %w", err)
		}
		_, err = s.put(ctx, runIndexKey(id), b, PutOptions{ContentType: "application/json"})
		if err != nil {
			return err
		}
	}
	_, err := s.put(ctx, runKey(model, id), record, PutOptions{ContentType: "application/json", IfMatch: opts.IfMatch})
	return err
}

// GetRunTagged reads a run record and its ETag, for a compare-and-swap
// write (PutRunOptions.IfMatch).
func (s *Store) GetRunTagged(ctx context.Context, model, id string) ([]byte, string, error) {
	if err := checkNames(model, id); err != nil {
		return nil, "", err
	}
	return s.get(ctx, runKey(model, id), GetOptions{})
}

// runIndex is the document at index/runs/<id>.json.
type runIndex struct {
	Model string `json:"model"`
}

// GetRun reads a run record.
func (s *Store) GetRun(ctx context.Context, model, id string) ([]byte, error) {
	if err := checkNames(model, id); err != nil {
		return nil, err
	}
	b, _, err := s.get(ctx, runKey(model, id), GetOptions{})
	return b, err
}

// FindRun reads a run record by id alone, through the run index; a run
// recorded before the index existed is found by listing.
func (s *Store) FindRun(ctx context.Context, id string) (string, []byte, error) {
	if err := checkVersion(id); err != nil {
		return "", nil, err
	}
	model := ""
	b, _, err := s.get(ctx, runIndexKey(id), GetOptions{})
	switch {
	case err == nil:
		var ix runIndex
		if err := json.Unmarshal(b, &ix); err != nil || !ValidName(ix.Model) {
			return "", nil, errorf(ErrIntegrity, "read", runIndexKey(id), "not a run index: %q", b)
		}
		model = ix.Model
	case errors.Is(err, ErrNotFound):
		keys, err := s.ListRuns(ctx, "")
		if err != nil {
			return "", nil, err
		}
		i := slices.IndexFunc(keys, func(k RunKey) bool { return k.ID == id })
		if i < 0 {
			return "", nil, errorf(ErrNotFound, "find run", id, "no run has this id")
		}
		model = keys[i].Model
	default:
		return "", nil, err
	}
	b, err = s.GetRun(ctx, model, id)
	return model, b, err
}

// ListRuns returns the keys of a model's runs, or with model "" of every
// model's, newest first. One listing serves all models.
func (s *Store) ListRuns(ctx context.Context, model string) ([]RunKey, error) {
	prefix := "runs/"
	if model != "" {
		if err := checkName("model", model); err != nil {
			return nil, err
		}
		prefix = runPrefix(model)
	}
	objs, err := s.list(ctx, prefix, ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]RunKey, 0, len(objs))
	for _, o := range objs {
		m, file, ok := strings.Cut(strings.TrimPrefix(o.Key, "runs/"), "/")
		id, isJSON := strings.CutSuffix(file, ".json")
		if ok && isJSON && ValidName(m) && ValidVersion(id) {
			out = append(out, RunKey{Model: m, ID: id})
		}
	}
	slices.SortFunc(out, func(a, b RunKey) int {
		if c := strings.Compare(b.ID, a.ID); c != 0 {
			return c
		}
		return strings.Compare(a.Model, b.Model)
	})
	return out, nil
}

// readParallelism is the default bound on the reads GetRuns has in
// flight: a page of runs then costs about one round trip per 16 records.
const readParallelism = 16

// GetRuns reads many run records at once. A record deleted since it was
// listed comes back nil; any other failure fails the call.
func (s *Store) GetRuns(ctx context.Context, keys []RunKey) ([][]byte, error) {
	out := make([][]byte, len(keys))
	errs := make([]error, len(keys))
	sem := make(chan struct{}, s.readParallelism)
	var wg sync.WaitGroup
	for i, k := range keys {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			b, err := s.GetRun(ctx, k.Model, k.ID)
			if !errors.Is(err, ErrNotFound) {
				out[i], errs[i] = b, err
			}
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// ListRunModels returns the models that have run records, sorted.
func (s *Store) ListRunModels(ctx context.Context) ([]string, error) {
	return s.listNames(ctx, "runs/")
}
