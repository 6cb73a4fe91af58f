package envconfig

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestValuesDefaultsAndErrors(t *testing.T) {
	env := map[string]string{"PORT": "8081", "RATE": "0.5", "ON": "true", "WAIT": "2s", "BAD_INT": "x"}
	e := New(func(k string) string { return env[k] })
	if got := e.Int("PORT", 1, "port"); got != 8081 {
		t.Errorf("PORT = %d", got)
	}
	if got := e.Int("MISSING", 7, "default"); got != 7 {
		t.Errorf("MISSING = %d", got)
	}
	if got := e.Float("RATE", 1, ""); got != 0.5 {
		t.Errorf("RATE = %v", got)
	}
	if got := e.Bool("ON", false, ""); !got {
		t.Error("ON = false")
	}
	if got := e.Duration("WAIT", time.Second, ""); got != 2*time.Second {
		t.Errorf("WAIT = %v", got)
	}
	if e.Err() != nil {
		t.Fatalf("unexpected error %v", e.Err())
	}
	e.Int("BAD_INT", 0, "")
	e.Fail("PORT must be below %d", 10)
	err := e.Err()
	if err == nil || !strings.Contains(err.Error(), `BAD_INT: "x" is not an integer`) || !strings.Contains(err.Error(), "PORT must be below 10") {
		t.Errorf("Err() = %v", err)
	}
}

func TestSecretFromFileIsMasked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte("hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"KEY_FILE": path}
	e := New(func(k string) string { return env[k] })
	if got := e.Secret("KEY", "the key"); got != "hunter2" {
		t.Errorf("KEY = %q", got)
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "config", e)
	if strings.Contains(buf.String(), "hunter2") || !strings.Contains(buf.String(), "config.KEY=***") {
		t.Errorf("log line %q leaks or lacks the secret mask", buf.String())
	}
	var usage bytes.Buffer
	e.Usage(&usage)
	if !strings.Contains(usage.String(), "KEY (or KEY_FILE)") {
		t.Errorf("usage %q", usage.String())
	}

	env = map[string]string{"KEY": "a", "KEY_FILE": path}
	e = New(func(k string) string { return env[k] })
	e.Secret("KEY", "")
	if e.Err() == nil {
		t.Error("KEY and KEY_FILE together accepted")
	}
	env = map[string]string{"KEY_FILE": "/nonexistent/secret"}
	e = New(func(k string) string { return env[k] })
	e.Secret("KEY", "")
	if e.Err() == nil {
		t.Error("unreadable KEY_FILE accepted")
	}
}

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		env     map[string]string
		want    Command
		wantErr string
		output  string
	}{
		{nil, nil, Serve, "", ""},
		{[]string{"healthcheck"}, nil, Healthcheck, "", ""},
		{[]string{"--help"}, nil, Help, "", "Usage: svc [healthcheck]\n\nDoes things. Configured by environment variables:"},
		{[]string{"serve"}, nil, Serve, `unknown command "serve"`, ""},
		{[]string{"--port=1"}, nil, Serve, "flag provided but not defined", ""},
		{nil, map[string]string{"N": "x"}, Serve, `config: N: "x" is not an integer`, ""},
	} {
		e := New(func(k string) string { return tc.env[k] })
		e.Int("N", 1, "a number")
		var out bytes.Buffer
		cmd, err := e.ParseArgs("svc", "Does things.", tc.args, &out)
		if cmd != tc.want || (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%v: got %v, %v; want %v, %q", tc.args, cmd, err, tc.want, tc.wantErr)
		}
		if !strings.Contains(out.String(), tc.output) {
			t.Errorf("%v: output %q lacks %q", tc.args, out.String(), tc.output)
		}
	}
}
