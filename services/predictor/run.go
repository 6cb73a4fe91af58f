package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/modelferry/modelferry/pkg/envconfig"
	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/pkg/modelstore/names"
	"github.com/modelferry/modelferry/pkg/service"
	"github.com/modelferry/modelferry/services/predictor/internal/admission"
	"github.com/modelferry/modelferry/services/predictor/internal/api"
	"github.com/modelferry/modelferry/services/predictor/internal/catalog"
	"github.com/modelferry/modelferry/services/predictor/internal/grpcapi"
	"github.com/modelferry/modelferry/services/predictor/internal/monitor"
	"github.com/modelferry/modelferry/services/predictor/internal/reloader"
	"github.com/modelferry/modelferry/services/predictor/internal/usage"
)

type config struct {
	token        string
	sameOrigin   httpserver.SameOrigin
	publicDocs   bool
	driftWindow  time.Duration
	shadowAlias  string
	shadowSample float64
	logSample    float64
	model        string
	alias        string
	models       []catalog.Spec
	all          bool
	pollInterval time.Duration
	maxBody      int64
	maxArtifact  int64
	maxBatch     int
	maxInflight  int64
	cacheDir     string
	grpcAddr     string
	life         service.Lifecycle
}

func (cfg *config) load(env *envconfig.Env) service.Lifecycle {
	cfg.token = env.Secret("PREDICTOR_TOKEN", "bearer token required on predictions and model details, over REST and gRPC (health, readiness, reflection and metrics stay open); empty means no auth")
	cfg.publicDocs = env.Bool("PREDICTOR_PUBLIC_DOCS", false, "with PREDICTOR_TOKEN set, serve /openapi.json (model, feature and class names) without the token")
	cfg.sameOrigin = httpserver.SameOrigin{Var: "PREDICTOR", TokenSet: cfg.token != "",
		Origins: httpserver.SplitList(env.String("PREDICTOR_ALLOWED_ORIGINS", "", "origins (https://app.example.com,...) whose pages may POST to the predictor besides its own; a browser's other cross-site requests get 403")),
		Hosts:   httpserver.SplitList(env.String("PREDICTOR_ALLOWED_HOSTS", "", "without PREDICTOR_TOKEN, names (predictor,.svc.cluster.local,...) the predictor answers besides loopback ones; others get 403 (health and metrics stay open)"))}
	cfg.model = env.String("PREDICTOR_MODEL", "iris", "model to serve when PREDICTOR_MODELS is empty; with PREDICTOR_MODELS=*, the model of requests that name none")
	cfg.alias = env.String("PREDICTOR_ALIAS", "production", "alias the models follow (when PREDICTOR_MODELS names none)")
	models := env.String("PREDICTOR_MODELS", "", "models to serve: name@alias,name,... (the first is the default model), or * for every model of the bucket with PREDICTOR_ALIAS; empty means PREDICTOR_MODEL")
	cfg.pollInterval = env.Duration("PREDICTOR_POLL_INTERVAL", time.Second, "how often the alias is checked (with ±10% jitter)")
	cfg.maxBody = env.Int64("PREDICTOR_MAX_BODY_BYTES", 8<<20, "largest request body")
	cfg.maxArtifact = env.Int64("PREDICTOR_MAX_ARTIFACT_BYTES", modelstore.DefaultMaxArtifactBytes, "largest model artifact read from the bucket; a larger one is refused unread (aliases are bounded to 64 KiB)")
	cfg.maxBatch = env.Int("PREDICTOR_MAX_BATCH", 10000, "most rows in one request")
	cfg.maxInflight = env.Int64("PREDICTOR_MAX_INFLIGHT_BYTES", 32<<20, "most bytes of large bodies (over 64 KiB, and gRPC ModelInfer messages until their size is known) held at once, taken before they are read; at most one request per two CPUs works on an arrived body; others wait up to 10s, then get 503")
	cfg.driftWindow = env.Duration("PREDICTOR_DRIFT_WINDOW", 10*time.Minute, "window of the live feature and class distributions compared with the training baseline (drift metrics); 0 turns drift monitoring off")
	cfg.shadowAlias = env.String("PREDICTOR_SHADOW_ALIAS", "", "an alias (e.g. latest) whose version scores requests too, off the response path, to compare with the served one; empty turns shadow scoring off")
	cfg.shadowSample = env.Float("PREDICTOR_SHADOW_SAMPLE", 1, "share of requests the shadow scores, in (0, 1]")
	cfg.logSample = env.Float("PREDICTOR_LOG_SAMPLE", 0, "share of requests logged with their answers to logs/<model>/<date>/ in the bucket (NDJSON); 0 turns it off")
	cfg.cacheDir = env.String("PREDICTOR_CACHE_DIR", "", "keep the last good model here and serve it at start when S3 is down; empty disables")
	cfg.grpcAddr = env.String("PREDICTOR_GRPC_ADDR", ":8001", "listen address of the Open Inference Protocol over gRPC (inference.GRPCInferenceService, health, reflection); off turns it off")
	life := service.Lifecycle{
		Timeouts:        httpserver.Timeouts{Read: 30 * time.Second, Write: 30 * time.Second},
		DrainDelay:      env.Duration("PREDICTOR_SHUTDOWN_DELAY", 2*time.Second, "how long /readyz answers 503 before the server stops accepting, at shutdown"),
		ShutdownTimeout: env.Duration("PREDICTOR_SHUTDOWN_TIMEOUT", 15*time.Second, "how long in-flight requests may take to finish at shutdown"),
	}
	if !modelstore.ValidName(cfg.model) {
		env.Fail("PREDICTOR_MODEL %q %s", cfg.model, names.Rule)
	}
	if !modelstore.ValidName(cfg.alias) {
		env.Fail("PREDICTOR_ALIAS %q %s", cfg.alias, names.Rule)
	}
	var err error
	if cfg.models, cfg.all, err = parseModels(models, cfg.model, cfg.alias); err != nil {
		env.Fail("PREDICTOR_MODELS: %v", err)
	}
	if cfg.pollInterval <= 0 {
		env.Fail("PREDICTOR_POLL_INTERVAL must be positive")
	}
	if cfg.driftWindow < 0 || (cfg.driftWindow > 0 && cfg.driftWindow < monitor.Buckets*time.Second) {
		env.Fail("PREDICTOR_DRIFT_WINDOW must be 0 (off) or at least %ds", monitor.Buckets)
	}
	if cfg.shadowAlias != "" && !modelstore.ValidName(cfg.shadowAlias) {
		env.Fail("PREDICTOR_SHADOW_ALIAS %q %s", cfg.shadowAlias, names.Rule)
	}
	if !(cfg.shadowSample > 0 && cfg.shadowSample <= 1) {
		env.Fail("PREDICTOR_SHADOW_SAMPLE must be in (0, 1]")
	}
	if !(cfg.logSample >= 0 && cfg.logSample <= 1) {
		env.Fail("PREDICTOR_LOG_SAMPLE must be in [0, 1]")
	}
	if cfg.maxBody < 1 || cfg.maxBatch < 1 || cfg.maxInflight < 1 || cfg.maxArtifact < 1 {
		env.Fail("PREDICTOR_MAX_BODY_BYTES, PREDICTOR_MAX_BATCH, PREDICTOR_MAX_INFLIGHT_BYTES and PREDICTOR_MAX_ARTIFACT_BYTES must be positive")
	}
	cfg.life = life
	return life
}

// parseModels reads PREDICTOR_MODELS: a comma list of name or name@alias
// (alias defaulting to PREDICTOR_ALIAS), or * for every model of the
// bucket; empty is model@alias.
func parseModels(s, model, alias string) (specs []catalog.Spec, all bool, err error) {
	switch s = strings.TrimSpace(s); s {
	case "":
		return []catalog.Spec{{Name: model, Alias: alias}}, false, nil
	case "*":
		return nil, true, nil
	}
	for item := range strings.SplitSeq(s, ",") {
		name, a, _ := strings.Cut(strings.TrimSpace(item), "@")
		if a == "" {
			a = alias
		}
		switch {
		case !modelstore.ValidName(name):
			return nil, false, fmt.Errorf("model %s %s", names.Quote(name), names.Rule)
		case !modelstore.ValidName(a):
			return nil, false, fmt.Errorf("alias %s of %s %s", names.Quote(a), name, names.Rule)
		case slices.ContainsFunc(specs, func(s catalog.Spec) bool { return s.Name == name }):
			return nil, false, fmt.Errorf("model %s is listed twice", name)
		}
		specs = append(specs, catalog.Spec{Name: name, Alias: a})
	}
	return specs, false, nil
}

// defaultModel is the model of requests that name none.
func (cfg *config) defaultModel() string {
	if cfg.all {
		return cfg.model
	}
	return cfg.models[0].Name
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
		Name: "predictor", Summary: "Serves predictions of the models it follows in S3.",
		AddrVar: "PREDICTOR_ADDR", AddrDefault: ":8000", Listener: ln,
		Configure: cfg.load,
		Start:     func(app *service.App) error { return start(app, cfg) },
	}, args, getenv, stdout)
}

// start wires the catalog of models, monitoring, the HTTP API and the
// gRPC server.
func start(app *service.App, cfg config) error {
	app.Engine.Use(cfg.sameOrigin.Guard(app.Logger)) // before the routes it guards
	var clock *monitor.Clock
	if cfg.driftWindow > 0 {
		clock = monitor.NewClock(cfg.driftWindow/monitor.Buckets, time.Now())
		app.Background(func(ctx context.Context) { clock.Run(ctx.Done()) })
	}
	counters := usage.New(app.Registry)
	models := catalog.New(catalog.Config{
		Store: app.Store.WithMaxArtifactBytes(cfg.maxArtifact), Logger: app.Logger, Metrics: reloader.NewMetrics(app.Registry),
		Models: cfg.models, All: cfg.all, Alias: cfg.alias, Default: cfg.defaultModel(), ShadowAlias: cfg.shadowAlias,
		Interval: cfg.pollInterval, CacheDir: cfg.cacheDir, Clock: clock, OnUnload: counters.Forget,
	})
	app.Registry.MustRegister(monitor.NewCollector(func() []monitor.Watched {
		var out []monitor.Watched
		for _, m := range models.Loaded() {
			d, _ := m.Drift().(*monitor.Drift)
			out = append(out, monitor.Watched{Model: m.Name, Version: m.Version, Features: m.Features, Classes: m.Classes, Drift: d})
		}
		return out
	}))
	app.Prober.AddCheck(func(context.Context) (map[string]any, error) {
		if err := models.Ready(); err != nil {
			return nil, err
		}
		versions := map[string]string{}
		for _, m := range models.Loaded() {
			versions[m.Name] = m.Version
		}
		return map[string]any{"models": versions}, nil
	})
	tap := &monitor.Tap{}
	if cfg.logSample > 0 {
		tap.Sampler = monitor.NewSampler(monitor.SamplerConfig{Store: app.Store, Logger: app.Logger,
			Registry: app.Registry, Fraction: cfg.logSample})
		app.Background(tap.Sampler.Run)
	}
	if cfg.shadowAlias != "" {
		tap.Shadow = monitor.NewShadow(monitor.ShadowConfig{Registry: app.Registry, Fraction: cfg.shadowSample})
		tap.ShadowOf = func(model string) (monitor.Scorer, string, bool) {
			// A tabular model's rows are its own transform's:
			// no other version reads them alike.
			if m := models.Shadow(model); m != nil && !m.Tabular() {
				return m, m.Version, true
			}
			return nil, "", false
		}
		app.Background(tap.Shadow.Run)
	}
	ready := func() bool { _, err := app.Prober.Ready(context.Background()); return err == nil }
	gate := admission.ForProcess(cfg.maxInflight)
	api.New(api.Config{
		Logger: app.Logger, Models: models, Counters: counters, Version: app.Version,
		MaxBodyBytes: cfg.maxBody, MaxBatch: cfg.maxBatch, Gate: gate, Token: cfg.token, PublicDocs: cfg.publicDocs,
		Tap: tap, ShadowAlias: cfg.shadowAlias, Ready: ready,
	}).Register(app.Engine)
	app.Background(models.Run)
	if cfg.grpcAddr == "off" {
		return nil
	}
	ln, err := net.Listen("tcp", cfg.grpcAddr)
	if err != nil {
		return fmt.Errorf("listen %s (PREDICTOR_GRPC_ADDR): %w", cfg.grpcAddr, err)
	}
	grpcServer := grpcapi.NewComponent(ln, grpcapi.New(grpcapi.Config{
		Logger: app.Logger, Models: models, Counters: counters, Gate: gate, MaxMessageBytes: cfg.maxBody,
		ReadTimeout: cfg.life.Timeouts.Read, // a message arrives within the REST body's bound
		Version:     app.Version, MaxBatch: cfg.maxBatch, Ready: ready,
	}), grpcapi.ComponentConfig{Logger: app.Logger, MaxMessageBytes: int(cfg.maxBody), Token: cfg.token, Ready: ready,
		DrainDelay: cfg.life.DrainDelay, ShutdownTimeout: cfg.life.ShutdownTimeout})
	app.Add(grpcServer.Run, grpcServer.Interrupt)
	return nil
}
