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
	"sync"
	"time"

	"github.com/modelferry/modelferry/services/trainer/internal/pipeline"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

// Errors of Submit.
var (
	ErrQueueFull    = errors.New("training queue is full")
	ErrShuttingDown = errors.New("trainer is shutting down")
)

// Job is a run in this process: its live record and its input.
type Job struct {
	mu   sync.Mutex
	run  registry.Run
	src  pipeline.Source
	done chan struct{}
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
// record.
type Work func(ctx context.Context, run registry.Run, src pipeline.Source, update func(func(*registry.Run))) error

// Config configures a Queue.
type Config struct {
	Saver  Saver
	Work   Work
	Logger *slog.Logger
	// Metrics receive run counts and durations.
	Metrics *Metrics
	// MaxQueued bounds the runs waiting across all models.
	MaxQueued int
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
	pending []*Job
	running bool
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

// Submit records run (queued: ID, Model, Params, Label set) and schedules
// it. The source is released when the run ends, or at once if Submit
// fails.
func (q *Queue) Submit(ctx context.Context, run registry.Run, src pipeline.Source) (*Job, error) {
	run.Status = registry.StatusQueued
	run.Progress = &registry.Progress{Stage: registry.StageQueued}
	j := &Job{run: run, src: src, done: make(chan struct{})}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		src.Release()
		return nil, ErrShuttingDown
	}
	if q.queued >= q.cfg.MaxQueued {
		q.mu.Unlock()
		src.Release()
		return nil, ErrQueueFull
	}
	mq := q.models[run.Model]
	if mq == nil {
		mq = &modelQueue{}
		q.models[run.Model] = mq
	}
	ahead := len(mq.pending)
	if mq.running {
		ahead++
	}
	j.run.QueuePosition = ahead
	q.queued++
	// Known in memory before its record exists, so recovery never
	// mistakes it for a run of a dead process.
	q.jobs[run.ID] = j
	q.mu.Unlock()

	// Recorded before it is scheduled: a run that cannot be recorded does
	// not run.
	err := q.cfg.Saver.SaveRun(ctx, j.Snapshot(), registry.SaveOptions{First: true})
	q.mu.Lock()
	defer q.mu.Unlock()
	recorded := err == nil
	if recorded && q.closed {
		err = ErrShuttingDown
	}
	if err != nil {
		delete(q.jobs, run.ID)
		q.queued--
		if recorded {
			// Its queued record must not outlive this answer.
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalSaveTimeout)
			defer cancel()
			q.abandon(sctx, j, "the trainer shut down before the run started")
		} else {
			src.Release()
		}
		return nil, err
	}
	q.remember(j)
	mq.pending = append(mq.pending, j)
	if !mq.running {
		mq.running = true
		q.wg.Add(1)
		go q.drain(mq)
	}
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

// drain runs a model's queue one job at a time until it is empty.
func (q *Queue) drain(mq *modelQueue) {
	defer q.wg.Done()
	for {
		q.mu.Lock()
		if len(mq.pending) == 0 {
			mq.running = false
			q.mu.Unlock()
			return
		}
		j := mq.pending[0]
		mq.pending = mq.pending[1:]
		for i, rest := range mq.pending {
			rest.update(func(r *registry.Run) { r.QueuePosition = i + 1 })
		}
		q.mu.Unlock()

		acquired := false
		select {
		case q.slots <- struct{}{}:
			acquired = true
		case <-q.runCtx.Done():
		}
		q.mu.Lock()
		q.queued--
		closed := q.closed
		q.mu.Unlock()
		if closed {
			sctx, cancel := context.WithTimeout(context.Background(), finalSaveTimeout)
			q.abandon(sctx, j, "the trainer shut down before the run started")
			cancel()
		} else {
			q.execute(q.runCtx, j)
		}
		if acquired {
			<-q.slots
		}
		close(j.done)
	}
}

// abandon fails a queued run that will never start, recording it within
// ctx.
func (q *Queue) abandon(ctx context.Context, j *Job, why string) {
	j.src.Release()
	j.update(func(r *registry.Run) { r.Fail(q.cfg.Now(), registry.CodeUnavailable, why) })
	q.cfg.Metrics.runs.WithLabelValues(j.run.Model, string(registry.StatusFailed)).Inc()
	q.save(ctx, j)
}

// save records j's final state, riding out a short outage.
func (q *Queue) save(ctx context.Context, j *Job) {
	run := j.Snapshot()
	if err := q.cfg.Saver.SaveRun(ctx, run, registry.SaveOptions{Retry: true}); err != nil {
		q.cfg.Logger.Error("recording run", "run", run.ID, "status", run.Status, "err", err)
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

// execute runs the work for j and leaves j's run terminal.
func (q *Queue) execute(ctx context.Context, j *Job) {
	start := q.cfg.Now()
	j.update(func(r *registry.Run) {
		r.Status = registry.StatusRunning
		r.StartedAt = &start
		r.QueuePosition = 0
	})
	q.cfg.Metrics.inProgress.Inc()
	if err := q.cfg.Saver.SaveRun(ctx, j.Snapshot(), registry.SaveOptions{Retry: true}); err != nil {
		q.cfg.Logger.Warn("recording a run's start", "run", j.run.ID, "err", err)
	}

	err := q.cfg.Work(ctx, j.Snapshot(), j.src, j.update)

	q.cfg.Metrics.inProgress.Dec()
	end := q.cfg.Now()
	j.update(func(r *registry.Run) {
		r.FinishedAt = &end
		r.DurationSeconds = end.Sub(start).Seconds()
		r.Progress = nil
		if err != nil {
			r.Status = registry.StatusFailed
			r.Error = pipeline.RunError(err)
		} else {
			r.Status = registry.StatusSucceeded
		}
	})
	run := j.Snapshot()
	q.cfg.Metrics.runs.WithLabelValues(run.Model, string(run.Status)).Inc()
	q.cfg.Metrics.duration.WithLabelValues(run.Model).Observe(run.DurationSeconds)
	if err != nil {
		level := slog.LevelInfo
		if run.Error.Code == registry.CodeInternal {
			level = slog.LevelError
		}
		q.cfg.Logger.Log(ctx, level, "run failed", "run", run.ID, "model", run.Model, "err", err)
	} else {
		if run.Metrics != nil {
			q.cfg.Metrics.accuracy.WithLabelValues(run.Model).Set(run.Metrics.Accuracy)
		}
		q.cfg.Logger.Info("run succeeded", "run", run.ID, "model", run.Model, "version", run.Version,
			"promoted", run.Promoted, "seconds", run.DurationSeconds)
	}
	// The final record must outlive this process even if the run was
	// cancelled by shutdown, within a bound of its own.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalSaveTimeout)
	defer cancel()
	q.save(sctx, j)
}
