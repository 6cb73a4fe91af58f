package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/envconfig"
	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/pkg/service"
	"github.com/modelferry/modelferry/services/trainer/internal/api"
	"github.com/modelferry/modelferry/services/trainer/internal/console"
	"github.com/modelferry/modelferry/services/trainer/internal/jobs"
	"github.com/modelferry/modelferry/services/trainer/internal/pipeline"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
	"github.com/modelferry/modelferry/services/trainer/internal/serving"
)

type config struct {
	token           string
	readToken       string
	limits          pipeline.Limits
	runTimeout      time.Duration
	dataDir         string
	tempDir         string
	maxUpload       int64
	maxQueue        int
	parallel        int
	gate            registry.Gate
	shutdownTimeout time.Duration
	prometheusURL   string
}

func (cfg *config) load(env *envconfig.Env) service.Lifecycle {
	cfg.token = env.Secret("TRAINER_TOKEN", "bearer token required on mutating calls; empty means no auth")
	cfg.readToken = env.Secret("TRAINER_READ_TOKEN", "bearer token required to read runs, models and datasets (TRAINER_TOKEN works too); empty means reads are open")
	cfg.dataDir = env.String("TRAINER_DATA_DIR", "data", "directory of default datasets, <model>.csv")
	cfg.tempDir = env.String("TRAINER_TMP_DIR", os.TempDir(), "where uploads are spooled while they train")
	cfg.maxUpload = env.Int64("TRAINER_MAX_UPLOAD_BYTES", 1<<30, "largest CSV or multipart upload")
	cfg.maxQueue = env.Int("TRAINER_MAX_QUEUE", 16, "runs that may wait across models before POST /train answers 429")
	cfg.parallel = env.Int("TRAINER_PARALLEL_RUNS", 1, "runs of different models that may train at once")
	cfg.gate = registry.Gate{
		MinAccuracy:   env.Float("TRAINER_GATE_MIN_ACCURACY", 0.7, "quality gate: lowest accuracy promoted to production"),
		MaxRegression: env.Float("TRAINER_GATE_MAX_REGRESSION", 0.05, "quality gate: how far below production's accuracy a new model may be"),
	}
	cfg.limits = pipeline.Limits{
		MaxFeatures:   env.Int("TRAINER_MAX_FEATURES", pipeline.DefaultLimits.MaxFeatures, "most feature columns a dataset may have"),
		MaxClasses:    env.Int("TRAINER_MAX_CLASSES", pipeline.DefaultLimits.MaxClasses, "most distinct labels a dataset may have"),
		MaxParameters: env.Int("TRAINER_MAX_PARAMETERS", pipeline.DefaultLimits.MaxParameters, "most coefficients (features × classes) a model may have"),
		MaxNameBytes:  pipeline.DefaultLimits.MaxNameBytes,
	}
	cfg.runTimeout = env.Duration("TRAINER_RUN_TIMEOUT", time.Hour, "longest a run may take from start to end; it then fails")
	cfg.shutdownTimeout = env.Duration("TRAINER_SHUTDOWN_TIMEOUT", time.Minute, "how long running trainings may take to finish at shutdown")
	cfg.prometheusURL = env.String("TRAINER_PROMETHEUS_URL", "", "Prometheus that scrapes the predictors (http://host:9090); the console's serving pages and GET /models/{m}/serving read it; empty turns them off")
	if u, err := url.Parse(cfg.prometheusURL); cfg.prometheusURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		env.Fail("TRAINER_PROMETHEUS_URL must be an http(s) URL such as http://localhost:9090")
	}
	if cfg.maxUpload < 1 {
		env.Fail("TRAINER_MAX_UPLOAD_BYTES must be positive")
	}
	if cfg.maxQueue < 1 {
		env.Fail("TRAINER_MAX_QUEUE must be positive")
	}
	if cfg.parallel < 1 {
		env.Fail("TRAINER_PARALLEL_RUNS must be positive")
	}
	if cfg.limits.MaxFeatures < 1 || cfg.limits.MaxClasses < 2 || cfg.limits.MaxParameters < 2 {
		env.Fail("TRAINER_MAX_FEATURES must be positive, TRAINER_MAX_CLASSES and TRAINER_MAX_PARAMETERS at least 2")
	}
	if cfg.runTimeout <= 0 {
		env.Fail("TRAINER_RUN_TIMEOUT must be positive")
	}
	// Answers of at most a minute, but /train lifts both limits for its
	// uploads and its waits.
	return service.Lifecycle{
		Timeouts:        httpserver.Timeouts{Read: time.Minute, Write: time.Minute},
		ShutdownTimeout: cfg.shutdownTimeout,
	}
}

// run starts the trainer and blocks until ctx is done. `trainer
// healthcheck` checks a running trainer instead.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var cfg config
	return service.Run(ctx, service.Spec{
		Name: "trainer", Summary: "Trains models and publishes them to S3.",
		AddrVar: "TRAINER_ADDR", AddrDefault: ":8080",
		Configure: cfg.load,
		Start:     func(app *service.App) error { return start(app, cfg) },
	}, args, getenv, stdout)
}

// start wires the registry, the run queue and the API.
func start(app *service.App, cfg config) error {
	started := time.Now()
	if cfg.token == "" && !service.Loopback(app.Addr) {
		app.Logger.Warn("TRAINER_TOKEN is empty and the trainer listens beyond loopback: anyone who reaches " +
			app.Addr + " can train models and move production; set TRAINER_TOKEN")
	}
	uploads, err := uploadDir(cfg.tempDir, app.Logger)
	if err != nil {
		return err
	}
	var queue *jobs.Queue
	reg := registry.New(registry.Config{
		Storage: app.Store, Logger: app.Logger, Gate: cfg.gate,
		Live: func(id string) (registry.Run, bool) { return queue.Live(id) },
	})
	queue = jobs.New(jobs.Config{
		Saver: reg, Logger: app.Logger, Metrics: jobs.NewMetrics(app.Registry),
		MaxQueued: cfg.maxQueue, Parallel: cfg.parallel, RunTimeout: cfg.runTimeout,
		Work: func(ctx context.Context, run registry.Run, src pipeline.Source, update func(func(*registry.Run))) error {
			return pipeline.Run(ctx, pipeline.Input{
				Run: run, Source: src, Limits: cfg.limits, Datasets: app.Store, Registry: reg, Logger: app.Logger,
				TrainerVersion: app.Version, Now: time.Now, Update: update,
			})
		},
	})
	// With a read token, a browser's reads carry it in the console's
	// cookie: from here on, for the API's routes and the console's.
	var readAuth gin.HandlerFunc
	if cfg.readToken != "" {
		app.Engine.Use(console.TokenFromCookie)
		readAuth = httpserver.BearerAuth(app.Logger, "modelferry-trainer", cfg.token, cfg.readToken)
	}
	// Without Prometheus both stay nil: the API answers 503 and the
	// console's panels say how to turn them on.
	var servingAPI api.Serving
	var servingConsole console.Serving
	if cfg.prometheusURL != "" {
		prom, err := serving.Dial(cfg.prometheusURL)
		if err != nil {
			return err
		}
		servingAPI, servingConsole = prom, prom
	}
	api.New(api.Config{
		Logger: app.Logger, Registry: reg, Queue: queue, Storage: app.Store, TrainerVersion: app.Version,
		DataDir: cfg.dataDir, TempDir: uploads, MaxUploadBytes: cfg.maxUpload, Token: cfg.token, ReadToken: cfg.readToken,
		Jobs: queue, Artifacts: reg, Datasets: reg, DatasetFiles: app.Store, Serving: servingAPI,
	}).Register(app.Engine)
	console.New(console.Config{Registry: reg, Logger: app.Logger, TrainerVersion: app.Version, Serving: servingConsole}).Register(app.Engine, readAuth)

	// Ready once storage answers and what a dead process left is cleaned
	// up; then as long as storage answers.
	recovered := make(chan struct{})
	app.Background(func(ctx context.Context) {
		select {
		case <-app.StorageReady():
		case <-ctx.Done():
			return
		}
		if err := reg.RecoverInterrupted(ctx, started); err != nil {
			app.Logger.Warn("checking for interrupted runs", "err", err)
		}
		close(recovered)
	})
	app.Prober.AddCheck(func(ctx context.Context) (map[string]any, error) {
		select {
		case <-recovered:
		default:
			return nil, errNotReached
		}
		if err := app.Store.Ping(ctx); err != nil {
			return nil, errStorageDown
		}
		return nil, nil
	})

	// Queued runs fail at once and running ones get until the deadline,
	// so that requests waiting on them can end while the server drains.
	stopped := make(chan struct{})
	app.Add(func() error {
		<-stopped
		return nil
	}, func(error) {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout*9/10)
			defer cancel()
			queue.Shutdown(ctx)
			close(stopped)
		}()
	})
	return nil
}

type readiness string

func (r readiness) Error() string { return string(r) }

const (
	errNotReached  = readiness("model storage not reached yet")
	errStorageDown = readiness("model storage is unavailable")
)

// uploadDir is where uploads are spooled: a directory of the trainer's own
// under tmp, emptied at start of what a killed process left.
func uploadDir(tmp string, logger *slog.Logger) (string, error) {
	dir := filepath.Join(tmp, "modelferry-uploads")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("upload directory: %w", err)
	}
	left, err := filepath.Glob(filepath.Join(dir, "upload-*.csv"))
	if err != nil {
		return "", fmt.Errorf("upload directory: %w", err)
	}
	for _, f := range left {
		if err := os.Remove(f); err != nil {
			logger.Warn("removing a spooled upload left behind", "file", f, "err", err)
			continue
		}
		logger.Info("removed a spooled upload left behind", "file", f)
	}
	return dir, nil
}
