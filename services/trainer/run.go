package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/modelferry/modelferry/pkg/envconfig"
	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/pkg/logging"
)

type config struct {
	addr            string
	logLevel        string
	logFormat       string
	shutdownTimeout time.Duration
}

func loadConfig(env *envconfig.Env) config {
	return config{
		addr:            env.String("TRAINER_ADDR", ":8080", "listen address"),
		logLevel:        env.String("LOG_LEVEL", "info", "debug, info, warn or error"),
		logFormat:       env.String("LOG_FORMAT", "json", "json or text"),
		shutdownTimeout: env.Duration("TRAINER_SHUTDOWN_TIMEOUT", time.Minute, "how long running trainings may take to finish at shutdown"),
	}
}

// run starts the trainer and blocks until ctx is done.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	env := envconfig.New(getenv)
	cfg := loadConfig(env)
	fs := flag.NewFlagSet("trainer", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() {
		fmt.Fprintln(stdout, "Usage: trainer\n\nTrains models and publishes them to S3. Configured by environment variables:")
		env.Usage(stdout)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := env.Err(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	logger, err := logging.New(stdout, cfg.logLevel, cfg.logFormat)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	logger.Info("starting trainer", "config", env)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var ready atomic.Bool
	engine := httpserver.NewEngine(httpserver.Options{Logger: logger, Registry: reg, Namespace: "trainer"})
	engine.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	engine.GET("/readyz", func(c *gin.Context) {
		if !ready.Load() {
			httpserver.WriteError(c, logger, httpserver.Errorf(http.StatusServiceUnavailable, httpserver.CodeUnavailable, "not ready"))
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
	})
	engine.GET("/metrics", httpserver.MetricsHandler(reg))

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.addr, err)
	}
	ready.Store(true)
	return httpserver.Serve(ctx, httpserver.NewServer(engine, logger), ln, httpserver.ServeOptions{
		Logger:          logger,
		OnShutdown:      func() { ready.Store(false) },
		ShutdownTimeout: cfg.shutdownTimeout,
	})
}
