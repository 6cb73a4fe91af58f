package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/modelferry/modelferry/pkg/errcode"
	"github.com/modelferry/modelferry/services/trainer/internal/pipeline"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

// This file is a run's execution: a model's queue drained one run at a
// time, the work run under its timeout and cancel, and the run's end
// recorded. jobs.go admits, queues, cancels and shuts down.

// drain runs a model's queue one job at a time until it is empty.
func (q *Queue) drain(mq *modelQueue) {
	defer q.wg.Done()
	for {
		q.mu.Lock()
		mq.active = false // the run before, if any, has ended
		if len(mq.pending) == 0 {
			mq.running = false
			q.mu.Unlock()
			return
		}
		j := mq.pending[0]
		mq.pending = mq.pending[1:]
		mq.active = true
		renumber(mq)
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
		j.mu.Lock()
		cancelled := j.cancelled
		j.mu.Unlock()
		sctx, cancel := context.WithTimeout(context.Background(), finalSaveTimeout)
		switch {
		case closed:
			q.abandon(sctx, j, "the trainer shut down before the run started")
		case cancelled:
			q.finish(sctx, j, registry.StatusCancelled, errcode.Cancelled, "cancelled before it started")
		default:
			q.execute(q.runCtx, j)
		}
		cancel()
		if acquired {
			<-q.slots
		}
		close(j.done)
	}
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

	wctx, stop := context.WithCancel(ctx)
	if q.cfg.RunTimeout > 0 {
		wctx, stop = context.WithTimeout(ctx, q.cfg.RunTimeout)
	}
	defer stop()
	j.mu.Lock()
	j.cancel = stop
	if j.cancelled {
		stop() // asked while it was being started
	}
	j.mu.Unlock()
	err := q.cfg.Work(wctx, j.Snapshot(), j.src, j.update, j.commit)
	// The run's matrix is garbage now, but the heap's goal was set while
	// it was live: without a collection here the next run's matrix would
	// be allocated beside it, doubling the process.
	debug.FreeOSMemory()
	j.mu.Lock()
	cancelled := j.cancelled
	j.mu.Unlock()

	q.cfg.Metrics.inProgress.Dec()
	end := q.cfg.Now()
	j.update(func(r *registry.Run) {
		r.FinishedAt = &end
		r.DurationSeconds = end.Sub(start).Seconds()
		r.Progress = nil
		switch {
		case err == nil:
			r.Status = registry.StatusSucceeded
		case cancelled && errors.Is(err, context.Canceled):
			r.Status = registry.StatusCancelled
			r.Error = &registry.RunError{Code: errcode.Cancelled, Message: "cancelled while running"}
		case errors.Is(err, context.DeadlineExceeded) && errors.Is(wctx.Err(), context.DeadlineExceeded):
			r.Status = registry.StatusFailed
			r.Error = &registry.RunError{Code: errcode.DeadlineExceeded,
				Message: fmt.Sprintf("the run took longer than %s, the limit TRAINER_RUN_TIMEOUT sets", q.cfg.RunTimeout)}
		default:
			r.Status = registry.StatusFailed
			r.Error = pipeline.RunError(err)
		}
	})
	run := j.Snapshot()
	q.cfg.Metrics.runs.WithLabelValues(run.Model, string(run.Status)).Inc()
	q.cfg.Metrics.duration.WithLabelValues(run.Model).Observe(run.DurationSeconds)
	if err != nil {
		level := slog.LevelInfo
		if run.Error.Code == errcode.Internal {
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

// abandon fails a queued run that will never start, recording it within
// ctx.
func (q *Queue) abandon(ctx context.Context, j *Job, why string) {
	q.finish(ctx, j, registry.StatusFailed, errcode.Unavailable, why)
}

// finish ends a run that never ran, recording it within ctx.
func (q *Queue) finish(ctx context.Context, j *Job, status registry.Status, code, why string) {
	j.src.Release()
	j.update(func(r *registry.Run) { r.End(q.cfg.Now(), status, code, why) })
	q.cfg.Metrics.runs.WithLabelValues(j.run.Model, string(status)).Inc()
	q.save(ctx, j)
}

// save records j's final state, riding out a short outage.
func (q *Queue) save(ctx context.Context, j *Job) {
	run := j.Snapshot()
	if err := q.cfg.Saver.SaveRun(ctx, run, registry.SaveOptions{Retry: true}); err != nil {
		q.cfg.Logger.Error("recording run", "run", run.ID, "status", run.Status, "err", err)
	}
}
