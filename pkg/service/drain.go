package service

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// gateListener lets the server stop accepting before Shutdown. stop asks
// Serve's own Accept to take every connection the kernel has queued and to
// close the socket only once the queue stayed empty for a moment: the
// kernel resets whatever is still queued when the socket closes. Accept
// then waits for Close, so Serve keeps serving what it accepted until
// Shutdown ends it. The listener also notes when it last accepted, so the
// drain can stop it once clients stopped dialing.
type gateListener struct {
	net.Listener
	lastAccept atomic.Int64 // unix nanoseconds
	stopping   atomic.Bool
	gone       chan struct{} // closed with the socket
	closed     chan struct{} // closed by Close
	goneOnce   sync.Once
	closeOnce  sync.Once
	innerErr   error
}

// deadliner is the part of *net.TCPListener that bounds a waiting Accept.
type deadliner interface{ SetDeadline(time.Time) error }

// queueEmptyFor is how long Accept must find nothing before the kernel's
// accept queue counts as empty.
const queueEmptyFor = time.Millisecond

func newGateListener(ln net.Listener) *gateListener {
	l := &gateListener{Listener: ln, gone: make(chan struct{}), closed: make(chan struct{})}
	l.lastAccept.Store(time.Now().UnixNano())
	return l
}

func (l *gateListener) Accept() (net.Conn, error) {
	d, canDrain := l.Listener.(deadliner)
	for {
		start := time.Now()
		draining := canDrain && l.stopping.Load()
		if draining {
			_ = d.SetDeadline(start.Add(queueEmptyFor))
		}
		c, err := l.Listener.Accept()
		if err == nil {
			l.lastAccept.Store(time.Now().UnixNano())
			return c, nil
		}
		if !l.stopping.Load() {
			return nil, err
		}
		var ne net.Error
		if canDrain && errors.As(err, &ne) && ne.Timeout() && (!draining || time.Since(start) < queueEmptyFor) {
			// Woken by stop, not by an empty queue: look at the queue.
			continue
		}
		l.closeInner()
		<-l.closed
		return nil, net.ErrClosed
	}
}

// stop closes the socket once its accept queue is empty (or ctx ends):
// from then on dials are refused, and a client knows its request never
// arrived.
func (l *gateListener) stop(ctx context.Context) error {
	l.stopping.Store(true)
	d, ok := l.Listener.(deadliner)
	if !ok {
		return l.closeInner()
	}
	// Wake a waiting Accept so that it drains the queue.
	if err := d.SetDeadline(time.Now()); err != nil {
		return l.closeInner()
	}
	select {
	case <-l.gone:
	case <-ctx.Done():
		l.closeInner()
	}
	return l.innerErr
}

// Close is how Shutdown ends Serve.
func (l *gateListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.closeInner()
}

func (l *gateListener) closeInner() error {
	l.goneOnce.Do(func() {
		l.innerErr = l.Listener.Close()
		close(l.gone)
	})
	return l.innerErr
}

// idleFor is how long no connection has been accepted.
func (l *gateListener) idleFor(now time.Time) time.Duration {
	return now.Sub(time.Unix(0, l.lastAccept.Load()))
}

// connTracker follows the server's connections through ConnState.
type connTracker struct {
	mu        sync.Mutex
	conns     map[net.Conn]http.ConnState
	fresh     int       // connections that have not sent a request yet
	lastEvent time.Time // when a connection last changed state
}

func newConnTracker() *connTracker { return &connTracker{conns: map[net.Conn]http.ConnState{}} }

// hook is the server's ConnState.
func (t *connTracker) hook(c net.Conn, s http.ConnState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lastEvent = time.Now()
	if prev, ok := t.conns[c]; ok && prev == http.StateNew {
		t.fresh--
	}
	if s == http.StateClosed || s == http.StateHijacked {
		delete(t.conns, c)
		return
	}
	if s == http.StateNew {
		t.fresh++
	}
	t.conns[c] = s
}

// quiet reports whether clients stopped using the server for d: no new
// connection waits to send its first request, and for d no request began
// or ended and no connection closed. While a client's connections close
// one after another it turns to its idle ones, so an idle connection is
// safe to close only once every connection has been left alone.
func (t *connTracker) quiet(now time.Time, d time.Duration) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.fresh == 0 && now.Sub(t.lastEvent) >= d
}

// waitUntil polls cond until it holds, the bound passes or ctx ends.
func waitUntil(ctx context.Context, bound time.Duration, cond func(now time.Time) bool) {
	deadline := time.Now().Add(bound)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for now := time.Now(); !cond(now) && now.Before(deadline); now = time.Now() {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
