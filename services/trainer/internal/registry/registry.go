// Package registry is the trainer's model registry: the documents it keeps
// (runs, parameters, version records, the quality gate), run persistence
// and recovery, the rules that move aliases (compare-and-swap, promotion
// through the gate, verified promote and rollback), and the read models
// the API serves. It is written against Storage, which it declares;
// *modelstore.Store implements it over S3 or memory.
package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/modelferry/modelferry/pkg/errcode"
	"github.com/modelferry/modelferry/pkg/modelstore"
)

// Storage is what the registry needs of the model store.
type Storage interface {
	PutRun(ctx context.Context, model, id string, record []byte, opts modelstore.PutRunOptions) error
	FindRun(ctx context.Context, id string) (model string, record []byte, err error)
	GetRunTagged(ctx context.Context, model, id string) (record []byte, etag string, err error)
	ListRuns(ctx context.Context, model string) ([]modelstore.RunKey, error)
	GetRuns(ctx context.Context, keys []modelstore.RunKey) ([][]byte, error)

	Publish(ctx context.Context, model, version string, artifact, record []byte) (modelstore.Ref, error)
	AssignNumber(ctx context.Context, model, version string) (int, error)
	VersionOfNumber(ctx context.Context, model string, n int) (string, error)
	Unpublish(ctx context.Context, model, version string) error
	ReadArtifact(ctx context.Context, model, version, wantSHA string) ([]byte, error)
	ReadRecord(ctx context.Context, model, version string) ([]byte, error)
	ListVersions(ctx context.Context, model string) ([]string, error)
	DeleteIncompleteVersions(ctx context.Context, model string, before time.Time) ([]string, error)
	DeleteIncompleteVersion(ctx context.Context, model, version string) (bool, error)
	ListModels(ctx context.Context) ([]string, error)
	ListDatasets(ctx context.Context) ([]modelstore.Dataset, error)

	GetAlias(ctx context.Context, model, alias string) (modelstore.Alias, string, error)
	ListAliases(ctx context.Context, model string) (map[string]modelstore.Alias, error)
	SetAlias(ctx context.Context, alias string, ref modelstore.Ref, opts modelstore.SetAliasOptions) (modelstore.AliasMove, error)
}

// Config configures a Registry.
type Config struct {
	Storage Storage
	Logger  *slog.Logger
	Gate    Gate
	// Live returns the in-memory state of a run this process is working
	// on, fresher than its stored record; nil means none.
	Live func(id string) (Run, bool)
	Now  func() time.Time
}

// Registry keeps runs, versions and aliases.
type Registry struct {
	store Storage
	log   *slog.Logger
	gate  Gate
	live  func(id string) (Run, bool)
	now   func() time.Time
	cache *runCache
}

// cachedRuns bounds the finished runs kept in memory: about 2 KB each,
// their history left out.
const cachedRuns = 20_000

// New returns a Registry.
func New(cfg Config) *Registry {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Live == nil {
		cfg.Live = func(string) (Run, bool) { return Run{}, false }
	}
	return &Registry{store: cfg.Storage, log: cfg.Logger, gate: cfg.Gate, live: cfg.Live, now: cfg.Now,
		cache: newRunCache(cachedRuns)}
}

// SaveOptions say how a run record is saved.
type SaveOptions struct {
	// First is a run's first record: it is indexed by id too.
	First bool
	// Retry rides out a short storage outage (a few seconds): a run's
	// final state is worth the wait.
	Retry bool
}

// SaveRun stores a run record, bounded (see encodeRun).
func (r *Registry) SaveRun(ctx context.Context, run Run, opts SaveOptions) error {
	run, b, err := encodeRun(run)
	if err != nil {
		return err
	}
	err = r.store.PutRun(ctx, run.Model, run.ID, b, modelstore.PutRunOptions{First: opts.First})
	for wait := 200 * time.Millisecond; opts.Retry && errors.Is(err, modelstore.ErrUnavailable) && wait <= time.Second; wait *= 2 {
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		err = r.store.PutRun(ctx, run.Model, run.ID, b, modelstore.PutRunOptions{First: opts.First})
	}
	if err != nil {
		return fmt.Errorf("save run %s: %w", run.ID, err)
	}
	r.cache.put(run)
	return nil
}

// Run returns a run by id, with its history: this process's live state
// when it has one, else the stored record (the cache keeps runs without
// their history, for listings).
func (r *Registry) Run(ctx context.Context, id string) (Run, error) {
	if run, ok := r.liveRun(id); ok {
		return run, nil
	}
	_, b, err := r.store.FindRun(ctx, id)
	if err != nil {
		return Run{}, fmt.Errorf("run %s: %w", id, err)
	}
	run, err := decodeRun(id, b)
	if err == nil {
		r.cache.put(run)
	}
	return run, err
}

func decodeRun(id string, b []byte) (Run, error) {
	var run Run
	if err := json.Unmarshal(b, &run); err != nil {
		return Run{}, fmt.Errorf("decode run %s: %w", id, err)
	}
	return run, nil
}

// recoverWindow is how many of each model's newest runs RecoverInterrupted
// reads. Run ids sort by time and a process holds at most its queue and
// its running runs, so what a dead process left is among the newest.
const recoverWindow = 100

// RecoverInterrupted cleans up after a trainer process that died: it
// removes what its cut-short publishes left of versions made before
// startedAt, then marks failed the runs it left queued or running (among
// each model's newest recoverWindow, and not live in this process) and
// removes what their publishes left, whatever their versions' time says
// (a dead trainer's clock may run ahead). The sweep comes first and does
// not depend on the runs being readable. Call it once at start. A record
// it cannot read or write is logged and skipped.
func (r *Registry) RecoverInterrupted(ctx context.Context, startedAt time.Time) error {
	sweepErr := r.sweepIncompleteVersions(ctx, startedAt)
	keys, err := r.store.ListRuns(ctx, "")
	if err != nil {
		return errors.Join(sweepErr, fmt.Errorf("list runs: %w", err))
	}
	perModel := map[string]int{}
	var window []modelstore.RunKey
	for _, k := range keys {
		if perModel[k.Model] < recoverWindow {
			perModel[k.Model]++
			if _, live := r.live(k.ID); !live {
				window = append(window, k)
			}
		}
	}
	records, err := r.store.GetRuns(ctx, window)
	if err != nil {
		r.log.Warn("reading run records at start", "err", err)
	}
	for i, b := range records {
		if b == nil {
			continue
		}
		run, err := decodeRun(window[i].ID, b)
		if err != nil {
			r.log.Warn("reading a run record at start", "run", window[i].ID, "model", window[i].Model, "err", err)
			continue
		}
		if run.Status.Terminal() {
			r.cache.put(run) // the first listings after a start read no record again
			continue
		}
		// A run's version is its id: what its publish left goes first, so
		// that a failed run never has a record under versions/.
		if removed, err := r.store.DeleteIncompleteVersion(ctx, run.Model, run.ID); err != nil {
			r.log.Warn("removing an interrupted run's incomplete version", "run", run.ID, "model", run.Model, "err", err)
		} else if removed {
			r.log.Info("removed a version whose publish was cut short", "model", run.Model, "version", run.ID)
		}
		run.Fail(r.now(), errcode.Unavailable, "interrupted: the trainer stopped before the run finished")
		if err := r.SaveRun(ctx, run, SaveOptions{}); err != nil { // cached once saved
			r.log.Warn("recording an interrupted run", "run", run.ID, "model", run.Model, "err", err)
			continue
		}
		r.log.Info("marked interrupted run failed", "run", run.ID, "model", run.Model)
	}
	return sweepErr
}

// sweepIncompleteVersions removes the records without an artifact of
// every model's versions made before startedAt.
func (r *Registry) sweepIncompleteVersions(ctx context.Context, startedAt time.Time) error {
	models, err := r.store.ListModels(ctx)
	if err != nil {
		return fmt.Errorf("list models: %w", err)
	}
	for _, m := range models {
		removed, err := r.store.DeleteIncompleteVersions(ctx, m, startedAt)
		if err != nil {
			r.log.Warn("removing incomplete versions", "model", m, "err", err)
		}
		for _, v := range removed {
			r.log.Info("removed a version whose publish was cut short", "model", m, "version", v)
		}
	}
	return nil
}
