// Package service is the bootstrap both services share: configuration
// from the environment, the logger, one metrics registry, the model store,
// the HTTP server with timeouts, health and readiness through one prober,
// and the components in a run group with an ordered shutdown. A service's
// run.go declares its own variables and wires its components; the rest is
// here.
package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/modelferry/modelferry/pkg/envconfig"
	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/pkg/logging"
	"github.com/modelferry/modelferry/pkg/modelstore"
)

// Spec describes a service to Run.
type Spec struct {
	// Name is the binary's name and the namespace of its HTTP metrics.
	Name    string
	Summary string
	// AddrVar and AddrDefault declare the listen address variable.
	AddrVar, AddrDefault string
	// Listener, when set, is served instead of listening on the address:
	// a test hands over a listener it holds, so that no other process can
	// take its port first.
	Listener net.Listener
	// Configure declares the service's own variables and returns how its
	// server lives. It runs before the command line is read, so --help
	// lists every variable.
	Configure func(env *envconfig.Env) Lifecycle
	// Start wires the service: routes on app.Engine, readiness checks on
	// app.Prober, components with app.Add and app.Background.
	Start func(app *App) error
}

// Lifecycle is how a service's HTTP server lives.
type Lifecycle struct {
	// Timeouts of reading a request and writing its answer.
	Timeouts httpserver.Timeouts
	// DrainDelay is how long the server keeps serving, not ready and
	// answering Connection: close, before it stops accepting.
	DrainDelay time.Duration
	// ShutdownTimeout bounds the wait for in-flight requests, and for
	// the listener to close without resetting a client (see
	// httpActor.stopAccepting).
	ShutdownTimeout time.Duration
}

// App is a service being wired: what Start receives.
type App struct {
	Logger   *slog.Logger
	Registry *prometheus.Registry
	Engine   *gin.Engine
	Store    *modelstore.Store
	Prober   *Prober
	// Version is the module version or VCS revision of the binary.
	Version string
	// Addr is the address the service listens on.
	Addr string

	storageReady chan struct{}
	group        run.Group
	background   []func(context.Context)
}

// Add runs a component in the service's run group: execute runs until the
// component ends (its end ends the service), interrupt asks it to end and
// must not block (the group calls interrupts one after another). At
// shutdown components are interrupted together with the HTTP server's
// drain, so work that requests wait on can finish while they are served.
func (a *App) Add(execute func() error, interrupt func(error)) {
	a.group.Add(execute, interrupt)
}

// Background runs f until the HTTP server has shut down; f must return
// when its context ends.
func (a *App) Background(f func(ctx context.Context)) {
	a.background = append(a.background, f)
}

// StorageReady is closed once the bucket exists (it is created at start
// when missing, retrying until S3 answers).
func (a *App) StorageReady() <-chan struct{} { return a.storageReady }

// Fail writes err as the service's JSON error answer.
func (a *App) Fail(c *gin.Context, err error) { httpserver.WriteError(c, a.Logger, err) }

// Run reads the configuration, serves until ctx ends, then shuts down in
// order: readiness dropped, the drain delay, the listener closed once its
// accept queue is answered, in-flight requests finished, then the
// background work stopped. With the argument "healthcheck" it
// checks a running instance instead; with --help it prints the variables.
func Run(ctx context.Context, spec Spec, args []string, getenv func(string) string, stdout io.Writer) error {
	env := envconfig.New(getenv)
	addr := env.String(spec.AddrVar, spec.AddrDefault, "listen address")
	life := spec.Configure(env)
	logLevel := env.String("LOG_LEVEL", "info", "debug, info, warn or error")
	logFormat := env.String("LOG_FORMAT", "json", "json or text")
	s3opts, storeOpts := storageFromEnv(env)
	cmd, err := env.ParseArgs(spec.Name, spec.Summary, args, stdout)
	switch {
	case err != nil:
		return err
	case cmd == envconfig.Help:
		return nil
	case cmd == envconfig.Healthcheck:
		return httpserver.Healthcheck(ctx, addr)
	}
	logger, err := logging.New(stdout, logLevel, logFormat)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	app := &App{Logger: logger, Version: buildVersion(), Addr: addr, Prober: &Prober{}, storageReady: make(chan struct{})}
	logger.Info("starting "+spec.Name, "version", app.Version, "config", env)

	if app.Store, err = modelstore.OpenS3(s3opts, storeOpts); err != nil {
		return err
	}
	app.Registry = prometheus.NewRegistry()
	app.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	app.Engine = httpserver.NewEngine(httpserver.Options{Logger: logger, Registry: app.Registry, Namespace: spec.Name})
	app.Prober.Register(app.Engine, app.Fail)
	app.Engine.GET("/metrics", httpserver.MetricsHandler(app.Registry))
	app.Background(app.waitForStorage)
	if err := spec.Start(app); err != nil {
		return err
	}

	ln := spec.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", addr); err != nil {
			return fmt.Errorf("listen %s: %w", addr, err)
		}
	}
	err = app.serve(ctx, ln, life)
	logger.Info(spec.Name + " stopped")
	return err
}

// serve runs the service on ln until ctx ends and it has shut down.
func (a *App) serve(ctx context.Context, ln net.Listener, life Lifecycle) error {
	a.runUntil(ctx, httpserver.NewServer(a.Engine, a.Logger, life.Timeouts), ln, life)
	if err := a.group.Run(); !errors.Is(err, errStopped) {
		return err
	}
	return nil
}

// errStopped is how the signal actor ends the group: not a failure.
var errStopped = errors.New("stopped")

// runUntil adds the actors every service has: the end of ctx, the HTTP
// server, and the background work, stopped after the server.
func (a *App) runUntil(ctx context.Context, srv *http.Server, ln net.Listener, life Lifecycle) {
	stop, cancelStop := context.WithCancel(ctx)
	a.group.Add(func() error {
		<-stop.Done()
		return errStopped
	}, func(error) { cancelStop() })

	served := make(chan struct{})
	h := newHTTPActor(srv, ln, a.Logger, a.Prober, life)
	a.group.Add(func() error {
		defer close(served)
		return h.serve()
	}, h.shutdown)

	bg, cancelBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	for _, f := range a.background {
		wg.Go(func() { f(bg) })
	}
	a.group.Add(func() error {
		<-bg.Done()
		wg.Wait()
		return nil
	}, func(error) {
		go func() {
			<-served
			cancelBG()
		}()
	})
}

// waitForStorage creates the bucket once S3 answers.
func (a *App) waitForStorage(ctx context.Context) {
	err := a.Store.WaitForBucket(ctx, func(err error, wait time.Duration) {
		a.Logger.Warn("model storage not reachable yet", "bucket", a.Store.Bucket(), "retry_in", wait.String(), "err", err)
	})
	if err == nil {
		a.Logger.Info("model storage ready", "bucket", a.Store.Bucket())
		close(a.storageReady)
	}
}

// buildVersion is the module version or VCS revision the binary was built
// from.
func buildVersion() string {
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

// Loopback reports whether addr (host:port) only listens on the machine
// itself: 127.0.0.0/8, ::1 or localhost. ":8080" listens everywhere.
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	return httpserver.LoopbackHost(host)
}
