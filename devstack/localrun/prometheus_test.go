package localrun

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An installed Prometheus (Debian's has a web UI) comes before the pinned
// one in the tools directory, wherever PATH lists them; a directory entry or
// a file that is not executable is no Prometheus.
func TestFindPrometheus(t *testing.T) {
	root := t.TempDir()
	dir := func(name string, exe, mode os.FileMode) string {
		d := filepath.Join(root, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if mode != 0 {
			if err := os.WriteFile(filepath.Join(d, "prometheus"), []byte("#!/bin/sh\n"), mode); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	tools := dir("tools", 0, 0o755)
	installed := dir("usr-bin", 0, 0o755)
	plain := dir("plain", 0, 0o644)
	empty := dir("empty", 0, 0)
	if err := os.Mkdir(filepath.Join(empty, "prometheus"), 0o755); err != nil {
		t.Fatal(err)
	}
	join := func(dirs ...string) string { return strings.Join(dirs, string(os.PathListSeparator)) }
	for _, tc := range []struct {
		name, path, want, origin string
	}{
		{"installed after tools", join(tools, plain, installed), filepath.Join(installed, "prometheus"), "installed"},
		{"installed before tools", join(installed, tools), filepath.Join(installed, "prometheus"), "installed"},
		{"tools only", join(empty, plain, tools), filepath.Join(tools, "prometheus"), "built by make test-tools"},
		{"none", join(empty, plain), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin, origin := findPrometheus(tc.path, tools)
			if bin != tc.want || origin != tc.origin {
				t.Errorf("findPrometheus = %q, %q; want %q, %q", bin, origin, tc.want, tc.origin)
			}
		})
	}
}

// The banner advertises Prometheus' page only when it serves one: the
// pinned build answers with an error line instead.
func TestHasWebUI(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   bool
	}{
		{"classic UI", http.StatusOK, "<!DOCTYPE html><html><head><title>Prometheus Time Series Collection and Processing Server</title>", true},
		{"no assets", http.StatusOK, "Error opening React index.html: open web/ui/static/react/index.html: file does not exist", false},
		{"error page", http.StatusInternalServerError, "<html>error</html>", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/graph" {
					http.NotFound(w, r)
					return
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			if got := hasWebUI(strings.TrimPrefix(srv.URL, "http://")); got != tc.want {
				t.Errorf("hasWebUI = %v, want %v", got, tc.want)
			}
		})
	}
}

// The background build says what it builds as it goes and how long it
// took; a failed build is an error naming the command.
func TestBuildPrometheus(t *testing.T) {
	var out strings.Builder
	if err := buildPrometheus(context.Background(), []string{"sh", "-c", "echo compiling"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "compiling\n") || !strings.Contains(out.String(), "built in ") {
		t.Errorf("output %q, want the build's output and its duration", out.String())
	}
	err := buildPrometheus(context.Background(), []string{"sh", "-c", "exit 3"}, &out)
	if err == nil || !strings.Contains(err.Error(), "sh -c exit 3") {
		t.Errorf("failed build: %v, want an error naming the command", err)
	}
}
