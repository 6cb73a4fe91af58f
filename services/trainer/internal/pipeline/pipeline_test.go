package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelferry/modelferry/devstack/testkit/repo"
	"github.com/modelferry/modelferry/pkg/dataset"
	"github.com/modelferry/modelferry/pkg/errcode"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

func TestRunErrorHidesInternals(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code string
		msg  string
	}{
		{stageError{"load", &dataset.ParseError{Line: 3, Column: "a", Msg: `"x" is not a number`}}, errcode.InvalidArgument, `line 3, column a: "x" is not a number`},
		{stageError{"load", fmt.Errorf("%w: data/x.csv", errDatasetNotFound)}, errcode.NotFound, "dataset not found: data/x.csv"},
		{stageError{"split", fmt.Errorf("%w: class %q has 1 row(s)", dataset.ErrInvalid, "y")}, errcode.InvalidArgument, `invalid dataset: class "y" has 1 row(s)`},
		{fmt.Errorf("publish: %w", &modelstore.Error{Kind: modelstore.ErrUnavailable, Op: "put", Key: "k", Err: errors.New("dial 10.1.2.3")}), errcode.Unavailable, "model storage is unavailable"},
		{context.Canceled, errcode.Unavailable, "the trainer shut down"},
		{fmt.Errorf("publish: %w", &modelstore.Error{Kind: modelstore.ErrUnavailable, Op: "put", Key: "k", Err: context.Canceled}), errcode.Unavailable, "the trainer shut down"},
		{fmt.Errorf("load: %w: %w", errDatasetRef, &modelstore.Error{Kind: modelstore.ErrInvalid}), errcode.InvalidArgument, "invalid dataset reference"},
		{fmt.Errorf("publish: %w", &modelstore.Error{Kind: modelstore.ErrInvalid, Op: "put", Key: "k", Err: errors.New("400")}), errcode.Internal, "internal error"},
		{errors.New("disk exploded at /var/secret"), errcode.Internal, "internal error"},
	} {
		got := RunError(tc.err)
		if got.Code != tc.code || !strings.HasPrefix(got.Message, tc.msg) {
			t.Errorf("RunError(%v) = %+v, want %s %q", tc.err, got, tc.code, tc.msg)
		}
		if strings.Contains(got.Message, "10.1.2.3") || strings.Contains(got.Message, "/var/secret") {
			t.Errorf("internals leaked: %q", got.Message)
		}
	}
}

type fixture struct {
	mem   *modelstore.Memory
	store *modelstore.Store
	reg   *registry.Registry
}

func newFixture() *fixture {
	f := &fixture{mem: modelstore.NewMemory("modelferry")}
	f.store = modelstore.New(f.mem, modelstore.Options{Timeout: time.Second})
	f.reg = registry.New(registry.Config{Storage: f.store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Gate: registry.Gate{MinAccuracy: 0.7, MaxRegression: 0.05}})
	return f
}

// train runs the pipeline on src and returns the run as it ended.
func (f *fixture) train(t *testing.T, params registry.Params, src Source) (registry.Run, error) {
	t.Helper()
	run := registry.Run{ID: modelstore.NewVersion(time.Now()), Model: "iris", Status: registry.StatusRunning, Params: params}
	var mu sync.Mutex
	err := Run(context.Background(), Input{
		Run: run, Source: src, Datasets: f.store, Registry: f.reg,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), TrainerVersion: "test", Now: time.Now,
		Update: func(change func(*registry.Run)) { mu.Lock(); defer mu.Unlock(); change(&run) },
	})
	return run, err
}

func TestPipelineTrainsPublishesAndPromotes(t *testing.T) {
	f := newFixture()
	ctx := context.Background()
	run, err := f.train(t, registry.DefaultParams(), Source{Path: repo.Iris(t)})
	if err != nil {
		t.Fatal(err)
	}
	if run.Version != run.ID || !run.Promoted || run.Metrics == nil || run.Metrics.Accuracy < 0.9 || run.MetricsOn != "test" {
		t.Fatalf("run %+v", run)
	}
	if run.Dataset.Rows != 150 || run.Dataset.TrainRows+run.Dataset.TestRows != 150 || !modelstore.ValidSHA256(run.Dataset.SHA256) {
		t.Errorf("dataset %+v", run.Dataset)
	}
	if !strings.HasPrefix(run.Dataset.URI, "s3://modelferry/datasets/") {
		t.Errorf("dataset not stored: %q", run.Dataset.URI)
	}
	for _, alias := range []string{registry.AliasLatest, registry.AliasProduction} {
		a, _, err := f.store.GetAlias(ctx, "iris", alias)
		if err != nil || a.Version != run.Version {
			t.Errorf("%s: %+v, %v", alias, a, err)
		}
	}
	m, _, err := f.reg.ReadModel(ctx, "iris", run.Version)
	if err != nil || m.Metrics.Accuracy != run.Metrics.Accuracy || len(m.FeatureNames) != 4 {
		t.Fatalf("artifact %v, %v", m, err)
	}
	// The drift baseline describes the training rows.
	b := m.Baseline
	if b == nil || b.Rows != uint64(run.Dataset.TrainRows) || len(b.Features) != 4 {
		t.Fatalf("baseline %v", b)
	}
	for j, fb := range b.Features {
		var n uint64
		for _, c := range fb.Counts {
			n += c
		}
		if n != b.Rows || len(fb.Edges) < 5 {
			t.Errorf("feature %d: %d rows in %d bins", j, n, len(fb.Counts))
		}
	}
	// A stratified split of iris: 40 training rows per class; the model
	// predicts most of them right.
	if fmt.Sprint(b.LabelCounts) != "[40 40 40]" {
		t.Errorf("label counts %v", b.LabelCounts)
	}
	for k, c := range b.PredictionCounts {
		if c < 35 || c > 45 {
			t.Errorf("predicted class %d on %d training rows", k, c)
		}
	}

	// Fitted on every row: published, never promoted by the gate.
	p := registry.DefaultParams()
	p.TestFraction = 0
	all, err := f.train(t, p, Source{Path: repo.Iris(t)})
	if err != nil || all.Promoted || all.MetricsOn != "train" || !strings.Contains(all.PromotionReason, "training data") {
		t.Errorf("all rows: %+v, %v", all, err)
	}
}

func TestBadDataFailsBeforeAnythingIsStored(t *testing.T) {
	f := newFixture()
	path := t.TempDir() + "/bad.csv"
	if err := writeFile(path, "a,b,label\n1,x,y\n2,3,z\n"); err != nil {
		t.Fatal(err)
	}
	// b is text, which a column forced numeric cannot hold.
	p := registry.DefaultParams()
	p.Numeric = []string{"b"}
	p.TestFraction = 0
	_, err := f.train(t, p, Source{Path: path})
	if got := RunError(err); got.Code != errcode.InvalidArgument || !strings.Contains(got.Message, "line 2") {
		t.Errorf("got %+v (%v)", got, err)
	}
	if keys := f.mem.Keys(); len(keys) != 0 {
		t.Errorf("stored %v", keys)
	}
}

func TestAliasFailureAfterPublishLeavesASuccessfulRun(t *testing.T) {
	f := newFixture()
	f.mem.SetHook(func(op, key string) error {
		if op == "put" && strings.HasSuffix(key, "/aliases/latest.json") {
			return fmt.Errorf("%w: injected", modelstore.ErrAccessDenied)
		}
		return nil
	})
	run, err := f.train(t, registry.DefaultParams(), Source{Path: repo.Iris(t)})
	if err != nil {
		t.Fatal(err)
	}
	if run.Promoted || run.Version == "" || !strings.Contains(run.PromotionReason, "was published, but moving the latest alias failed") {
		t.Errorf("promoted %v, version %q, reason %q", run.Promoted, run.Version, run.PromotionReason)
	}
	if versions, err := f.store.ListVersions(context.Background(), "iris"); err != nil || len(versions) != 1 || versions[0] != run.Version {
		t.Errorf("version %s not published: %v, %v", run.Version, versions, err)
	}
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o644) }

// The dataset is stored while the fit runs: when storing it fails, the
// run fails before it publishes anything.
func TestDatasetStoreFailurePublishesNothing(t *testing.T) {
	f := newFixture()
	f.mem.SetHook(func(op, key string) error {
		if op == "put" && strings.HasPrefix(key, "datasets/") {
			return errors.New("dial tcp 10.0.0.9:9000: connection refused")
		}
		return nil
	})
	run, err := f.train(t, registry.DefaultParams(), Source{Path: repo.Iris(t)})
	if got := RunError(err); got.Code != errcode.Unavailable || run.Iterations == 0 {
		t.Errorf("error %+v (%v) after %d iterations", got, err, run.Iterations)
	}
	if versions, err := f.store.ListVersions(context.Background(), "iris"); err != nil || len(versions) != 0 || run.Version != "" {
		t.Errorf("published %v (%v), run version %q", versions, err, run.Version)
	}
}

// A run that fails after its dataset began to be stored returns only once
// the store has ended: the source it reads is released after that.
func TestRunWaitsForTheDatasetStore(t *testing.T) {
	f := newFixture()
	gate := make(chan struct{})
	f.mem.SetHook(func(op, key string) error {
		if op == "put" && strings.HasPrefix(key, "datasets/") {
			<-gate
		}
		return nil
	})
	// Trainable as far as the split; the fit refuses sums that overflow.
	path := t.TempDir() + "/big.csv"
	if err := writeFile(path, "a,y\n-1e308,x\n1e308,y\n-1e308,x\n1e308,y\n-1e308,x\n1e308,y\n-1e308,x\n1e308,y\n-1e308,x\n1e308,y\n"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := f.train(t, registry.DefaultParams(), Source{Path: path})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("returned while the dataset was being stored: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(gate)
	if err := <-done; RunError(err).Code != errcode.InvalidArgument {
		t.Errorf("error %v, want the overflow", err)
	}
	if keys := f.mem.Keys(); len(keys) != 1 || !strings.HasPrefix(keys[0], "datasets/") {
		t.Errorf("stored %v, want the dataset alone", keys)
	}
}

// TestMissingUploadFileIsExplained: an upload whose spooled file is gone
// when the run opens it fails the run with what to do, not an internal
// error.
func TestMissingUploadFileIsExplained(t *testing.T) {
	f := newFixture()
	src := Source{Path: t.TempDir() + "/upload-1.csv", Temporary: true, Upload: NewUpload(100)}
	_, err := f.train(t, registry.DefaultParams(), src)
	got := RunError(err)
	if got.Code != errcode.Unavailable || !strings.Contains(got.Message, "send it again") {
		t.Errorf("got %+v (%v)", got, err)
	}
}
