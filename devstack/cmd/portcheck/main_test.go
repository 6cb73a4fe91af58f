package main

import (
	"context"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestTakenPortFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, taken, _ := net.SplitHostPort(ln.Addr().String())
	env := map[string]string{"MODELFERRY_TRAINER_PORT": taken}
	for _, k := range []string{"MODELFERRY_S3_PORT", "MODELFERRY_PREDICTOR_PORT", "MODELFERRY_PREDICTOR_GRPC_PORT", "MODELFERRY_PROMETHEUS_PORT"} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		_, env[k], _ = net.SplitHostPort(l.Addr().String())
		_ = l.Close()
	}
	err = run(context.Background(), nil, func(k string) string { return env[k] }, &strings.Builder{})
	if err == nil || !strings.Contains(err.Error(), "port "+taken) || !strings.Contains(err.Error(), "MODELFERRY_TRAINER_PORT=") {
		t.Fatalf("run: %v, want an error naming port %s and its variable", err, taken)
	}
	_ = ln.Close()
	var out strings.Builder
	if err := run(context.Background(), nil, func(k string) string { return env[k] }, &out); err != nil {
		t.Fatalf("run with the ports free: %v", err)
	}
}

// `make run` checks its ports before it builds anything: its first command
// runs this one, and no build is a prerequisite of it.
func TestMakeRunChecksPortsFirst(t *testing.T) {
	b, err := os.ReadFile("../../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^run:([^#\n]*)(?:##[^\n]*)?\n(?:\t@echo [^\n]*\n)*\t([^\n]*)`).FindStringSubmatch(string(b))
	if m == nil {
		t.Fatal("no run target in the Makefile")
	}
	if prereqs := strings.TrimSpace(m[1]); prereqs != "" {
		t.Errorf("run has prerequisites %q: they are built before the port check", prereqs)
	}
	if !strings.Contains(m[2], "bin/portcheck") {
		t.Errorf("run's first line is %q, want the port check", m[2])
	}
}
