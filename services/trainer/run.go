package main

import (
	"context"
	"io"
	"net/url"
	"os"
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
	sameOrigin      httpserver.SameOrigin
	readToken       string
	limits          pipeline.Limits
	runTimeout      time.Duration
	dataDir         string
	tempDir         string
	maxUpload       int64
	minUploadRate   int64
	maxQueue        int
	parallel        int
	gate            registry.Gate
	shutdownTimeout time.Duration
	prometheusURL   string
}

func (cfg *config) load(env *envconfig.Env) service.Lifecycle {
	cfg.token = env.Secret("TRAINER_TOKEN", "bearer token required on mutating calls; empty means no auth")
	cfg.readToken = env.Secret("TRAINER_READ_TOKEN", "bearer token required to read runs, models and datasets (TRAINER_TOKEN works too); empty means reads are open")
	cfg.sameOrigin = httpserver.SameOrigin{Var: "TRAINER", TokenSet: cfg.token != "",
		Origins: httpserver.SplitList(env.String("TRAINER_ALLOWED_ORIGINS", "", "origins (https://console.example.com,...) whose pages may change state besides the trainer's own; a browser's other cross-site writes get 403")),
		Hosts:   httpserver.SplitList(env.String("TRAINER_ALLOWED_HOSTS", "", "without TRAINER_TOKEN, names (trainer,.svc.cluster.local,...) the trainer answers besides loopback ones; others get 403 (health and metrics stay open)"))}
	cfg.dataDir = env.String("TRAINER_DATA_DIR", "data", "directory of default datasets, <model>.csv")
	cfg.tempDir = env.String("TRAINER_TMP_DIR", os.TempDir(), "where uploads are spooled while they train (modelferry-uploads/, a directory per process)")
	cfg.maxUpload = env.Int64("TRAINER_MAX_UPLOAD_BYTES", 1<<30, "largest CSV or multipart upload")
	cfg.minUploadRate = env.Int64("TRAINER_MIN_UPLOAD_RATE", 64<<10, "slowest a /train body may arrive, in bytes a second averaged over 30s (and it must end by 30s + TRAINER_MAX_UPLOAD_BYTES at that rate, or its Content-Length at that rate); slower ones get 408 and free their place; 0 turns it off")
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
		MaxCategories: env.Int("TRAINER_MAX_CATEGORIES", pipeline.DefaultLimits.MaxCategories, "most categories a categorical column may have"),
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
	if cfg.minUploadRate < 0 {
		env.Fail("TRAINER_MIN_UPLOAD_RATE must not be negative")
	}
	if cfg.maxQueue < 1 {
		env.Fail("TRAINER_MAX_QUEUE must be positive")
	}
	if cfg.parallel < 1 {
		env.Fail("TRAINER_PARALLEL_RUNS must be positive")
	}
	if cfg.limits.MaxFeatures < 1 || cfg.limits.MaxClasses < 2 || cfg.limits.MaxParameters < 2 || cfg.limits.MaxCategories < 1 {
		env.Fail("TRAINER_MAX_FEATURES and TRAINER_MAX_CATEGORIES must be positive, TRAINER_MAX_CLASSES and TRAINER_MAX_PARAMETERS at least 2")
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
	uploads, err := claimUploadDir(cfg.tempDir, app.Logger)
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
		Work: func(ctx context.Context, run registry.Run, src pipeline.Source, update func(func(*registry.Run)), commit func() error) error {
			return pipeline.Run(ctx, pipeline.Input{
				Run: run, Source: src, Limits: cfg.limits, Datasets: app.Store, Registry: reg, Logger: app.Logger,
				TrainerVersion: app.Version, Now: time.Now, Update: update, Commit: commit,
			})
		},
	})
	app.Engine.Use(cfg.sameOrigin.Guard(app.Logger)) // before the routes it guards
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
		DataDir: cfg.dataDir, TempDir: uploads.path, MaxUploadBytes: cfg.maxUpload, MinUploadRate: cfg.minUploadRate, Token: cfg.token, ReadToken: cfg.readToken,
		Jobs: queue, Artifacts: reg, Datasets: reg, DatasetFiles: app.Store, Serving: servingAPI,
	}).Register(app.Engine)
	console.New(console.Config{Registry: reg, Logger: app.Logger, TrainerVersion: app.Version,
		Tokens: []string{cfg.token, cfg.readToken}, Serving: servingConsole}).Register(app.Engine, readAuth)

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
			if err := uploads.release(); err != nil {
				app.Logger.Warn("removing the upload directory", "err", err)
			}
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
