package s3test

import (
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

func TestFreeAddrIsOutsideTheEphemeralRange(t *testing.T) {
	lo, hi := ephemeralPorts()
	for range 20 {
		addr := FreeAddr(t)
		_, p, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		port, _ := strconv.Atoi(p)
		if port >= lo && port <= hi || port < minPort {
			t.Fatalf("port %d: inside the ephemeral range %d-%d or below %d", port, lo, hi, minPort)
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("%s is not free: %v", addr, err)
		}
		_ = ln.Close()
	}
}

// A port taken between choosing and binding is told apart from other
// start failures, so that Start picks another.
func TestStartReportsATakenPort(t *testing.T) {
	bin, err := exec.LookPath("versitygw")
	if err != nil {
		t.Fatal("versitygw not found on PATH: run `make tools` (make test does)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	s := &Server{t: t, bin: bin, dir: dir, logPath: filepath.Join(dir, "log"), Endpoint: ln.Addr().String()}
	defer s.Stop()
	if err := s.start(); !errors.Is(err, errAddrInUse) {
		t.Fatalf("start on a taken port: %v", err)
	}
	s.Endpoint = FreeAddr(t)
	if err := s.start(); err != nil {
		t.Fatalf("start on a free port: %v", err)
	}
}
