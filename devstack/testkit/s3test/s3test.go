// Package s3test runs a real S3 server, versitygw, for integration tests:
// on a free loopback port with its data in the test's temporary directory.
// `make tools` installs the pinned versitygw into .tools/bin, which the
// Makefile puts on PATH. A test that cannot start it fails: it never
// silently skips.
package s3test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
// the test ends. Should its port be taken before it binds, it starts again
// on another.
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
	t.Cleanup(s.Stop)
	for attempt := 1; ; attempt++ {
		s.Endpoint = FreeAddr(t)
		err := s.start()
		if err == nil {
			return s
		}
		if !errors.Is(err, errAddrInUse) || attempt == 5 {
			t.Fatal(err)
		}
	}
}

// FreeAddr returns a loopback host:port nothing listens on right now,
// picked at random outside the kernel's ephemeral port range. The kernel
// hands out ports of that range on its own, to listeners on port 0 and to
// outgoing connections, so between this call and the caller's bind only a
// process binding this very port by number can take it.
func FreeAddr(t testing.TB) string {
	t.Helper()
	lo, hi := ephemeralPorts()
	var low, high int // the range to pick from
	switch {
	case lo-minPort >= 1000:
		low, high = minPort, lo-1
	case 65535-hi >= 1000:
		low, high = hi+1, 65535
	default:
		t.Fatalf("no room outside the ephemeral port range %d-%d", lo, hi)
	}
	for range 100 {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(low+rand.IntN(high-low+1)))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		if err := ln.Close(); err != nil {
			t.Fatal(err)
		}
		return addr
	}
	t.Fatalf("no free port in %d-%d after 100 tries", low, high)
	return ""
}

// minPort keeps clear of the ports services run on by default (8000,
// 8080, 9000, 9090, 3000...).
const minPort = 20000

// ephemeralPorts reads the kernel's ephemeral range; Linux's default when
// it cannot.
func ephemeralPorts() (lo, hi int) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if _, err := fmt.Sscan(string(b), &lo, &hi); err == nil {
			return lo, hi
		}
	}
	return 32768, 60999
}

var errAddrInUse = errors.New("address already in use")

func (s *Server) start() error {
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
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
	// Whatever holds a taken port may accept and never answer.
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			s.cmd = nil
			log, _ := os.ReadFile(s.logPath)
			if bytes.Contains(log, []byte("address already in use")) {
				// The log is shared by every start: start it afresh.
				_ = os.Truncate(s.logPath, 0)
				return fmt.Errorf("versitygw on %s: %w", s.Endpoint, errAddrInUse)
			}
			return fmt.Errorf("versitygw exited at start:\n%s", log)
		default:
		}
		resp, err := client.Get("http://" + s.Endpoint + "/")
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
