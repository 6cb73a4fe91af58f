package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
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
	"github.com/modelferry/modelferry/services/predictor/internal/api"
	"github.com/modelferry/modelferry/services/predictor/internal/reloader"
)

type config struct {
	addr            string
	model           string
	alias           string
	pollInterval    time.Duration
	maxBody         int64
	maxBatch        int
	cacheDir        string
	drainDelay      time.Duration
	shutdownTimeout time.Duration
	logLevel        string
	logFormat       string
	s3              modelstore.Options
}

func loadConfig(env *envconfig.Env) config {
	cfg := config{
		addr:            env.String("PREDICTOR_ADDR", ":8000", "listen address"),
		model:           env.String("PREDICTOR_MODEL", "iris", "model to serve"),
		alias:           env.String("PREDICTOR_ALIAS", "production", "alias of the model to follow"),
		pollInterval:    env.Duration("PREDICTOR_POLL_INTERVAL", time.Second, "how often the alias is checked (with ±10% jitter)"),
		maxBody:         env.Int64("PREDICTOR_MAX_BODY_BYTES", 8<<20, "largest request body"),
		maxBatch:        env.Int("PREDICTOR_MAX_BATCH", 10000, "most rows in one request"),
		cacheDir:        env.String("PREDICTOR_CACHE_DIR", "", "keep the last good model here and serve it at start when S3 is down; empty disables"),
		drainDelay:      env.Duration("PREDICTOR_SHUTDOWN_DELAY", 2*time.Second, "how long /readyz answers 503 before the server stops accepting, at shutdown"),
		shutdownTimeout: env.Duration("PREDICTOR_SHUTDOWN_TIMEOUT", 15*time.Second, "how long in-flight requests may take to finish at shutdown"),
		logLevel:        env.String("LOG_LEVEL", "info", "debug, info, warn or error"),
		logFormat:       env.String("LOG_FORMAT", "json", "json or text"),
		s3:              modelstore.OptionsFromEnv(env),
	}
	if !modelstore.ValidName(cfg.model) {
		env.Fail("PREDICTOR_MODEL %q must match [a-z0-9][a-z0-9_-]{0,62}", cfg.model)
	}
	if !modelstore.ValidName(cfg.alias) {
		env.Fail("PREDICTOR_ALIAS %q must match [a-z0-9][a-z0-9_-]{0,62}", cfg.alias)
	}
	if cfg.pollInterval <= 0 {
		env.Fail("PREDICTOR_POLL_INTERVAL must be positive")
	}
	if cfg.maxBody < 1 || cfg.maxBatch < 1 {
		env.Fail("PREDICTOR_MAX_BODY_BYTES and PREDICTOR_MAX_BATCH must be positive")
	}
	return cfg
}

// run starts the predictor and blocks until ctx is done. `predictor
// healthcheck` checks a running predictor instead.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	return runOn(ctx, nil, args, getenv, stdout)
}

// runOn is run serving on ln, when not nil, instead of listening on
// PREDICTOR_ADDR: a test hands over a listener it opened, so that no other
// process can take the port between choosing it and serving on it.
func runOn(ctx context.Context, ln net.Listener, args []string, getenv func(string) string, stdout io.Writer) error {
	env := envconfig.New(getenv)
	cfg := loadConfig(env)
	cmd, err := env.ParseArgs("predictor", "Serves predictions of a model it follows in S3.", args, stdout)
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
	logger.Info("starting predictor", "config", env)

	store, err := modelstore.New(cfg.s3)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	models := reloader.New(reloader.Config{
		Store: store, Logger: logger, Registry: reg, Model: cfg.model, Alias: cfg.alias,
		Interval: cfg.pollInterval, CacheDir: cfg.cacheDir,
	})

	var shuttingDown atomic.Bool
	ready := func() bool { return !shuttingDown.Load() }
	engine := httpserver.NewEngine(httpserver.Options{Logger: logger, Registry: reg, Namespace: "predictor"})
	engine.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	engine.GET("/readyz", func(c *gin.Context) {
		reason := ""
		switch m := models.Current(); {
		case shuttingDown.Load():
			reason = "shutting down"
		case m == nil:
			reason = fmt.Sprintf("no model loaded yet (waiting for %s@%s)", cfg.model, cfg.alias)
		default:
			c.JSON(http.StatusOK, gin.H{"status": "ready", "model": m.Name, "version": m.Version})
			return
		}
		httpserver.WriteError(c, logger, httpserver.Errorf(http.StatusServiceUnavailable, httpserver.CodeUnavailable, "not ready: %s", reason))
	})
	engine.GET("/metrics", httpserver.MetricsHandler(reg))
	api.New(api.Config{
		Logger: logger, Models: models, Model: cfg.model, Alias: cfg.alias,
		MaxBodyBytes: cfg.maxBody, MaxBatch: cfg.maxBatch, Ready: ready,
	}).Register(engine)

	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.addr); err != nil {
			return fmt.Errorf("listen %s: %w", cfg.addr, err)
		}
	}
	bgCtx, stopBackground := context.WithCancel(ctx)
	var background sync.WaitGroup
	background.Go(func() { ensureBucket(bgCtx, store, logger) })
	background.Go(func() { models.Run(bgCtx) })

	srv := httpserver.NewServer(engine, logger, httpserver.Timeouts{Read: 30 * time.Second, Write: 30 * time.Second})
	err = httpserver.Serve(ctx, srv, ln, httpserver.ServeOptions{
		Logger:          logger,
		OnShutdown:      func() { shuttingDown.Store(true) },
		DrainDelay:      cfg.drainDelay,
		ShutdownTimeout: cfg.shutdownTimeout,
	})
	stopBackground()
	background.Wait()
	logger.Info("predictor stopped")
	return err
}

// ensureBucket creates the bucket once S3 answers, so a predictor started
// before anything else still finds its alias later.
func ensureBucket(ctx context.Context, store *modelstore.Store, logger *slog.Logger) {
	_ = store.WaitForBucket(ctx, func(err error, wait time.Duration) {
		logger.Warn("model storage not reachable yet", "bucket", store.Bucket(), "retry_in", wait.String(), "err", err)
	})
}
