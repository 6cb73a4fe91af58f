package httpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// ServeOptions configures Serve.
type ServeOptions struct {
	Logger *slog.Logger
	// OnShutdown runs first when ctx is done: services drop readiness there.
	OnShutdown func()
	// DrainDelay is how long the server keeps serving after OnShutdown, so
	// load balancers see the readiness change before connections close.
	DrainDelay time.Duration
	// ShutdownTimeout bounds the wait for in-flight requests.
	ShutdownTimeout time.Duration
}

// Timeouts bound reading a request and writing its answer. A handler that
// needs longer (an upload, a wait for a training) lifts them for its own
// request with http.ResponseController.
type Timeouts struct {
	Read  time.Duration
	Write time.Duration
}

// NewServer returns an http.Server with the given timeouts, a 5 s limit on
// reading headers and a 2 min one on idle keep-alive connections.
func NewServer(h http.Handler, logger *slog.Logger, t Timeouts) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// Serve runs srv on ln until ctx is done, then drops readiness, answers
// with Connection: close for DrainDelay, and shuts down gracefully. It returns nil after a clean
// shutdown.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener, opts ServeOptions) error {
	// While draining, every answer closes its connection, so keep-alive
	// clients move off this server before Shutdown closes idle connections
	// under them.
	var draining atomic.Bool
	inner := srv.Handler
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if draining.Load() {
			w.Header().Set("Connection", "close")
		}
		inner.ServeHTTP(w, r)
	})
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	opts.Logger.Info("listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	draining.Store(true)
	if opts.OnShutdown != nil {
		opts.OnShutdown()
	}
	opts.Logger.Info("shutting down", "drain_delay", opts.DrainDelay.String())
	if opts.DrainDelay > 0 {
		time.Sleep(opts.DrainDelay)
	}
	sctx, cancel := context.WithTimeout(context.Background(), opts.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
