package training

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/modelferry/modelferry/pkg/artifact"
	"github.com/modelferry/modelferry/pkg/artifact/artifactpb"
	"github.com/modelferry/modelferry/pkg/dataset"
	"github.com/modelferry/modelferry/pkg/evaluation"
	"github.com/modelferry/modelferry/pkg/logreg"
	"github.com/modelferry/modelferry/pkg/modelstore"
)

// Aliases the trainer moves.
const (
	AliasLatest     = "latest"
	AliasProduction = "production"
)

// VersionRecord is the immutable run.json stored beside a version's
// artifact: how the version was made. Promotion, decided after publishing,
// is in the mutable run record.
type VersionRecord struct {
	RunID          string             `json:"run_id"`
	Model          string             `json:"model"`
	Version        string             `json:"version"`
	Params         Params             `json:"params"`
	Label          string             `json:"label"`
	Dataset        DatasetInfo        `json:"dataset"`
	Metrics        *evaluation.Report `json:"metrics"`
	MetricsOn      string             `json:"metrics_on"`
	Objective      float64            `json:"objective"`
	Iterations     int                `json:"iterations"`
	Converged      bool               `json:"converged"`
	Timings        Timings            `json:"timings"`
	TrainerVersion string             `json:"trainer_version"`
	CreatedAt      time.Time          `json:"created_at"`
}

// execute runs the pipeline for j and leaves j's run terminal.
func (m *Manager) execute(ctx context.Context, j *Job) {
	start := m.now()
	j.update(func(r *Run) {
		r.Status = StatusRunning
		r.StartedAt = &start
		r.QueuePosition = 0
	})
	m.metrics.inProgress.Inc()
	m.saveRun(ctx, j)

	err := m.pipeline(ctx, j)
	// The run's matrix is garbage now, but the heap's goal was set while
	// it was live: without a collection here the next run's matrix would
	// be allocated beside it, doubling the process.
	debug.FreeOSMemory()

	m.metrics.inProgress.Dec()
	end := m.now()
	j.update(func(r *Run) {
		r.FinishedAt = &end
		r.DurationSeconds = end.Sub(start).Seconds()
		r.Progress = nil
		if err != nil {
			r.Status = StatusFailed
			r.Error = runError(err)
		} else {
			r.Status = StatusSucceeded
		}
	})
	run := j.Snapshot()
	m.metrics.runs.WithLabelValues(run.Model, run.Status).Inc()
	m.metrics.duration.WithLabelValues(run.Model).Observe(run.DurationSeconds)
	if err != nil {
		level := slog.LevelInfo
		if run.Error.Code == codeInternal {
			level = slog.LevelError
		}
		m.logger.Log(ctx, level, "run failed", "run", run.ID, "model", run.Model, "err", err)
	} else {
		m.metrics.accuracy.WithLabelValues(run.Model).Set(run.Metrics.Accuracy)
		m.logger.Info("run succeeded", "run", run.ID, "model", run.Model, "version", run.Version,
			"accuracy", run.Metrics.Accuracy, "promoted", run.Promoted, "seconds", run.DurationSeconds)
	}
	// The final record must outlive this process even if the run was
	// cancelled by shutdown, within a bound of its own.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalSaveTimeout)
	defer cancel()
	m.saveRun(sctx, j)
}

func (m *Manager) pipeline(ctx context.Context, j *Job) error {
	run := j.Snapshot()
	p := run.Params

	t0 := m.now()
	defer j.src.Release()
	d, info, err := load(ctx, m.store, j.src, run.Label)
	if err != nil {
		return stageError{"load", err}
	}
	train, test, err := dataset.Split(d, p.TestFraction, p.Seed)
	if err != nil {
		return stageError{"split", err}
	}
	// Stored only once it is known to be trainable.
	if info.URI, err = persist(ctx, m.store, j.src, info); err != nil {
		return stageError{"load", err}
	}
	info.TrainRows = train.Rows()
	if test != nil {
		info.TestRows = test.Rows()
	}
	j.update(func(r *Run) {
		r.Dataset = info
		r.Label = d.Label
		r.Timings.LoadSeconds = m.since(t0)
	})

	t1 := m.now()
	fitted, fit, err := logreg.Fit(ctx, logreg.Data{
		X: train.X, Y: train.Y, Rows: train.Rows(), Features: len(d.Features), Classes: len(d.Classes),
	}, logreg.Options{
		C: p.C, MaxIter: p.MaxIter, Tol: p.Tol, Standardize: p.Standardize,
		OnProgress: func(pr logreg.Progress) {
			j.update(func(r *Run) { r.Progress = &Progress{Iteration: pr.Iteration, Loss: pr.Loss} })
		},
	})
	if err != nil {
		return stageError{"fit", err}
	}
	j.update(func(r *Run) {
		r.Timings.FitSeconds = m.since(t1)
		r.Objective = &fit.Objective
		r.Iterations = fit.Iterations
		r.Converged = fit.Converged
	})

	t2 := m.now()
	compiled, err := fitted.Compile()
	if err != nil {
		return stageError{"compile", err}
	}
	evalSet, on := test, "test"
	if test == nil {
		evalSet, on = train, "train"
	}
	report, err := evaluation.Evaluate(compiled, evalSet.X, evalSet.Y, d.Classes)
	if err != nil {
		return stageError{"evaluate", err}
	}
	j.update(func(r *Run) {
		r.Metrics = &report
		r.MetricsOn = on
		r.Timings.EvaluateSeconds = m.since(t2)
	})

	t3 := m.now()
	run = j.Snapshot()
	model := m.artifact(run, d, fitted, fit, report)
	pb, err := artifact.Encode(model)
	if err != nil {
		return fmt.Errorf("encode artifact: %w", err)
	}
	record, err := json.Marshal(VersionRecord{
		RunID: run.ID, Model: run.Model, Version: run.ID, Params: p, Label: run.Label, Dataset: run.Dataset,
		Metrics: run.Metrics, MetricsOn: run.MetricsOn, Objective: fit.Objective, Iterations: fit.Iterations,
		Converged: fit.Converged, Timings: run.Timings, TrainerVersion: m.trainerVersion, CreatedAt: m.now(),
	})
	if err != nil {
		return fmt.Errorf("encode version record: %w", err)
	}
	ref, err := m.store.Publish(ctx, run.Model, run.ID, pb, record)
	if err != nil {
		return stageError{"publish", err}
	}
	j.update(func(r *Run) { r.Version = ref.Version })
	// The version exists from here on: failing to move an alias leaves a
	// successful run that says what to do, not a failed one.
	promoted, reason := false, ""
	if err := m.setAlias(ctx, AliasLatest, ref); err != nil {
		reason = m.aliasFailure(run, AliasLatest, err)
	} else if promoted, reason, err = m.promote(ctx, model, ref); err != nil {
		reason = m.aliasFailure(run, AliasProduction, err)
	}
	j.update(func(r *Run) {
		r.Promoted = promoted
		r.PromotionReason = reason
		r.Timings.PublishSeconds = m.since(t3)
	})
	return nil
}

// stageError names the pipeline stage an error came from, for logs; users
// see only the error itself (runError).
type stageError struct {
	stage string
	err   error
}

func (e stageError) Error() string { return e.stage + ": " + e.err.Error() }
func (e stageError) Unwrap() error { return e.err }

// aliasFailure logs a failed alias move after publishing and returns the
// run's explanation.
func (m *Manager) aliasFailure(run Run, alias string, err error) string {
	m.logger.Warn("version published but alias not moved", "run", run.ID, "model", run.Model, "alias", alias, "err", err)
	return fmt.Sprintf("version %s was published, but moving the %s alias failed (%s); move it with PUT /models/%s/aliases/%s",
		run.ID, alias, runError(err).Message, run.Model, alias)
}

func (m *Manager) artifact(run Run, d *dataset.Dataset, fitted *logreg.Model, fit logreg.FitInfo, report evaluation.Report) *artifactpb.Model {
	lin, scaler := artifact.LinearFromLogreg(fitted)
	p := run.Params
	return &artifactpb.Model{
		FormatVersion: artifact.FormatVersion,
		Name:          run.Model,
		Version:       run.ID,
		RunId:         run.ID,
		FeatureNames:  d.Features,
		ClassNames:    d.Classes,
		Linear:        lin,
		Scaler:        scaler,
		Params: &artifactpb.TrainingParams{
			C: p.C, MaxIter: uint32(p.MaxIter), Tol: p.Tol, TestFraction: p.TestFraction,
			Seed: p.Seed, Standardize: p.Standardize, Label: d.Label,
		},
		Metrics: &artifactpb.Metrics{
			MetricsOn: run.MetricsOn, Rows: uint64(report.Rows), Accuracy: report.Accuracy,
			LogLoss: report.LogLoss, MacroF1: report.MacroF1,
		},
		Dataset: &artifactpb.DatasetInfo{
			Uri: run.Dataset.URI, Sha256: run.Dataset.SHA256, Rows: uint64(run.Dataset.Rows),
			Features: uint32(len(d.Features)), Classes: uint32(len(d.Classes)),
		},
		Fit: &artifactpb.FitInfo{
			Objective: fit.Objective, Iterations: uint32(fit.Iterations), Converged: fit.Converged, GradNorm: fit.GradNorm,
		},
		TrainerVersion: m.trainerVersion,
		CreatedAt:      timestamppb.New(m.now()),
	}
}

// aliasAttempts bounds compare-and-swap retries when another writer moves
// the same alias between our read and our write.
const aliasAttempts = 5

// setAlias points alias at ref whatever it pointed at.
func (m *Manager) setAlias(ctx context.Context, alias string, ref modelstore.Ref) error {
	return SetAlias(ctx, m.store, alias, ref)
}

// SetAlias points alias at ref, re-reading and retrying when a concurrent
// writer wins the compare-and-swap.
func SetAlias(ctx context.Context, store *modelstore.Store, alias string, ref modelstore.Ref) error {
	var err error
	for range aliasAttempts {
		var etag string
		_, etag, err = store.GetAlias(ctx, ref.Model, alias)
		// A missing alias is created; a corrupt one replaced.
		if err != nil && !errors.Is(err, modelstore.ErrNotFound) && !errors.Is(err, modelstore.ErrIntegrity) {
			return err
		}
		if _, err = store.SetAlias(ctx, alias, ref, etag); !errors.Is(err, modelstore.ErrConflict) {
			return err
		}
	}
	return err
}

// promote moves production to ref when the gate passes against the
// production model as it is at the moment of the write.
func (m *Manager) promote(ctx context.Context, cand *artifactpb.Model, ref modelstore.Ref) (bool, string, error) {
	for range aliasAttempts {
		cur, etag, err := m.store.GetAlias(ctx, ref.Model, AliasProduction)
		var prod *artifactpb.Model
		switch {
		case errors.Is(err, modelstore.ErrNotFound):
		case errors.Is(err, modelstore.ErrIntegrity):
			m.logger.Warn("production alias unreadable; replacing it if the gate passes", "model", ref.Model, "err", err)
		case err != nil:
			return false, "", err
		default:
			prod, _, err = m.store.ReadVersion(ctx, ref.Model, cur.Version, cur.SHA256)
			if errors.Is(err, modelstore.ErrIntegrity) || errors.Is(err, modelstore.ErrNotFound) {
				// A broken production model is no bar to a good one.
				m.logger.Warn("production model unreadable; gating on minimum accuracy only",
					"model", ref.Model, "version", cur.Version, "err", err)
				prod = nil
			} else if err != nil {
				return false, "", err
			}
		}
		ok, reason := m.gate.Decide(cand, prod)
		if !ok {
			return false, reason, nil
		}
		if _, err = m.store.SetAlias(ctx, AliasProduction, ref, etag); err == nil {
			return true, "", nil
		}
		if !errors.Is(err, modelstore.ErrConflict) {
			return false, "", err
		}
	}
	return false, "production moved concurrently too often; not promoted", nil
}

func (m *Manager) since(t time.Time) float64 { return m.now().Sub(t).Seconds() }
