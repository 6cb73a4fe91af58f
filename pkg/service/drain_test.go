package service

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/httpserver"
)

// outcome is how one request of a client that ignores readiness ended.
type outcome int

const (
	answered outcome = iota
	// refused: the dial found no listener. The request never reached
	// the server; the client knows it can go elsewhere.
	refused
	// resetInQueue: the handshake was done (the connection sat in the
	// accept queue) and the connection was reset before the client could
	// send its request.
	resetInQueue
	// failedNew: a new connection was made (the request got into the
	// accept queue) and then reset or closed without an answer.
	failedNew
	// failedReused: a request sent over an established keep-alive
	// connection got no answer.
	failedReused
	// failedOther: any other error.
	failedOther
	outcomes
)

var outcomeNames = [outcomes]string{"answered", "refused", "reset_in_queue", "failed_new_conn", "failed_keepalive", "failed_other"}

// classify sorts a request's error by whether it got a connection and
// whether that connection was reused.
func classify(err error, gotConn, reused bool) outcome {
	switch {
	case err == nil:
		return answered
	case !gotConn && errors.Is(err, syscall.ECONNREFUSED):
		return refused
	case !gotConn && errors.Is(err, syscall.ECONNRESET):
		return resetInQueue
	case gotConn && reused:
		return failedReused
	case gotConn:
		return failedNew
	}
	return failedOther
}

// keepAliveLoad runs clients that ignore readiness: each posts (a request
// the transport never retries) in a loop over a shared keep-alive pool
// until stop is closed, and counts how its requests ended.
func keepAliveLoad(url string, clients int, stop <-chan struct{}) func() ([outcomes]int, []error) {
	tr := &http.Transport{MaxIdleConnsPerHost: clients, DisableCompression: true}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var (
		mu     sync.Mutex
		counts [outcomes]int
		errs   []error
		wg     sync.WaitGroup
	)
	for range clients {
		wg.Go(func() {
			for n := 0; n < 1_000_000; n++ {
				select {
				case <-stop:
					return
				default:
				}
				var gotConn, reused bool
				trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { gotConn, reused = true, i.Reused }}
				req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace),
					http.MethodPost, url, strings.NewReader(`{"x":1}`))
				resp, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				o := classify(err, gotConn, reused)
				mu.Lock()
				counts[o]++
				if o >= resetInQueue && len(errs) < 20 {
					errs = append(errs, err)
				}
				mu.Unlock()
				if o == refused {
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
	return func() ([outcomes]int, []error) {
		wg.Wait()
		tr.CloseIdleConnections()
		return counts, errs
	}
}

// TestKeepAliveClientsSurviveShutdown: clients that ignore readiness keep
// posting over keep-alive connections through the whole shutdown. No
// request that reached the server (over a reused connection, or over a new
// one the kernel had queued) fails; the only errors allowed are dials
// refused once the listener is gone.
func TestKeepAliveClientsSurviveShutdown(t *testing.T) {
	const clients = 16
	app := testApp()
	app.Engine.POST("/echo", func(c *gin.Context) {
		_, _ = io.Copy(io.Discard, c.Request.Body)
		c.String(http.StatusOK, "ok")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() {
		served <- app.serve(ctx, ln, Lifecycle{DrainDelay: 400 * time.Millisecond, ShutdownTimeout: 5 * time.Second,
			Timeouts: httpserver.Timeouts{Read: time.Minute, Write: time.Minute}})
	}()
	stop := make(chan struct{})
	wait := keepAliveLoad("http://"+ln.Addr().String()+"/echo", clients, stop)

	time.Sleep(200 * time.Millisecond) // load before the shutdown
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("serve returned %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server still serving 15s after shutdown began")
	}
	time.Sleep(50 * time.Millisecond) // dials after the end are refused
	close(stop)
	counts, errs := wait()
	t.Logf("outcomes: %v", fmtCounts(counts))
	if counts[answered] < 100 {
		t.Fatalf("only %d requests answered: the load did not run", counts[answered])
	}
	if counts[refused] == 0 {
		t.Error("no dial was refused: the clients did not run past the listener's close")
	}
	if f := counts[resetInQueue] + counts[failedNew] + counts[failedReused] + counts[failedOther]; f > 0 {
		t.Errorf("%d requests that reached the server failed: %v; first errors: %v", f, fmtCounts(counts), errs)
	}
}

func fmtCounts(c [outcomes]int) string {
	var b strings.Builder
	for i, n := range c {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(outcomeNames[i] + "=")
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

// TestStopAnswersTheAcceptQueue: connections the kernel queued before the
// listener stops are accepted (not reset by the socket's close), dials
// after it are refused, and Accept waits for Close.
func TestStopAnswersTheAcceptQueue(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := newGateListener(inner)
	defer ln.Close()
	const queued = 3
	var clients []net.Conn
	for range queued {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients = append(clients, c)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- ln.stop(context.Background()) }()
	for !ln.stopping.Load() {
		time.Sleep(time.Millisecond)
	}
	var accepted []net.Conn
	acceptErr := make(chan error, 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				acceptErr <- err
				return
			}
			accepted = append(accepted, c)
		}
	}()
	if err := <-stopped; err != nil {
		t.Fatalf("stop: %v", err)
	}
	if _, err := net.Dial("tcp", inner.Addr().String()); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial after stop: %v, want connection refused", err)
	}
	select {
	case err := <-acceptErr:
		t.Fatalf("Accept returned %v before Close", err)
	case <-time.After(20 * time.Millisecond):
	}
	ln.Close()
	if err := <-acceptErr; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
	}
	if len(accepted) != queued {
		t.Fatalf("accepted %d of %d queued connections", len(accepted), queued)
	}
	// Each queued client still has a live connection: an answer reaches it.
	for _, c := range accepted {
		if _, err := c.Write([]byte("ok")); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	for i, c := range clients {
		buf := make([]byte, 2)
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Errorf("queued client %d: %v (reset by the close?)", i, err)
		}
	}
}

// busyListener always has a connection waiting: an accept queue that
// never empties, as under steady dials.
type busyListener struct {
	net.Listener
	closed atomic.Bool
}

func (l *busyListener) Accept() (net.Conn, error) {
	if l.closed.Load() {
		return nil, net.ErrClosed
	}
	c, s := net.Pipe()
	_ = s.Close()
	return c, nil
}

func (l *busyListener) Close() error {
	l.closed.Store(true)
	return l.Listener.Close()
}

func (*busyListener) SetDeadline(time.Time) error { return nil }

// TestStopAcceptingIsBoundedUnderSteadyDials: while connections keep
// arriving, the accept queue is never found empty. Closing the listener
// still waits no longer than its bound (the drain delay, at most a
// quarter of the shutdown timeout), and leaves the rest of the shutdown
// timeout to the requests in flight; it used to wait for the whole
// shutdown timeout, so that Shutdown found its time spent.
func TestStopAcceptingIsBoundedUnderSteadyDials(t *testing.T) {
	app := testApp()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	life := Lifecycle{DrainDelay: 50 * time.Millisecond, ShutdownTimeout: 20 * time.Second}
	srv := httpserver.NewServer(app.Engine, app.Logger, httpserver.Timeouts{Read: time.Second, Write: time.Second})
	h := newHTTPActor(srv, &busyListener{Listener: inner}, app.Logger, app.Prober, life)
	accepting := make(chan struct{})
	defer func() { <-accepting }() // Accept returns once the listener is closed
	defer h.ln.Close()
	go func() {
		defer close(accepting)
		for {
			c, err := h.ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), life.ShutdownTimeout)
	defer cancel()
	done := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		h.stopAccepting(ctx)
		done <- time.Since(start)
	}()
	select {
	case took := <-done:
		t.Logf("the listener closed %s after the drain began", took)
	case <-time.After(life.ShutdownTimeout / 2):
		t.Fatalf("closing the listener took over %s of the %s shutdown timeout, with connections always waiting", life.ShutdownTimeout/2, life.ShutdownTimeout)
	}
}
