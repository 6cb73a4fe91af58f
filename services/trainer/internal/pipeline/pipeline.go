// Package pipeline is one training run as a plain function of its inputs:
// load the dataset (hashing it), split, fit, evaluate, publish the version
// and move the latest alias and, past the quality gate, production. It
// knows nothing of queues or HTTP; it reports progress through Input.Update.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/modelferry/modelferry/pkg/artifact"
	"github.com/modelferry/modelferry/pkg/artifact/artifactpb"
	"github.com/modelferry/modelferry/pkg/dataset"
	"github.com/modelferry/modelferry/pkg/evaluation"
	"github.com/modelferry/modelferry/pkg/logreg"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

// Registry is where the pipeline publishes; *registry.Registry has it.
type Registry interface {
	Publish(ctx context.Context, m *artifactpb.Model, record registry.VersionRecord) (modelstore.Ref, int, error)
	Unpublish(ctx context.Context, model, version string) error
	MoveAlias(ctx context.Context, alias string, ref modelstore.Ref) error
	Promote(ctx context.Context, cand *artifactpb.Model, ref modelstore.Ref) (bool, string, error)
}

// Input is everything a run needs.
type Input struct {
	// Run is the run as queued: id, model, params, label.
	Run    registry.Run
	Source Source
	Limits Limits

	Datasets       Datasets
	Registry       Registry
	Logger         *slog.Logger
	TrainerVersion string
	Now            func() time.Time
	// Update applies a change to the live run record (progress, results).
	Update func(func(*registry.Run))
	// Commit is asked once, before anything of the version is written: it
	// fails (with context.Canceled) when the run was cancelled, and from
	// its success on the run can no longer be cancelled. Nil means no one
	// cancels.
	Commit func() error
}

// Run trains, evaluates and publishes. It returns nil once a version is
// published, even if an alias could not be moved (the run then says what
// to do); errors wrap the stage they come from (see RunError).
func Run(ctx context.Context, in Input) error {
	run, p := in.Run, in.Run.Params
	since := func(t time.Time) float64 { return in.Now().Sub(t).Seconds() }

	t0 := in.Now()
	defer in.Source.Release()
	in.enter(registry.StageLoading)
	// A table of numbers only takes the fast path; one with text or empty
	// cells, or any table parameter, the column transform's.
	var (
		d           *dataset.Dataset
		tb          *table
		info        registry.DatasetInfo
		train, test *dataset.Dataset
		err         error
	)
	if !p.Table.Set() {
		d, info, err = load(ctx, in.Datasets, in.Source, run.Label, in.Limits, in.loadProgress)
		if asTable(err) {
			d, err = nil, nil
		} else if err != nil {
			return stageError{"load", err}
		}
	}
	if d == nil {
		if tb, err = loadTable(ctx, in.Datasets, in.Source, run.Label, p, in.Limits, in.loadProgress); err != nil {
			return stageError{"load", err}
		}
		info = tb.info
		d = &dataset.Dataset{Features: info.Features, Label: tb.label, Classes: info.Classes}
		info.TrainRows, info.TestRows = tb.prep.Rows, len(tb.testY)
	} else {
		in.enter(registry.StageSplitting)
		if train, test, err = dataset.Split(d, p.TestFraction, p.Seed); err != nil {
			return stageError{"split", err}
		}
	}
	// Stored once it is known to be trainable, while the fit runs: the
	// upload to S3 is the network's and the server's work, which a remote
	// bucket does without our cores. The run waits for it before it
	// publishes, and never returns before it ends (nor releases the source
	// it reads: that deferred call runs after this one).
	stored := make(chan persisted, 1)
	go func(info registry.DatasetInfo) {
		uri, err := persist(ctx, in.Datasets, in.Source, info)
		stored <- persisted{uri, err}
	}(info)
	defer func() {
		if stored != nil {
			<-stored
		}
	}()
	data := tableData(tb)
	if tb == nil {
		if err := checkScale(train.X, train.Rows(), d.Features, p.Standardize); err != nil {
			return stageError{"fit", err}
		}
		info.TrainRows = train.Rows()
		if test != nil {
			info.TestRows = test.Rows()
		}
		data = logreg.Data{X: train.X, Y: train.Y, Rows: train.Rows(), Features: len(d.Features), Classes: len(d.Classes)}
	}
	in.Update(func(r *registry.Run) {
		r.Dataset = info
		r.Label = d.Label
		r.Timings.LoadSeconds = since(t0)
		if tb != nil {
			r.RowsSkipped = tb.prep.RowsSkipped
			r.Schema = schema(tb.prep.Transform, tb.prep.Dropped)
		}
	})

	t1 := in.Now()
	if p.Search != nil {
		// The best grid point is refit on every training row below.
		if p.C, data.Weight, err = in.crossValidate(ctx, data, d.Classes, p); err != nil {
			return stageError{"search", err}
		}
	}
	in.enter(registry.StageFitting)
	var history registry.History
	fitted, fit, err := logreg.Fit(ctx, data, logreg.Options{
		C: p.C, MaxIter: p.MaxIter, Tol: p.Tol, Standardize: p.Standardize,
		OnProgress: in.fitProgress(&history),
	})
	if err != nil {
		return stageError{"fit", err}
	}
	in.Update(func(r *registry.Run) {
		r.Timings.FitSeconds = since(t1)
		r.Objective = &fit.Objective
		r.Iterations = fit.Iterations
		r.Converged = fit.Converged
		r.History = history.Points()
	})

	t2 := in.Now()
	in.enter(registry.StageEvaluating)
	compiled, err := fitted.Compile()
	if err != nil {
		return stageError{"compile", err}
	}
	report, on, err := evaluate(compiled, train, test, tb, d.Classes)
	if err != nil {
		return stageError{"evaluate", err}
	}
	in.Update(func(r *registry.Run) {
		r.Metrics = &report
		r.MetricsOn = on
		r.Timings.EvaluateSeconds = since(t2)
		run = r.Clone()
	})

	t3 := in.Now()
	in.enter(registry.StagePublishing)
	var driftBaseline *artifactpb.Baseline
	if tb == nil {
		driftBaseline = baseline(train, len(d.Classes), compiled)
	}
	ds := <-stored
	stored = nil
	if ds.err != nil {
		return stageError{"load", ds.err}
	}
	in.Update(func(r *registry.Run) {
		r.Dataset.URI = ds.uri
		run = r.Clone()
	})
	model := buildArtifact(run, d, fitted, fit, report, in.TrainerVersion, in.Now())
	model.Baseline = driftBaseline
	if tb != nil {
		model.Tabular = artifact.TabularFrom(tb.prep.Transform, tb.prep.RowsSkipped, tb.prep.Dropped)
	}
	// The end of the run is decided here, once. A cancel (or shutdown, or
	// timeout) before this point wins, and nothing of the version exists.
	// After it the run finishes whole: the version, then latest and
	// production, none of it cut short by a cancel; a publish that fails
	// removes what it wrote.
	if err := ctx.Err(); err != nil {
		return stageError{"publish", err}
	}
	if in.Commit != nil {
		if err := in.Commit(); err != nil {
			return stageError{"publish", err}
		}
	}
	ctx = context.WithoutCancel(ctx)
	ref, number, err := in.Registry.Publish(ctx, model, registry.VersionRecord{
		RunID: run.ID, Model: run.Model, Version: run.ID, Params: p, Label: run.Label, Dataset: run.Dataset,
		Metrics: run.Metrics, MetricsOn: run.MetricsOn, Objective: fit.Objective, Iterations: fit.Iterations,
		Converged: fit.Converged, Timings: run.Timings, TrainerVersion: in.TrainerVersion, CreatedAt: in.Now(),
		RowsSkipped: run.RowsSkipped, Schema: run.Schema, Search: run.Search,
	})
	if err != nil {
		if uerr := in.Registry.Unpublish(ctx, run.Model, run.ID); uerr != nil {
			in.Logger.Warn("removing what a failed publish wrote", "run", run.ID, "model", run.Model, "err", uerr)
		}
		return stageError{"publish", err}
	}
	in.Update(func(r *registry.Run) { r.Version, r.VersionNumber = ref.Version, number })
	// The version exists from here on: failing to move an alias leaves a
	// successful run that says what to do, not a failed one.
	promoted, reason := false, ""
	if err := in.Registry.MoveAlias(ctx, registry.AliasLatest, ref); err != nil {
		reason = aliasFailure(in.Logger, run, registry.AliasLatest, err)
	} else if promoted, reason, err = in.Registry.Promote(ctx, model, ref); err != nil {
		reason = aliasFailure(in.Logger, run, registry.AliasProduction, err)
	}
	in.Update(func(r *registry.Run) {
		r.Promoted = promoted
		r.PromotionReason = reason
		r.Timings.PublishSeconds = since(t3)
	})
	return nil
}

// aliasFailure logs a failed alias move after publishing and returns the
// run's explanation.
func aliasFailure(logger *slog.Logger, run registry.Run, alias string, err error) string {
	logger.Warn("version published but alias not moved", "run", run.ID, "model", run.Model, "alias", alias, "err", err)
	return fmt.Sprintf("version %s was published, but moving the %s alias failed (%s); move it with PUT /models/%s/aliases/%s",
		run.ID, alias, RunError(err).Message, run.Model, alias)
}

func buildArtifact(run registry.Run, d *dataset.Dataset, fitted *logreg.Model, fit logreg.FitInfo, report evaluation.Report,
	trainerVersion string, now time.Time) *artifactpb.Model {
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
		TrainerVersion: trainerVersion,
		CreatedAt:      timestamppb.New(now),
	}
}

// persisted is the outcome of storing a run's dataset.
type persisted struct {
	uri string
	err error
}

// tableData is the training set of a table; zero when there is none.
func tableData(tb *table) logreg.Data {
	if tb == nil {
		return logreg.Data{}
	}
	return tb.prep.Data()
}

// evaluate scores the model on the test rows, or the training rows when
// there are none, and says which.
func evaluate(compiled *logreg.Compiled, train, test *dataset.Dataset, tb *table, classes []string) (evaluation.Report, string, error) {
	if tb != nil {
		if len(tb.testY) > 0 {
			r, err := evaluation.Evaluate(logreg.Packed{Compiled: compiled}, tb.test, tb.testY, classes)
			return r, "test", err
		}
		x, y := tb.trainSet()
		r, err := evaluation.Evaluate(logreg.Packed{Compiled: compiled}, x, y, classes)
		return r, "train", err
	}
	if test != nil {
		r, err := evaluation.Evaluate(compiled, test.X, test.Y, classes)
		return r, "test", err
	}
	r, err := evaluation.Evaluate(compiled, train.X, train.Y, classes)
	return r, "train", err
}

// asTable tells a fast-path failure that the column transform reads: a
// cell that is text or empty, or an empty label (a row to skip).
func asTable(err error) bool {
	var pe *dataset.ParseError
	return errors.As(err, &pe) && pe.Column != "" &&
		(pe.Msg == "empty value" || pe.Msg == "empty label" || strings.HasSuffix(pe.Msg, "is not a number"))
}
