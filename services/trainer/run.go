package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/modelferry/modelferry/pkg/envconfig"
	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/pkg/logging"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/services/trainer/internal/api"
	"github.com/modelferry/modelferry/services/trainer/internal/training"
)

type config struct {
	addr            string
	token           string
	dataDir         string
	tempDir         string
	maxUpload       int64
	maxQueue        int
	parallel        int
	gate            training.Gate
	shutdownTimeout time.Duration
	logLevel        string
	logFormat       string
	s3              modelstore.Options
}

func loadConfig(env *envconfig.Env) config {
	cfg := config{
		addr:      env.String("TRAINER_ADDR", ":8080", "listen address"),
		token:     env.Secret("TRAINER_TOKEN", "bearer token required on mutating calls; empty means no auth"),
		dataDir:   env.String("TRAINER_DATA_DIR", "data", "directory of default datasets, <model>.csv"),
		tempDir:   env.String("TRAINER_TMP_DIR", os.TempDir(), "where uploads are spooled while they train"),
		maxUpload: env.Int64("TRAINER_MAX_UPLOAD_BYTES", 1<<30, "largest CSV or multipart upload"),
		maxQueue:  env.Int("TRAINER_MAX_QUEUE", 16, "runs that may wait across models before POST /train answers 429"),
		parallel:  env.Int("TRAINER_PARALLEL_RUNS", 1, "runs of different models that may train at once"),
		gate: training.Gate{
			MinAccuracy:   env.Float("TRAINER_GATE_MIN_ACCURACY", 0.7, "quality gate: lowest accuracy promoted to production"),
			MaxRegression: env.Float("TRAINER_GATE_MAX_REGRESSION", 0.05, "quality gate: how far below production's accuracy a new model may be"),
		},
		shutdownTimeout: env.Duration("TRAINER_SHUTDOWN_TIMEOUT", time.Minute, "how long running trainings may take to finish at shutdown"),
		logLevel:        env.String("LOG_LEVEL", "info", "debug, info, warn or error"),
		logFormat:       env.String("LOG_FORMAT", "json", "json or text"),
		s3:              modelstore.OptionsFromEnv(env),
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
	return cfg
}

// run starts the trainer and blocks until ctx is done. `trainer
// healthcheck` checks a running trainer instead.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	env := envconfig.New(getenv)
	cfg := loadConfig(env)
	cmd, err := env.ParseArgs("trainer", "Trains models and publishes them to S3.", args, stdout)
	switch {
	case err != nil:
		return err
	case cmd == envconfig.Help:
		return nil
	case cmd == envconfig.Healthcheck:
		return httpserver.Healthcheck(ctx, cfg.addr)
	}
	logger, err := logging.New(stdout, cfg.logLevel, cfg.logFormat)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	logger.Info("starting trainer", "version", version(), "config", env)

	store, err := modelstore.New(cfg.s3)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	manager := training.NewManager(training.Config{
		Store: store, Logger: logger, Metrics: training.NewMetrics(reg), Gate: cfg.gate,
		MaxQueued: cfg.maxQueue, Parallel: cfg.parallel, TrainerVersion: version(),
	})

	var storageReady, shuttingDown atomic.Bool
	engine := httpserver.NewEngine(httpserver.Options{Logger: logger, Registry: reg, Namespace: "trainer"})
	engine.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	engine.GET("/readyz", func(c *gin.Context) {
		reason := ""
		switch {
		case shuttingDown.Load():
			reason = "shutting down"
		case !storageReady.Load():
			reason = "model storage not reached yet"
		default:
			pctx, cancel := context.WithTimeout(c, 2*time.Second)
			defer cancel()
			if err := store.Ping(pctx); err != nil {
				reason = "model storage is unavailable"
			}
		}
		if reason != "" {
			httpserver.WriteError(c, logger, httpserver.Errorf(http.StatusServiceUnavailable, httpserver.CodeUnavailable, "not ready: %s", reason))
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
	})
	engine.GET("/metrics", httpserver.MetricsHandler(reg))
	api.New(api.Config{
		Logger: logger, Store: store, Manager: manager, DataDir: cfg.dataDir, TempDir: cfg.tempDir,
		MaxUploadBytes: cfg.maxUpload, Token: cfg.token,
	}).Register(engine)

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.addr, err)
	}
	bgCtx, stopBackground := context.WithCancel(ctx)
	var background sync.WaitGroup
	background.Go(func() { prepareStorage(bgCtx, store, manager, logger, &storageReady) })

	// Queued runs fail at once and running ones get until the deadline,
	// so that requests waiting on them can end while the server drains.
	managerDone := make(chan struct{})
	var stopManager sync.Once
	shutdownManager := func() {
		stopManager.Do(func() {
			go func() {
				defer close(managerDone)
				sctx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout*9/10)
				defer cancel()
				manager.Shutdown(sctx)
			}()
		})
	}
	// Answers of at most a minute, but /train lifts both limits for its
	// uploads and its waits.
	srv := httpserver.NewServer(engine, logger, httpserver.Timeouts{Read: time.Minute, Write: time.Minute})
	err = httpserver.Serve(ctx, srv, ln, httpserver.ServeOptions{
		Logger: logger,
		OnShutdown: func() {
			shuttingDown.Store(true)
			shutdownManager()
		},
		ShutdownTimeout: cfg.shutdownTimeout,
	})
	shutdownManager()
	<-managerDone
	stopBackground()
	background.Wait()
	logger.Info("trainer stopped")
	return err
}

// prepareStorage creates the bucket once S3 answers, then fails runs a
// previous process left unfinished.
func prepareStorage(ctx context.Context, store *modelstore.Store, manager *training.Manager, logger *slog.Logger, ready *atomic.Bool) {
	err := store.WaitForBucket(ctx, func(err error, wait time.Duration) {
		logger.Warn("model storage not reachable yet", "bucket", store.Bucket(), "retry_in", wait.String(), "err", err)
	})
	if err != nil {
		return
	}
	if err := manager.RecoverInterrupted(ctx); err != nil {
		logger.Warn("checking for interrupted runs", "err", err)
	}
	ready.Store(true)
	logger.Info("model storage ready", "bucket", store.Bucket())
}

// version is the module version or VCS revision the binary was built from.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return s.Value[:12]
		}
	}
	return "dev"
}
