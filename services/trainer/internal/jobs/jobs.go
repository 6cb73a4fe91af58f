// Package jobs is the trainer's run queue: runs of one model go one at a
// time, runs of different models up to a parallelism bound, the queue is
// bounded, and shutdown fails what waits and gives what runs until a
// deadline. Each run's states are saved through the registry; the work
// itself is the pipeline's.
package jobs

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/modelferry/modelferry/pkg/errcode"
	"github.com/modelferry/modelferry/services/trainer/internal/pipeline"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

// Errors of Admit, Submit and Cancel.
var (
	ErrQueueFull    = errors.New("training queue is full")
	ErrShuttingDown = errors.New("trainer is shutting down")
	// ErrNotLive is a run this process is not working on: finished, or
	// never its own.
	ErrNotLive = errors.New("run is not queued or running in this trainer")
	// ErrCommitted is a run past the point where its end was decided: it
	// is publishing its version and finishes whole.
	ErrCommitted = errors.New("run has already finished training and is publishing its version")
)

// Job is a run in this process: its live record and its input.
type Job struct {
	mu   sync.Mutex
	run  registry.Run
	src  pipeline.Source
	done chan struct{}
	// cancel stops the running work; cancelled says a user asked;
	// committed says the work has passed the point where a cancel could
	// still stop it (see commit). Only one of cancelled and committed is
	// ever set.
	cancel    context.CancelFunc
	cancelled bool
	committed bool
}

// commit is the work's one decision of how the run ends: it fails when a
// cancel came first, else no cancel will be taken from here on.
func (j *Job) commit() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.cancelled {
		return context.Canceled
	}
	j.committed = true
	return nil
}

// Snapshot returns a copy of the run record.
func (j *Job) Snapshot() registry.Run {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.run.Clone()
}

// Done is closed when the run is terminal.
func (j *Job) Done() <-chan struct{} { return j.done }

func (j *Job) update(f func(*registry.Run)) {
	j.mu.Lock()
	defer j.mu.Unlock()
	f(&j.run)
}

// Saver records runs; *registry.Registry has it.
type Saver interface {
	SaveRun(ctx context.Context, run registry.Run, opts registry.SaveOptions) error
}

// Work runs the pipeline of one run; update applies changes to its live
// record; commit is pipeline.Input.Commit. The service passes a closure
// over pipeline.Run; the queue's tests pass a work they hold and release
// (gatedWork), so admission, ordering, cancel and shutdown are tested
// without fitting a model. The queue knows of the pipeline only its
// Source and how its errors read.
type Work func(ctx context.Context, run registry.Run, src pipeline.Source, update func(func(*registry.Run)), commit func() error) error

// Config configures a Queue.
type Config struct {
	Saver  Saver
	Work   Work
	Logger *slog.Logger
	// Metrics receive run counts and durations.
	Metrics *Metrics
	// MaxQueued bounds the runs waiting across all models.
	MaxQueued int
	// RunTimeout bounds one run's work; 0 means no bound.
	RunTimeout time.Duration
	// Parallel bounds the runs training at once across models; runs of one
	// model always go one at a time.
	Parallel int
	Now      func() time.Time
}

// Queue queues and executes runs.
type Queue struct {
	cfg   Config
	slots chan struct{}

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
	// submit orders a model's submissions: positions are given and runs
	// queued in one order, even while their first records are written.
	submit  sync.Mutex
	pending []*Job
	// running is whether a drain goroutine serves the queue; active,
	// whether a run of it has left pending and not yet ended.
	running bool
	active  bool
}

// maxRemembered bounds the finished jobs kept in memory; older ones are
// read back from storage.
const maxRemembered = 1000

// finalSaveTimeout bounds the recording of a run's end when no other
// deadline applies.
const finalSaveTimeout = 10 * time.Second

// New returns a Queue ready to accept runs.
func New(cfg Config) *Queue {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Parallel = max(cfg.Parallel, 1)
	ctx, cancel := context.WithCancel(context.Background())
	return &Queue{
		cfg: cfg, slots: make(chan struct{}, cfg.Parallel),
		runCtx: ctx, cancelRun: cancel,
		models: map[string]*modelQueue{}, jobs: map[string]*Job{},
	}
}

// Ticket is a place in the queue, taken before a request's body is read
// so that a full queue refuses at once. Submit uses it; Release gives it
// back when the request fails before.
type Ticket struct {
	q    *Queue
	once sync.Once
}

// Release gives the place back; after Submit it does nothing.
func (t *Ticket) Release() {
	t.once.Do(func() {
		t.q.mu.Lock()
		defer t.q.mu.Unlock()
		t.q.queued--
	})
}

// Admit takes a place in the queue, or fails with ErrQueueFull or
// ErrShuttingDown.
func (q *Queue) Admit() (*Ticket, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.closed:
		return nil, ErrShuttingDown
	case q.queued >= q.cfg.MaxQueued:
		return nil, ErrQueueFull
	}
	q.queued++
	return &Ticket{q: q}, nil
}

// Submit records run (queued: ID, Model, Params, Label set) and schedules
// it in the place t holds. The source is released when the run ends, or
// at once if Submit fails.
func (q *Queue) Submit(ctx context.Context, t *Ticket, run registry.Run, src pipeline.Source) (*Job, error) {
	run.Status = registry.StatusQueued
	run.Progress = &registry.Progress{Stage: registry.StageQueued}
	j := &Job{run: run, src: src, done: make(chan struct{})}
	fail := func(err error) (*Job, error) {
		t.Release()
		src.Release()
		return nil, err
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return fail(ErrShuttingDown)
	}
	mq := q.models[run.Model]
	if mq == nil {
		mq = &modelQueue{}
		q.models[run.Model] = mq
	}
	q.mu.Unlock()

	mq.submit.Lock()
	defer mq.submit.Unlock()
	q.mu.Lock()
	ahead := len(mq.pending)
	if mq.active {
		ahead++
	}
	j.run.QueuePosition = ahead
	// Known in memory before its record exists, so recovery never
	// mistakes it for a run of a dead process.
	q.jobs[run.ID] = j
	q.mu.Unlock()

	// Recorded before it is scheduled: a run that cannot be recorded does
	// not run.
	err := q.cfg.Saver.SaveRun(ctx, j.Snapshot(), registry.SaveOptions{First: true})
	q.mu.Lock()
	recorded := err == nil
	if recorded && q.closed {
		err = ErrShuttingDown
	}
	if err != nil {
		delete(q.jobs, run.ID)
		q.mu.Unlock()
		if !recorded {
			return fail(err)
		}
		// Its queued record must not outlive this answer.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalSaveTimeout)
		defer cancel()
		q.finish(sctx, j, registry.StatusFailed, errcode.Unavailable, "the trainer shut down before the run started")
		t.Release()
		return nil, err
	}
	t.once.Do(func() {}) // the place is the run's now
	q.remember(j)
	mq.pending = append(mq.pending, j)
	if !mq.running {
		mq.running = true
		q.wg.Add(1)
		go q.drain(mq)
	} else {
		// The position counted before the record was saved is stale if
		// the queue moved on meanwhile.
		renumber(mq)
	}
	q.mu.Unlock()
	return j, nil
}

// remember keeps j for Get, forgetting the oldest finished jobs beyond
// maxRemembered. Called with q.mu held.
func (q *Queue) remember(j *Job) {
	q.jobs[j.run.ID] = j
	q.ordered = append(q.ordered, j.run.ID)
	for len(q.ordered) > maxRemembered {
		old := q.jobs[q.ordered[0]]
		select {
		case <-old.done:
			delete(q.jobs, q.ordered[0])
			q.ordered = q.ordered[1:]
		default:
			return // the oldest is still active; keep everything
		}
	}
}

// renumber gives the runs waiting in mq their positions: the running one
// is ahead of them all. Called with q.mu held.
func renumber(mq *modelQueue) {
	for i, rest := range mq.pending {
		rest.update(func(r *registry.Run) { r.QueuePosition = i + 1 })
	}
}

// Cancel stops a run of this process: a queued one leaves the queue, a
// running one stops at its next iteration or load chunk. It returns once
// the run has ended, or ctx did; ErrNotLive when the run is not queued or
// running here; ErrCommitted when it is publishing its version, which it
// then finishes whole.
func (q *Queue) Cancel(ctx context.Context, id string) (registry.Run, error) {
	q.mu.Lock()
	j, ok := q.jobs[id]
	if !ok {
		q.mu.Unlock()
		return registry.Run{}, ErrNotLive
	}
	select {
	case <-j.done:
		q.mu.Unlock()
		return j.Snapshot(), ErrNotLive
	default:
	}
	if mq := q.models[j.Snapshot().Model]; mq != nil {
		if i := slices.Index(mq.pending, j); i >= 0 {
			mq.pending = slices.Delete(mq.pending, i, i+1)
			renumber(mq)
			q.queued--
			q.mu.Unlock()
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalSaveTimeout)
			defer cancel()
			q.finish(sctx, j, registry.StatusCancelled, errcode.Cancelled, "cancelled before it started")
			close(j.done)
			return j.Snapshot(), nil
		}
	}
	q.mu.Unlock()
	j.mu.Lock()
	if j.committed {
		j.mu.Unlock()
		return j.Snapshot(), ErrCommitted
	}
	j.cancelled = true
	stop := j.cancel
	j.mu.Unlock()
	if stop != nil {
		stop()
	}
	select {
	case <-j.done:
		return j.Snapshot(), nil
	case <-ctx.Done():
		return j.Snapshot(), ctx.Err()
	}
}

// Get returns a job of this process.
func (q *Queue) Get(id string) (*Job, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	j, ok := q.jobs[id]
	return j, ok
}

// Live returns the live record of a run of this process.
func (q *Queue) Live(id string) (registry.Run, bool) {
	j, ok := q.Get(id)
	if !ok {
		return registry.Run{}, false
	}
	return j.Snapshot(), true
}

// Shutdown stops accepting runs and fails the queued ones, lets running
// ones finish until ctx is done, then cancels them; each is recorded as
// failed.
func (q *Queue) Shutdown(ctx context.Context) {
	q.mu.Lock()
	q.closed = true
	var abandoned []*Job
	for _, mq := range q.models {
		abandoned = append(abandoned, mq.pending...)
		mq.pending = nil
	}
	q.queued -= len(abandoned)
	q.mu.Unlock()
	var wg sync.WaitGroup
	for _, j := range abandoned {
		wg.Go(func() {
			q.abandon(ctx, j, "the trainer shut down before the run started")
			close(j.done)
		})
	}
	wg.Wait()
	finished := make(chan struct{})
	go func() { q.wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-ctx.Done():
		q.cfg.Logger.Warn("shutdown deadline reached; cancelling running trainings")
		q.cancelRun()
		<-finished
	}
	q.cancelRun()
}
