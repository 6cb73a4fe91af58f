package training

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/modelferry/modelferry/pkg/dataset"
	"github.com/modelferry/modelferry/pkg/logreg"
	"github.com/modelferry/modelferry/pkg/modelstore"
)

// Errors of Submit.
var (
	ErrQueueFull    = errors.New("training queue is full")
	ErrShuttingDown = errors.New("trainer is shutting down")
)

// Error codes of failed runs; the API maps them to HTTP statuses.
const (
	codeInvalid     = "invalid_argument"
	codeNotFound    = "not_found"
	codeUnavailable = "unavailable"
	codeInternal    = "internal"
)

// Job is a run in this process: its record and its input.
type Job struct {
	mu   sync.Mutex
	run  Run
	src  Source
	done chan struct{}
}

// Snapshot returns a copy of the run record.
func (j *Job) Snapshot() Run {
	j.mu.Lock()
	defer j.mu.Unlock()
	r := j.run
	if r.Progress != nil {
		p := *r.Progress
		r.Progress = &p
	}
	return r
}

// Done is closed when the run is terminal.
func (j *Job) Done() <-chan struct{} { return j.done }

func (j *Job) update(f func(*Run)) {
	j.mu.Lock()
	defer j.mu.Unlock()
	f(&j.run)
}

// Config configures a Manager.
type Config struct {
	Store  *modelstore.Store
	Logger *slog.Logger
	// Metrics receive run counts and durations.
	Metrics *Metrics
	Gate    Gate
	// MaxQueued bounds the runs waiting across all models.
	MaxQueued int
	// Parallel bounds the runs training at once across models; runs of one
	// model always go one at a time.
	Parallel       int
	TrainerVersion string
	Now            func() time.Time
}

// Manager queues and executes runs.
type Manager struct {
	store          *modelstore.Store
	logger         *slog.Logger
	metrics        *Metrics
	gate           Gate
	maxQueued      int
	trainerVersion string
	now            func() time.Time
	slots          chan struct{}

	// runCtx is cancelled when shutdown gives up waiting for runs.
	runCtx    context.Context
	cancelRun context.CancelFunc
	wg        sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	queued  int
	models  map[string]*modelQueue
	jobs    map[string]*Job // every job of this process, by run id
	ordered []string        // job ids, oldest first, for pruning
}

type modelQueue struct {
	pending []*Job
	running bool
}

// maxRemembered bounds the finished jobs kept in memory; older ones are
// read back from S3.
const maxRemembered = 1000

// NewManager returns a Manager ready to accept runs.
func NewManager(cfg Config) *Manager {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Parallel < 1 {
		cfg.Parallel = 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{
		store: cfg.Store, logger: cfg.Logger, metrics: cfg.Metrics, gate: cfg.Gate,
		maxQueued: cfg.MaxQueued, trainerVersion: cfg.TrainerVersion, now: cfg.Now,
		slots:  make(chan struct{}, cfg.Parallel),
		runCtx: ctx, cancelRun: cancel,
		models: map[string]*modelQueue{},
		jobs:   map[string]*Job{},
	}
}

// Submit records a new run as queued in S3 and schedules it. The source
// is released when the run ends, or at once if Submit fails.
func (m *Manager) Submit(ctx context.Context, model string, p Params, label string, src Source) (*Job, error) {
	now := m.now()
	j := &Job{
		run: Run{ID: modelstore.NewVersion(now), Model: model, Status: StatusQueued, Params: p, Label: label,
			TrainerVersion: m.trainerVersion, CreatedAt: now},
		src:  src,
		done: make(chan struct{}),
	}
	if src.Path == "" {
		j.run.Dataset.URI = src.Ref
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		src.Release()
		return nil, ErrShuttingDown
	}
	if m.queued >= m.maxQueued {
		m.mu.Unlock()
		src.Release()
		return nil, ErrQueueFull
	}
	q := m.models[model]
	if q == nil {
		q = &modelQueue{}
		m.models[model] = q
	}
	ahead := len(q.pending)
	if q.running {
		ahead++
	}
	j.run.QueuePosition = ahead
	m.queued++
	// Known in memory before its record exists, so RecoverInterrupted
	// never mistakes it for a run of a dead process.
	m.jobs[j.run.ID] = j
	m.mu.Unlock()

	// Recorded before it is scheduled: a run that cannot be recorded does
	// not run.
	err := m.putRun(ctx, j.Snapshot())
	m.mu.Lock()
	defer m.mu.Unlock()
	recorded := err == nil
	if recorded && m.closed {
		err = ErrShuttingDown
	}
	if err != nil {
		delete(m.jobs, j.run.ID)
		m.queued--
		if recorded {
			// Its queued record must not outlive this answer.
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalSaveTimeout)
			defer cancel()
			m.abandon(sctx, j, "the trainer shut down before the run started")
		} else {
			src.Release()
		}
		return nil, err
	}
	m.remember(j)
	q.pending = append(q.pending, j)
	if !q.running {
		q.running = true
		m.wg.Add(1)
		go m.drain(model, q)
	}
	return j, nil
}

// remember keeps j for Get, forgetting the oldest finished jobs beyond
// maxRemembered. Called with m.mu held.
func (m *Manager) remember(j *Job) {
	m.jobs[j.run.ID] = j
	m.ordered = append(m.ordered, j.run.ID)
	for len(m.ordered) > maxRemembered {
		old := m.jobs[m.ordered[0]]
		select {
		case <-old.done:
			delete(m.jobs, m.ordered[0])
			m.ordered = m.ordered[1:]
		default:
			return // the oldest is still active; keep everything
		}
	}
}

// drain runs a model's queue one job at a time until it is empty.
func (m *Manager) drain(model string, q *modelQueue) {
	defer m.wg.Done()
	for {
		m.mu.Lock()
		if len(q.pending) == 0 {
			q.running = false
			m.mu.Unlock()
			return
		}
		j := q.pending[0]
		q.pending = q.pending[1:]
		for i, rest := range q.pending {
			rest.update(func(r *Run) { r.QueuePosition = i + 1 })
		}
		m.mu.Unlock()

		acquired := false
		select {
		case m.slots <- struct{}{}:
			acquired = true
		case <-m.runCtx.Done():
		}
		m.mu.Lock()
		m.queued--
		closed := m.closed
		m.mu.Unlock()
		if closed {
			sctx, cancel := context.WithTimeout(context.Background(), finalSaveTimeout)
			m.abandon(sctx, j, "the trainer shut down before the run started")
			cancel()
		} else {
			m.execute(m.runCtx, j)
		}
		if acquired {
			<-m.slots
		}
		close(j.done)
	}
}

// abandon fails a queued run that will never start, recording it within
// ctx.
func (m *Manager) abandon(ctx context.Context, j *Job, why string) {
	now := m.now()
	j.src.Release()
	j.update(func(r *Run) {
		r.Status = StatusFailed
		r.Error = &RunError{Code: codeUnavailable, Message: why}
		r.FinishedAt = &now
		r.QueuePosition = 0
	})
	m.metrics.runs.WithLabelValues(j.run.Model, StatusFailed).Inc()
	m.saveRun(ctx, j)
}

// finalSaveTimeout bounds the recording of a run's end when no other
// deadline applies.
const finalSaveTimeout = 10 * time.Second

// Get returns a job of this process.
func (m *Manager) Get(id string) (*Job, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j, ok := m.jobs[id]
	return j, ok
}

// Shutdown stops accepting runs and fails the queued ones, lets running
// ones finish until ctx is done, then cancels them; each is recorded as
// failed.
func (m *Manager) Shutdown(ctx context.Context) {
	m.mu.Lock()
	m.closed = true
	var abandoned []*Job
	for _, q := range m.models {
		abandoned = append(abandoned, q.pending...)
		q.pending = nil
	}
	m.queued -= len(abandoned)
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, j := range abandoned {
		wg.Go(func() {
			m.abandon(ctx, j, "the trainer shut down before the run started")
			close(j.done)
		})
	}
	wg.Wait()
	finished := make(chan struct{})
	go func() { m.wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-ctx.Done():
		m.logger.Warn("shutdown deadline reached; cancelling running trainings")
		m.cancelRun()
		<-finished
	}
	m.cancelRun()
}

// saveRun writes j's record, retrying: a run's final state is worth a few
// seconds' wait for S3.
func (m *Manager) saveRun(ctx context.Context, j *Job) {
	run := j.Snapshot()
	err := m.putRun(ctx, run)
	for wait := 200 * time.Millisecond; errors.Is(err, modelstore.ErrUnavailable) && wait <= time.Second; wait *= 2 {
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		if ctx.Err() != nil {
			break
		}
		err = m.putRun(ctx, run)
	}
	if err != nil {
		m.logger.Error("recording run", "run", run.ID, "status", run.Status, "err", err)
	}
}

func (m *Manager) putRun(ctx context.Context, r Run) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode run: %w", err)
	}
	return m.store.PutRun(ctx, r.Model, r.ID, b)
}

// recoverWindow is how many of each model's newest runs RecoverInterrupted
// reads. Run ids sort by time and a process holds at most its queue and
// its running runs, so what a dead process left is among the newest.
const recoverWindow = 100

// RecoverInterrupted marks failed the runs a previous trainer process left
// queued or running, among each model's newest recoverWindow runs. Call it
// once at start. A record it cannot read or write is logged and skipped.
func (m *Manager) RecoverInterrupted(ctx context.Context) error {
	models, err := m.store.ListRunModels(ctx)
	if err != nil {
		return fmt.Errorf("list runs: %w", err)
	}
	for _, model := range models {
		ids, err := m.store.ListRuns(ctx, model)
		if err != nil {
			return fmt.Errorf("list runs of %s: %w", model, err)
		}
		for _, id := range ids[:min(len(ids), recoverWindow)] {
			if _, ok := m.Get(id); ok {
				continue
			}
			r, err := m.LoadRun(ctx, model, id)
			if err != nil {
				m.logger.Warn("reading a run record at start", "run", id, "model", model, "err", err)
				continue
			}
			if r.Terminal() {
				continue
			}
			now := m.now()
			r.Status = StatusFailed
			r.Error = &RunError{Code: codeUnavailable, Message: "interrupted: the trainer stopped before the run finished"}
			r.FinishedAt = &now
			r.Progress = nil
			r.QueuePosition = 0
			if err := m.putRun(ctx, r); err != nil {
				m.logger.Warn("recording an interrupted run", "run", id, "model", model, "err", err)
				continue
			}
			m.logger.Info("marked interrupted run failed", "run", id, "model", model)
		}
	}
	return nil
}

// LoadRun reads a run record from S3.
func (m *Manager) LoadRun(ctx context.Context, model, id string) (Run, error) {
	b, err := m.store.GetRun(ctx, model, id)
	if err != nil {
		return Run{}, fmt.Errorf("read run %s/%s: %w", model, id, err)
	}
	var r Run
	if err := json.Unmarshal(b, &r); err != nil {
		return Run{}, fmt.Errorf("decode run %s/%s: %w", model, id, err)
	}
	return r, nil
}

// Lookup returns a run by id, from memory when this process has it, else
// from S3.
func (m *Manager) Lookup(ctx context.Context, model, id string) (Run, error) {
	if j, ok := m.Get(id); ok {
		r := j.Snapshot()
		if r.Model == model {
			return r, nil
		}
	}
	return m.LoadRun(ctx, model, id)
}

// runError turns a pipeline error into what the run record shows: input
// problems verbatim, infrastructure problems without internals.
func runError(err error) *RunError {
	switch {
	case errors.Is(err, dataset.ErrInvalid), errors.Is(err, logreg.ErrInvalidData):
		return &RunError{Code: codeInvalid, Message: userMessage(err)}
	case errors.Is(err, context.Canceled):
		return &RunError{Code: codeUnavailable, Message: "the trainer shut down before the run finished"}
	case errors.Is(err, errDatasetNotFound):
		return &RunError{Code: codeNotFound, Message: userMessage(err)}
	case errors.Is(err, errDatasetRef):
		return &RunError{Code: codeInvalid, Message: "invalid dataset reference: name an object in the bucket (datasets/x.csv) or s3://<bucket>/<key>"}
	case errors.Is(err, modelstore.ErrUnavailable):
		return &RunError{Code: codeUnavailable, Message: "model storage is unavailable; try again later"}
	case errors.Is(err, modelstore.ErrAccessDenied):
		return &RunError{Code: codeUnavailable, Message: "model storage refused the trainer's credentials"}
	}
	return &RunError{Code: codeInternal, Message: "internal error"}
}

// userMessage is the error as the failing stage reported it, without the
// stage's name.
func userMessage(err error) string {
	var se stageError
	if errors.As(err, &se) {
		return se.err.Error()
	}
	return err.Error()
}
