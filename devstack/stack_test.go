package devstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// The test binary doubles as a supervised process: with FAKE_CHILD_ADDR set
// it serves FAKE_CHILD_BODY on every path there until asked for /exit.
func TestMain(m *testing.M) {
	if addr := os.Getenv("FAKE_CHILD_ADDR"); addr != "" {
		os.Exit(fakeChild(addr, os.Getenv("FAKE_CHILD_BODY")))
	}
	os.Exit(m.Run())
}

func fakeChild(addr, body string) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	exit := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, body)
		if r.URL.Path == "/exit" {
			close(exit)
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	<-exit
	// The answer to /exit is written before the process exits, so that
	// the test's request never sees a reset connection.
	_ = srv.Shutdown(context.Background())
	return 3
}

// fakeProc is a process of a stack that answers body at addr.
func fakeProc(t *testing.T, addr, body string) (*Stack, *Proc) {
	t.Helper()
	s := &Stack{cfg: Config{Out: &strings.Builder{}}}
	p := s.proc("fake", os.Args[0], nil, map[string]string{"FAKE_CHILD_ADDR": addr, "FAKE_CHILD_BODY": body},
		addr, "/healthz", `"status":"ok"`)
	t.Cleanup(func() { _ = p.Stop(5 * time.Second) })
	return s, p
}

func TestStartFailsOnATakenPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// Whatever holds the port answers like a healthy process would.
	go func() {
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"status":"ok"}`)
		}))
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	_, p := fakeProc(t, ln.Addr().String(), `{"status":"ok"}`)
	err = p.Start(context.Background())
	var pe *PortError
	if !errors.As(err, &pe) || pe.Port != port || pe.Proc != "fake" || !strings.Contains(err.Error(), "port "+port) {
		t.Fatalf("Start: %v, want a PortError naming port %s", err, port)
	}
	if p.PID() != 0 {
		t.Error("the process was started")
	}
}

func TestStartWantsItsOwnAnswer(t *testing.T) {
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	_, p := fakeProc(t, addr, `{"status":"something else"}`)
	err = p.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "something else") {
		t.Fatalf("Start: %v, want an error quoting the foreign answer", err)
	}
}

func TestStartFailsWhenTheChildExits(t *testing.T) {
	s := &Stack{cfg: Config{Out: &strings.Builder{}}}
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	p := s.proc("fake", "/bin/false", nil, nil, addr, "/healthz", "ok")
	if err := p.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "fake exited at start") {
		t.Fatalf("Start: %v, want an exit at start", err)
	}
}

func TestWaitReportsAnExit(t *testing.T) {
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	s, p := fakeProc(t, addr, `{"status":"ok"}`)
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.Trainer = p

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with a cancelled context: %v", err)
	}

	resp, err := http.Get("http://" + addr + "/exit")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if err := s.Wait(context.Background()); err == nil || !strings.Contains(err.Error(), "fake exited unexpectedly (exit status 3)") {
		t.Fatalf("Wait: %v, want the exit of fake", err)
	}
}
