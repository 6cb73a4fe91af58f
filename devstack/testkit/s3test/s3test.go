// Package s3test runs a real S3 server, versitygw, for integration tests:
// on a free loopback port with its data in the test's temporary directory.
// `make tools` installs the pinned versitygw into .tools/bin, which the
// Makefile puts on PATH. A test that cannot start it fails: it never
// silently skips.
package s3test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Credentials of the root user of every test server.
const (
	AccessKey = "modelferry-test"
	SecretKey = "modelferry-test-secret"
)

// Server is a running versitygw.
type Server struct {
	t        testing.TB
	bin      string
	dir      string
	Endpoint string // host:port
	cmd      *exec.Cmd
	exited   chan struct{}
	logPath  string
}

// Start launches versitygw and waits until it answers. It is stopped when
// the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("versitygw")
	if err != nil {
		t.Fatalf("versitygw not found on PATH: run `make tools` (make test does)")
	}
	root := t.TempDir()
	s := &Server{t: t, bin: bin, dir: filepath.Join(root, "data"), logPath: filepath.Join(root, "versitygw.log")}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The port is free when picked, but another process may take it
	// before versitygw binds it: then pick again.
	for attempt := 1; ; attempt++ {
		s.Endpoint = FreeAddr(t)
		err := s.start()
		if err == nil {
			break
		}
		if !errors.Is(err, errPortTaken) || attempt == 5 {
			t.Fatal(err)
		}
	}
	t.Cleanup(s.Stop)
	return s
}

var errPortTaken = errors.New("port taken")

// FreeAddr returns a loopback host:port nothing listens on right now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func (s *Server) start() error {
	s.t.Helper()
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.bin, "--port", s.Endpoint, "--quiet", "posix", s.dir)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+AccessKey, "ROOT_SECRET_KEY="+SecretKey)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Should the test binary die without cleaning up, so does the server.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return fmt.Errorf("start versitygw: %w", err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = logf.Close()
		close(s.exited)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			s.cmd = nil
			log, _ := os.ReadFile(s.logPath)
			if strings.Contains(string(log), "address already in use") {
				return fmt.Errorf("%w: %s", errPortTaken, s.Endpoint)
			}
			return fmt.Errorf("versitygw exited at start:\n%s", log)
		default:
		}
		resp, err := http.Get("http://" + s.Endpoint + "/")
		if err == nil {
			_ = resp.Body.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("versitygw did not answer on %s within 20s", s.Endpoint)
}

// Stop kills the server; its data stays for Restart.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Restart starts a stopped server again on the same address and data.
func (s *Server) Restart() {
	s.t.Helper()
	if s.cmd != nil {
		s.Stop()
	}
	if err := s.start(); err != nil {
		s.t.Fatal(err)
	}
}

// Path returns where versitygw keeps object key in bucket on disk, for
// tests that corrupt stored objects behind S3's back.
func (s *Server) Path(bucket, key string) string {
	return filepath.Join(s.dir, bucket, filepath.FromSlash(key))
}
