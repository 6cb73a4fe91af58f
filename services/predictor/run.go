package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/modelferry/modelferry/pkg/envconfig"
	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/pkg/service"
	"github.com/modelferry/modelferry/services/predictor/internal/api"
	"github.com/modelferry/modelferry/services/predictor/internal/monitor"
	"github.com/modelferry/modelferry/services/predictor/internal/reloader"
)

type config struct {
	token        string
	driftWindow  time.Duration
	shadowAlias  string
	shadowSample float64
	logSample    float64
	model        string
	alias        string
	pollInterval time.Duration
	maxBody      int64
	maxBatch     int
	maxInflight  int64
	cacheDir     string
}

func (cfg *config) load(env *envconfig.Env) service.Lifecycle {
	cfg.token = env.Secret("PREDICTOR_TOKEN", "bearer token required on predictions and model details (health, readiness and metrics stay open); empty means no auth")
	cfg.model = env.String("PREDICTOR_MODEL", "iris", "model to serve")
	cfg.alias = env.String("PREDICTOR_ALIAS", "production", "alias of the model to follow")
	cfg.pollInterval = env.Duration("PREDICTOR_POLL_INTERVAL", time.Second, "how often the alias is checked (with ±10% jitter)")
	cfg.maxBody = env.Int64("PREDICTOR_MAX_BODY_BYTES", 8<<20, "largest request body")
	cfg.maxBatch = env.Int("PREDICTOR_MAX_BATCH", 10000, "most rows in one request")
	cfg.maxInflight = env.Int64("PREDICTOR_MAX_INFLIGHT_BYTES", 32<<20, "most bytes of large bodies (over 64 KiB) held at once, by at most one request per two CPUs; other large requests wait up to 10s, then get 503")
	cfg.driftWindow = env.Duration("PREDICTOR_DRIFT_WINDOW", 10*time.Minute, "window of the live feature and class distributions compared with the training baseline (drift metrics); 0 turns drift monitoring off")
	cfg.shadowAlias = env.String("PREDICTOR_SHADOW_ALIAS", "", "an alias (e.g. latest) whose version scores requests too, off the response path, to compare with the served one; empty turns shadow scoring off")
	cfg.shadowSample = env.Float("PREDICTOR_SHADOW_SAMPLE", 1, "share of requests the shadow scores, in (0, 1]")
	cfg.logSample = env.Float("PREDICTOR_LOG_SAMPLE", 0, "share of requests logged with their answers to logs/<model>/<date>/ in the bucket (NDJSON); 0 turns it off")
	cfg.cacheDir = env.String("PREDICTOR_CACHE_DIR", "", "keep the last good model here and serve it at start when S3 is down; empty disables")
	life := service.Lifecycle{
		Timeouts:        httpserver.Timeouts{Read: 30 * time.Second, Write: 30 * time.Second},
		DrainDelay:      env.Duration("PREDICTOR_SHUTDOWN_DELAY", 2*time.Second, "how long /readyz answers 503 before the server stops accepting, at shutdown"),
		ShutdownTimeout: env.Duration("PREDICTOR_SHUTDOWN_TIMEOUT", 15*time.Second, "how long in-flight requests may take to finish at shutdown"),
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
	if cfg.driftWindow < 0 || (cfg.driftWindow > 0 && cfg.driftWindow < monitor.Buckets*time.Second) {
		env.Fail("PREDICTOR_DRIFT_WINDOW must be 0 (off) or at least %ds", monitor.Buckets)
	}
	if cfg.shadowAlias != "" && !modelstore.ValidName(cfg.shadowAlias) {
		env.Fail("PREDICTOR_SHADOW_ALIAS %q must match [a-z0-9][a-z0-9_-]{0,62}", cfg.shadowAlias)
	}
	if !(cfg.shadowSample > 0 && cfg.shadowSample <= 1) {
		env.Fail("PREDICTOR_SHADOW_SAMPLE must be in (0, 1]")
	}
	if !(cfg.logSample >= 0 && cfg.logSample <= 1) {
		env.Fail("PREDICTOR_LOG_SAMPLE must be in [0, 1]")
	}
	if cfg.maxBody < 1 || cfg.maxBatch < 1 || cfg.maxInflight < 1 {
		env.Fail("PREDICTOR_MAX_BODY_BYTES, PREDICTOR_MAX_BATCH and PREDICTOR_MAX_INFLIGHT_BYTES must be positive")
	}
	return life
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
	var cfg config
	return service.Run(ctx, service.Spec{
		Name: "predictor", Summary: "Serves predictions of a model it follows in S3.",
		AddrVar: "PREDICTOR_ADDR", AddrDefault: ":8000", Listener: ln,
		Configure: cfg.load,
		Start: func(app *service.App) error {
			var clock *monitor.Clock
			if cfg.driftWindow > 0 {
				clock = monitor.NewClock(cfg.driftWindow/monitor.Buckets, time.Now())
				app.Background(func(ctx context.Context) { clock.Run(ctx.Done()) })
			}
			models := reloader.New(reloader.Config{
				Store: app.Store, Logger: app.Logger, Registry: app.Registry, Model: cfg.model, Alias: cfg.alias,
				Interval: cfg.pollInterval, CacheDir: cfg.cacheDir, Clock: clock,
			})
			app.Registry.MustRegister(monitor.NewCollector(func() []monitor.Watched {
				m := models.Current()
				if m == nil {
					return nil
				}
				return []monitor.Watched{{Model: m.Name, Version: m.Version, Features: m.Features, Classes: m.Classes, Drift: m.Drift()}}
			}))
			app.Prober.AddCheck(func(context.Context) (map[string]any, error) {
				m := models.Current()
				if m == nil {
					return nil, fmt.Errorf("no model loaded yet: %s", models.Waiting())
				}
				return map[string]any{"model": m.Name, "version": m.Version}, nil
			})
			tap := &monitor.Tap{}
			if cfg.logSample > 0 {
				tap.Sampler = monitor.NewSampler(monitor.SamplerConfig{Store: app.Store, Logger: app.Logger,
					Registry: app.Registry, Fraction: cfg.logSample})
				app.Background(tap.Sampler.Run)
			}
			if cfg.shadowAlias != "" {
				shadow := reloader.New(reloader.Config{
					Store: app.Store, Logger: app.Logger.With("shadow", true), Model: cfg.model, Alias: cfg.shadowAlias,
					Interval: cfg.pollInterval,
				})
				app.Background(shadow.Run)
				tap.Shadow = monitor.NewShadow(monitor.ShadowConfig{Registry: app.Registry, Fraction: cfg.shadowSample})
				tap.ShadowOf = func(model string) (monitor.Scorer, string, bool) {
					m := shadow.Current()
					if m == nil || model != cfg.model {
						return nil, "", false
					}
					return m, m.Version, true
				}
				app.Background(tap.Shadow.Run)
			}
			api.New(api.Config{
				Logger: app.Logger, Models: models, Model: cfg.model, Alias: cfg.alias,
				MaxBodyBytes: cfg.maxBody, MaxBatch: cfg.maxBatch, MaxInflightBytes: cfg.maxInflight, Token: cfg.token,
				Tap: tap, ShadowAlias: cfg.shadowAlias,
				Ready: func() bool { _, err := app.Prober.Ready(context.Background()); return err == nil },
			}).Register(app.Engine)
			app.Background(models.Run)
			return nil
		},
	}, args, getenv, stdout)
}
