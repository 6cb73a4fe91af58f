package training

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelferry/modelferry/pkg/artifact/artifactpb"
	"github.com/modelferry/modelferry/pkg/dataset"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/pkg/s3test"
)

func TestGate(t *testing.T) {
	g := Gate{MinAccuracy: 0.7, MaxRegression: 0.05}
	model := func(acc float64, features ...string) *artifactpb.Model {
		if len(features) == 0 {
			features = []string{"a", "b"}
		}
		return &artifactpb.Model{Name: "iris", Version: "v", FeatureNames: features, ClassNames: []string{"x", "y"},
			Metrics: &artifactpb.Metrics{Accuracy: acc, MetricsOn: "test"}}
	}
	onTrain := func(m *artifactpb.Model) *artifactpb.Model { m.Metrics.MetricsOn = "train"; return m }
	for _, tc := range []struct {
		name       string
		cand, prod *artifactpb.Model
		ok         bool
		reason     string
	}{
		{"first model above minimum", model(0.9), nil, true, ""},
		{"first model below minimum", model(0.5), nil, false, "below the minimum 0.7000"},
		{"better than production", model(0.95), model(0.9), true, ""},
		{"slightly worse, within margin", model(0.86), model(0.9), true, ""},
		{"much worse than production", model(0.8), model(0.9), false, "more than 0.0500 below production"},
		{"other features", model(0.99, "a", "c"), model(0.9), false, "features or classes differ"},
		{"metrics on training data", onTrain(model(0.99)), nil, false, "metrics come from the training data"},
		{"production judged on training data is no yardstick", model(0.8), onTrain(model(1)), true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, reason := g.Decide(tc.cand, tc.prod)
			if ok != tc.ok || !strings.Contains(reason, tc.reason) {
				t.Errorf("Decide = %v %q, want %v %q", ok, reason, tc.ok, tc.reason)
			}
		})
	}
}

func TestRunErrorHidesInternals(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code string
		msg  string
	}{
		{stageError{"load", &dataset.ParseError{Line: 3, Column: "a", Msg: `"x" is not a number`}}, codeInvalid, `line 3, column a: "x" is not a number`},
		{stageError{"load", fmt.Errorf("%w: data/x.csv", errDatasetNotFound)}, codeNotFound, "dataset not found: data/x.csv"},
		{stageError{"split", fmt.Errorf("%w: class %q has 1 row(s)", dataset.ErrInvalid, "y")}, codeInvalid, `invalid dataset: class "y" has 1 row(s)`},
		{fmt.Errorf("publish: %w", &modelstore.Error{Kind: modelstore.ErrUnavailable, Op: "put", Key: "k", Err: errors.New("dial 10.1.2.3")}), codeUnavailable, "model storage is unavailable"},
		{context.Canceled, codeUnavailable, "the trainer shut down"},
		{fmt.Errorf("publish: %w", &modelstore.Error{Kind: modelstore.ErrUnavailable, Op: "put", Key: "k", Err: context.Canceled}), codeUnavailable, "the trainer shut down"},
		{fmt.Errorf("load: %w: %w", errDatasetRef, &modelstore.Error{Kind: modelstore.ErrInvalid}), codeInvalid, "invalid dataset reference"},
		{fmt.Errorf("publish: %w", &modelstore.Error{Kind: modelstore.ErrInvalid, Op: "put", Key: "k", Err: errors.New("400")}), codeInternal, "internal error"},
		{errors.New("disk exploded at /var/secret"), codeInternal, "internal error"},
	} {
		got := runError(tc.err)
		if got.Code != tc.code || !strings.HasPrefix(got.Message, tc.msg) {
			t.Errorf("runError(%v) = %+v, want %s %q", tc.err, got, tc.code, tc.msg)
		}
		if strings.Contains(got.Message, "10.1.2.3") || strings.Contains(got.Message, "/var/secret") {
			t.Errorf("internals leaked: %q", got.Message)
		}
	}
}

func newManager(t *testing.T, maxQueued int) (*Manager, *modelstore.Store) {
	t.Helper()
	return newManagerOn(t, s3test.Start(t), maxQueued)
}

func newManagerOn(t *testing.T, srv *s3test.Server, maxQueued int) (*Manager, *modelstore.Store) {
	t.Helper()
	store, err := modelstore.New(modelstore.Options{Endpoint: srv.Endpoint, AccessKey: s3test.AccessKey,
		SecretKey: s3test.SecretKey, Bucket: "modelferry", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.EnsureBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := NewManager(Config{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics: NewMetrics(prometheus.NewRegistry()), Gate: Gate{MinAccuracy: 0.7, MaxRegression: 0.05},
		MaxQueued: maxQueued, Parallel: 2, TrainerVersion: "test"})
	return m, store
}

func irisSource(t *testing.T) Source {
	t.Helper()
	p, err := filepath.Abs("../../../../data/iris.csv")
	if err != nil {
		t.Fatal(err)
	}
	return Source{Path: p}
}

func TestRunsOfOneModelAreSerialized(t *testing.T) {
	m, _ := newManager(t, 16)
	ctx := context.Background()
	var jobs []*Job
	for i := range 4 {
		j, err := m.Submit(ctx, "iris", DefaultParams(), "", irisSource(t))
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && j.Snapshot().QueuePosition == 0 {
			t.Errorf("run %d queued at position 0", i)
		}
		jobs = append(jobs, j)
	}
	for _, j := range jobs {
		<-j.Done()
	}
	for i, j := range jobs {
		if r := j.Snapshot(); r.Status != StatusSucceeded {
			t.Fatalf("run %d: %s %+v", i, r.Status, r.Error)
		}
	}
	for i := 1; i < len(jobs); i++ {
		prev, cur := jobs[i-1].Snapshot(), jobs[i].Snapshot()
		if cur.StartedAt.Before(*prev.FinishedAt) {
			t.Errorf("run %d started at %v before run %d finished at %v", i, cur.StartedAt, i-1, prev.FinishedAt)
		}
	}
	ctx2, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	m.Shutdown(ctx2)
}

func TestShutdownFailsQueuedRunsAndRecordsThem(t *testing.T) {
	m, _ := newManager(t, 16)
	ctx := context.Background()
	var jobs []*Job
	for range 5 {
		j, err := m.Submit(ctx, "iris", DefaultParams(), "", irisSource(t))
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, j)
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	m.Shutdown(sctx)
	if _, err := m.Submit(ctx, "iris", DefaultParams(), "", irisSource(t)); !errors.Is(err, ErrShuttingDown) {
		t.Errorf("submit after shutdown: %v", err)
	}
	failed := 0
	for _, j := range jobs {
		<-j.Done()
		r := j.Snapshot()
		if !r.Terminal() {
			t.Errorf("run %s left %s", r.ID, r.Status)
		}
		stored, err := m.LoadRun(ctx, "iris", r.ID)
		if err != nil || stored.Status != r.Status {
			t.Errorf("stored run %s: %s, %v; in memory %s", r.ID, stored.Status, err, r.Status)
		}
		if r.Status == StatusFailed {
			failed++
			if !strings.Contains(r.Error.Message, "shut down") {
				t.Errorf("failed run says %q", r.Error.Message)
			}
		}
	}
	if failed == 0 {
		t.Error("no queued run was failed by shutdown")
	}
}

func TestRecoverInterruptedRuns(t *testing.T) {
	m, store := newManager(t, 16)
	ctx := context.Background()
	stale := Run{ID: modelstore.NewVersion(time.Now()), Model: "iris", Status: StatusRunning, CreatedAt: time.Now()}
	b, _ := json.Marshal(stale)
	if err := store.PutRun(ctx, "iris", stale.ID, b); err != nil {
		t.Fatal(err)
	}
	if err := m.RecoverInterrupted(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := m.LoadRun(ctx, "iris", stale.ID)
	if err != nil || got.Status != StatusFailed || !strings.Contains(got.Error.Message, "interrupted") {
		t.Errorf("recovered run %+v, %v", got, err)
	}
}

func TestSubmitFailsWhenStorageIsDown(t *testing.T) {
	srv := s3test.Start(t)
	store, _ := modelstore.New(modelstore.Options{Endpoint: srv.Endpoint, AccessKey: s3test.AccessKey,
		SecretKey: s3test.SecretKey, Bucket: "modelferry", Timeout: 500 * time.Millisecond})
	m := NewManager(Config{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics: NewMetrics(prometheus.NewRegistry()), MaxQueued: 4})
	srv.Stop()
	tmp := filepath.Join(t.TempDir(), "upload.csv")
	if err := os.WriteFile(tmp, []byte("a,b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := m.Submit(context.Background(), "iris", DefaultParams(), "", Source{Path: tmp, Temporary: true})
	if !errors.Is(err, modelstore.ErrUnavailable) {
		t.Errorf("got %v, want ErrUnavailable", err)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Error("the spooled upload was not released")
	}
}

func TestAliasFailureAfterPublishLeavesASuccessfulRun(t *testing.T) {
	srv := s3test.Start(t)
	m, store := newManagerOn(t, srv, 4)
	ctx := context.Background()
	j, err := m.Submit(ctx, "iris", DefaultParams(), "", irisSource(t))
	if err != nil {
		t.Fatal(err)
	}
	<-j.Done()
	first := j.Snapshot()
	if first.Status != StatusSucceeded {
		t.Fatalf("first run: %+v", first.Error)
	}
	// A directory where the latest alias object goes: S3 cannot write it.
	alias := srv.Path("modelferry", "models/iris/aliases/latest.json")
	if err := os.Remove(alias); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(alias, "blocked"), 0o755); err != nil {
		t.Fatal(err)
	}
	j, err = m.Submit(ctx, "iris", DefaultParams(), "", irisSource(t))
	if err != nil {
		t.Fatal(err)
	}
	<-j.Done()
	r := j.Snapshot()
	if r.Status != StatusSucceeded || r.Promoted || r.Version == "" ||
		!strings.Contains(r.PromotionReason, "was published, but moving the latest alias failed") {
		t.Errorf("run %s, promoted %v, version %q, reason %q", r.Status, r.Promoted, r.Version, r.PromotionReason)
	}
	if ok, err := store.VersionExists(ctx, "iris", r.Version); !ok || err != nil {
		t.Errorf("version %s not published: %v", r.Version, err)
	}
}
