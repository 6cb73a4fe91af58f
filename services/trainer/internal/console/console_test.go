package console

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelferry/modelferry/devstack/testkit/repo"
	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/services/trainer/internal/api"
	"github.com/modelferry/modelferry/services/trainer/internal/jobs"
	"github.com/modelferry/modelferry/services/trainer/internal/pipeline"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// env is the trainer's API and console over a registry in memory, with
// the real queue and pipeline.
type env struct {
	t      testing.TB
	engine *gin.Engine
	mem    *modelstore.Memory
	store  *modelstore.Store
	reg    *registry.Registry
}

func newEnv(t testing.TB) *env {
	t.Helper()
	mem := modelstore.NewMemory("modelferry")
	store := modelstore.New(mem, modelstore.Options{Timeout: 2 * time.Second})
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	var queue *jobs.Queue
	reg := registry.New(registry.Config{Storage: store, Logger: logger, Gate: registry.Gate{MinAccuracy: 0.7, MaxRegression: 0.05},
		Live: func(id string) (registry.Run, bool) { return queue.Live(id) }})
	queue = jobs.New(jobs.Config{Saver: reg, Logger: logger, Metrics: jobs.NewMetrics(prometheus.NewRegistry()), MaxQueued: 8, Parallel: 1,
		Work: func(ctx context.Context, run registry.Run, src pipeline.Source, update func(func(*registry.Run)), commit func() error) error {
			return pipeline.Run(ctx, pipeline.Input{Run: run, Source: src, Datasets: store, Registry: reg, Logger: logger,
				TrainerVersion: "test", Now: time.Now, Update: update, Commit: commit})
		}})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		queue.Shutdown(ctx)
	})
	e := httpserver.NewEngine(httpserver.Options{Logger: logger, Registry: prometheus.NewRegistry(), Namespace: "trainer"})
	api.New(api.Config{Logger: logger, Registry: reg, Queue: queue, Storage: store, TrainerVersion: "test",
		DataDir: repo.Path(t, "data"), TempDir: t.TempDir(), MaxUploadBytes: 1 << 20,
		Jobs: queue, Artifacts: reg, Datasets: reg, DatasetFiles: store}).Register(e)
	New(Config{Registry: reg, Logger: logger, TrainerVersion: "test"}).Register(e, nil)
	return &env{t: t, engine: e, mem: mem, store: store, reg: reg}
}

func (e *env) get(target string) (int, string) {
	e.t.Helper()
	w := httptest.NewRecorder()
	e.engine.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
	return w.Code, w.Body.String()
}

// train runs a training to its end and returns the run.
func (e *env) train(t testing.TB, query string) registry.Run {
	t.Helper()
	w := httptest.NewRecorder()
	e.engine.ServeHTTP(w, httptest.NewRequest("POST", "/train?wait=true&"+query, nil))
	if w.Code != http.StatusOK {
		t.Fatalf("train %s: %d %s", query, w.Code, w.Body)
	}
	run, err := e.reg.Run(context.Background(), strings.TrimPrefix(w.Header().Get("Location"), "/runs/"))
	if err != nil {
		t.Fatal(err)
	}
	return run
}
