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
// Connection: close while the listener still accepts; then the socket
// closes once the accept queue is answered, and in-flight requests are
// finished within the shutdown timeout.
type httpActor struct {
	srv    *http.Server
	ln     *gateListener
	conns  *connTracker
	logger *slog.Logger
	prober *Prober
	life   Lifecycle
	// closing makes every answer say Connection: close.
	closing atomic.Bool
	done    chan error // the result of the shutdown
}

func newHTTPActor(srv *http.Server, ln net.Listener, logger *slog.Logger, prober *Prober, life Lifecycle) *httpActor {
	h := &httpActor{srv: srv, ln: newGateListener(ln), conns: newConnTracker(), logger: logger, prober: prober,
		life: life, done: make(chan error, 1)}
	inner := srv.Handler
	// While draining, every answer closes its connection, so keep-alive
	// clients move off this server before Shutdown closes idle connections
	// under them.
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.closing.Load() {
			w.Header().Set("Connection", "close")
		}
		inner.ServeHTTP(w, r)
	})
	next := srv.ConnState
	srv.ConnState = func(c net.Conn, s http.ConnState) {
		h.conns.hook(c, s)
		if next != nil {
			next(c, s)
		}
	}
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
	h.closing.Store(true)
	h.prober.NotReady()
	h.logger.Info("shutting down", "drain_delay", h.life.DrainDelay.String())
	if h.life.DrainDelay > 0 {
		time.Sleep(h.life.DrainDelay)
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.life.ShutdownTimeout)
	defer cancel()
	if h.life.DrainDelay > 0 {
		h.stopAccepting(ctx)
	}
	if err := h.srv.Shutdown(ctx); err != nil {
		h.done <- fmt.Errorf("shutdown: %w", err)
		return
	}
	h.done <- nil
}

// stopAccepting closes the socket without resetting anyone. Clients that
// ignore readiness redial at once after a Connection: close answer; the
// kernel resets every connection still in its accept queue when the
// socket closes, and Shutdown drops a request read after it began. So:
// answers keep their connections again until no one has dialed for a
// settle time; the socket closes once its accept queue is found empty
// (later dials are refused: the client knows its request never arrived);
// answers say Connection: close again until no connection has been used
// for the settle time; only then Shutdown closes the idle ones. Each wait
// is bounded by the drain delay and a quarter of the shutdown timeout.
func (h *httpActor) stopAccepting(ctx context.Context) {
	settle := min(h.life.DrainDelay/2, 500*time.Millisecond)
	bound := min(h.life.DrainDelay, h.life.ShutdownTimeout/4)
	h.closing.Store(false)
	waitUntil(ctx, bound, func(now time.Time) bool { return h.ln.idleFor(now) >= settle })
	// Past the bound the socket closes even though clients still dial,
	// so that the in-flight requests keep the rest of the shutdown
	// timeout.
	stopCtx, cancel := context.WithTimeout(ctx, bound)
	err := h.ln.stop(stopCtx)
	cancel()
	if err != nil {
		h.logger.Warn("close listener", "err", err)
	}
	h.closing.Store(true)
	waitUntil(ctx, bound, func(now time.Time) bool { return h.conns.quiet(now, settle) })
}
