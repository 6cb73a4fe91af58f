package service

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

// httpActor serves HTTP in the run group and shuts the server down in
// order: readiness dropped, then for the drain delay every answer says
// Connection: close while the listener still accepts, then in-flight
// requests are finished within the shutdown timeout.
type httpActor struct {
	srv      *http.Server
	ln       net.Listener
	logger   *slog.Logger
	prober   *Prober
	life     Lifecycle
	draining atomic.Bool
	done     chan error // the result of the shutdown
}

func newHTTPActor(srv *http.Server, ln net.Listener, logger *slog.Logger, prober *Prober, life Lifecycle) *httpActor {
	h := &httpActor{srv: srv, ln: ln, logger: logger, prober: prober, life: life, done: make(chan error, 1)}
	inner := srv.Handler
	// While draining, every answer closes its connection, so keep-alive
	// clients move off this server before Shutdown closes idle connections
	// under them.
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.draining.Load() {
			w.Header().Set("Connection", "close")
		}
		inner.ServeHTTP(w, r)
	})
	return h
}

// serve runs until the server is shut down; then it waits for the
// shutdown to finish, so the group's run ends only after the drain.
func (h *httpActor) serve() error {
	h.logger.Info("listening", "addr", h.ln.Addr().String())
	err := h.srv.Serve(h.ln)
	if !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return <-h.done
}

// shutdown starts the ordered shutdown and returns at once: the run group
// calls its actors' interrupts one after another.
func (h *httpActor) shutdown(error) { go h.drain() }

func (h *httpActor) drain() {
	h.draining.Store(true)
	h.prober.NotReady()
	h.logger.Info("shutting down", "drain_delay", h.life.DrainDelay.String())
	if h.life.DrainDelay > 0 {
		time.Sleep(h.life.DrainDelay)
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.life.ShutdownTimeout)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		h.done <- fmt.Errorf("shutdown: %w", err)
		return
	}
	h.done <- nil
}
