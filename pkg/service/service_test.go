package service

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelferry/modelferry/pkg/httpserver"
)

func testApp() *App {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	app := &App{Logger: logger, Registry: reg, Prober: &Prober{}, storageReady: make(chan struct{}),
		Engine: httpserver.NewEngine(httpserver.Options{Logger: logger, Registry: reg, Namespace: "svc"})}
	app.Prober.Register(app.Engine, app.Fail)
	return app
}

func get(t *testing.T, url string) (int, string, bool) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Close
}

// TestShutdownIsOrdered: readiness drops first, the listener keeps
// accepting through the drain delay (answers say Connection: close),
// in-flight requests finish, and background work stops only after the
// server did.
func TestShutdownIsOrdered(t *testing.T) {
	app := testApp()
	started, release := make(chan struct{}), make(chan struct{})
	app.Engine.GET("/fast", func(c *gin.Context) { c.String(http.StatusOK, "fast") })
	app.Engine.GET("/slow", func(c *gin.Context) {
		close(started)
		<-release
		c.String(http.StatusOK, "done")
	})
	var serverDoneFirst atomic.Bool
	served := make(chan error, 1)
	bgStopped := make(chan struct{})
	app.Background(func(ctx context.Context) {
		<-ctx.Done()
		// The slow request is released only after the drain began; if
		// background work stopped before the server, it could not have
		// been answered yet.
		select {
		case <-release:
			serverDoneFirst.Store(true)
		default:
		}
		close(bgStopped)
	})
	var interrupted atomic.Bool
	componentDone := make(chan struct{})
	app.Add(func() error { <-componentDone; return nil }, func(error) { interrupted.Store(true); close(componentDone) })
	app.Prober.AddCheck(func(context.Context) (map[string]any, error) { return map[string]any{"model": "m"}, nil })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		served <- app.serve(ctx, ln, Lifecycle{DrainDelay: time.Second, ShutdownTimeout: 5 * time.Second,
			Timeouts: httpserver.Timeouts{Read: time.Minute, Write: time.Minute}})
	}()
	if code, body, _ := get(t, base+"/readyz"); code != 200 || !strings.Contains(body, `"model":"m"`) {
		t.Fatalf("readyz before shutdown: %d %s", code, body)
	}
	slow := make(chan string, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			slow <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		slow <- string(b)
	}()
	<-started
	cancel()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _, _ := get(t, base+"/readyz")
		if code == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("readiness still up 10s after shutdown began")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Still accepting new connections during the drain; told to go.
	if code, body, closed := get(t, base+"/fast"); code != 200 || body != "fast" || !closed {
		t.Errorf("request during the drain: %d %q, Connection: close %v", code, body, closed)
	}
	if !interrupted.Load() {
		t.Error("components were not interrupted with the drain")
	}
	close(release)
	if s := <-slow; s != "done" {
		t.Errorf("in-flight request got %q, want done", s)
	}
	if err := <-served; err != nil {
		t.Errorf("serve returned %v", err)
	}
	<-bgStopped
	if !serverDoneFirst.Load() {
		t.Error("background work stopped before the server drained")
	}
}

func TestComponentFailureStopsTheService(t *testing.T) {
	app := testApp()
	boom := errors.New("boom")
	app.Add(func() error { return boom }, func(error) {})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	err = app.serve(context.Background(), ln, Lifecycle{ShutdownTimeout: time.Second})
	if !errors.Is(err, boom) {
		t.Fatalf("serve returned %v, want the component's error", err)
	}
}

func TestReadinessChecks(t *testing.T) {
	p := &Prober{}
	p.AddCheck(func(context.Context) (map[string]any, error) { return nil, errors.New("no model loaded yet") })
	if _, err := p.Ready(context.Background()); err == nil || err.Error() != "no model loaded yet" {
		t.Errorf("failing check: %v", err)
	}
	p = &Prober{}
	if d, err := p.Ready(context.Background()); err != nil || d["status"] != "ready" {
		t.Errorf("no checks: %v, %v", d, err)
	}
	p.NotReady()
	if _, err := p.Ready(context.Background()); err == nil || err.Error() != "shutting down" {
		t.Errorf("after NotReady: %v", err)
	}
}

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:8080": true, "[::1]:8080": true, "127.1.2.3:1": true,
		":8080": false, "0.0.0.0:8080": false, "10.0.0.1:8080": false, "nonsense": false,
	} {
		if got := Loopback(addr); got != want {
			t.Errorf("Loopback(%q) = %v", addr, got)
		}
	}
}
