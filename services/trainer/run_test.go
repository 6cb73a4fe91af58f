package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/devstack/testkit/s3test"
	"github.com/modelferry/modelferry/pkg/modelstore"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}
func TestHelpListsVariables(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, func(string) string { return "" }, &out); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"S3_ENDPOINT", "localhost:9000", "S3_SECRET_KEY (or S3_SECRET_KEY_FILE)", "TRAINER_ADDR", ":8080", "TRAINER_TOKEN", "TRAINER_MAX_UPLOAD_BYTES", "TRAINER_ALLOWED_ORIGINS", "TRAINER_ALLOWED_HOSTS", "TRAINER_MIN_UPLOAD_RATE", "TRAINER_PROMETHEUS_URL", "LOG_LEVEL"} {
		if !strings.Contains(out.String(), v) {
			t.Errorf("--help lacks %q:\n%s", v, out.String())
		}
	}
}

func TestBadConfigIsAnError(t *testing.T) {
	env := map[string]string{"TRAINER_MAX_QUEUE": "many", "LOG_LEVEL": "loud"}
	err := run(context.Background(), nil, func(k string) string { return env[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `TRAINER_MAX_QUEUE: "many" is not an integer`) {
		t.Errorf("got %v", err)
	}
}

// trainer runs the service in this process, as main would.
type trainer struct {
	t      *testing.T
	addr   string
	cancel context.CancelFunc
	done   chan error
	logs   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startTrainer(t *testing.T, s3 *s3test.Server, addr string, extra ...string) *trainer {
	t.Helper()
	env := map[string]string{
		"TRAINER_ADDR": addr, "S3_ENDPOINT": s3.Endpoint, "S3_ACCESS_KEY": s3test.AccessKey,
		"S3_SECRET_KEY": s3test.SecretKey, "TRAINER_DATA_DIR": "../../data", "TRAINER_TMP_DIR": t.TempDir(),
		"TRAINER_SHUTDOWN_TIMEOUT": "15s",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	ctx, cancel := context.WithCancel(context.Background())
	tr := &trainer{t: t, addr: addr, cancel: cancel, done: make(chan error, 1), logs: &syncBuffer{}}
	go func() { tr.done <- run(ctx, nil, func(k string) string { return env[k] }, tr.logs) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == 200 {
				return tr
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("trainer not ready within 10s; logs:\n%s", tr.logs)
	return nil
}

func (tr *trainer) stop() {
	tr.cancel()
	if err := <-tr.done; err != nil {
		tr.t.Errorf("run returned %v", err)
	}
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	return resp.StatusCode
}

func TestTrainerAgainstRealS3(t *testing.T) {
	s3 := s3test.Start(t)
	addr := s3test.FreeAddr(t)
	tr := startTrainer(t, s3, addr)
	base := "http://" + addr

	resp, err := http.Post(base+"/train?wait=true", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var run struct {
		ID, Status, Version string
		Promoted            bool
	}
	if err := json.NewDecoder(resp.Body).Decode(&run); err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || run.Status != "succeeded" || !run.Promoted {
		t.Fatalf("train: %d %+v", resp.StatusCode, run)
	}
	for _, key := range []string{
		"models/iris/versions/" + run.Version + "/model.pb",
		"models/iris/versions/" + run.Version + "/run.json",
		"models/iris/aliases/production.json",
		"models/iris/aliases/latest.json",
		"runs/iris/" + run.ID + ".json",
	} {
		if _, err := os.Stat(s3.Path("modelferry", key)); err != nil {
			t.Errorf("%s not in the bucket: %v", key, err)
		}
	}
	store, _ := modelstore.OpenS3(modelstore.S3Options{Endpoint: s3.Endpoint, AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, Bucket: "modelferry"}, modelstore.Options{})
	if a, _, err := store.GetAlias(context.Background(), "iris", "production"); err != nil || a.Version != run.Version {
		t.Errorf("production alias %+v, %v", a, err)
	}

	t.Run("metrics pass promtool", func(t *testing.T) {
		promtool, err := exec.LookPath("promtool")
		if err != nil {
			t.Fatal("promtool not on PATH: run make test-tools (make test does)")
		}
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		for _, want := range []string{
			`trainer_runs_total{model="iris",status="succeeded"} 1`,
			`trainer_model_accuracy{model="iris"}`,
			`trainer_runs_in_progress 0`,
			`trainer_run_duration_seconds_count{model="iris"} 1`,
			`trainer_http_requests_total{code="200",handler="/train",method="POST"} 1`,
			`go_goroutines`, `process_cpu_seconds_total`,
		} {
			if !bytes.Contains(body, []byte(want)) {
				t.Errorf("metrics lack %s", want)
			}
		}
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	})

	t.Run("readiness follows storage", func(t *testing.T) {
		s3.Stop()
		if code := getStatus(t, base+"/readyz"); code != 503 {
			t.Errorf("readyz with S3 down: %d", code)
		}
		s3.Restart()
		if code := getStatus(t, base+"/readyz"); code != 200 {
			t.Errorf("readyz after S3 came back: %d", code)
		}
	})

	tr.stop()
	if !strings.Contains(tr.logs.String(), "trainer stopped") {
		t.Errorf("no clean stop in logs:\n%s", tr.logs)
	}

	// A new process knows the run from S3 alone.
	tr = startTrainer(t, s3, addr)
	defer tr.stop()
	var again struct{ ID, Status string }
	if code := getJSON(t, base+"/runs/"+run.ID, &again); code != 200 || again.ID != run.ID || again.Status != "succeeded" {
		t.Errorf("after restart: %d %+v", code, again)
	}
}

func getStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func TestStartSweepsUploadsAKilledTrainerLeft(t *testing.T) {
	s3 := s3test.Start(t)
	tmp := t.TempDir()
	// A killed trainer's directory and its lock file, which nobody holds.
	left := filepath.Join(tmp, "modelferry-uploads", "trainer-123", "upload-123.csv")
	if err := os.MkdirAll(filepath.Dir(left), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{left, filepath.Dir(left) + ".lock"} {
		if err := os.WriteFile(f, []byte("a,b\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tr := startTrainer(t, s3, s3test.FreeAddr(t), "TRAINER_TMP_DIR", tmp)
	defer tr.stop()
	if _, err := os.Stat(left); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the spooled upload is still there: %v", err)
	}
}

// TestNeighbourStartKeepsUploads: a second trainer started on the same
// TRAINER_TMP_DIR leaves the first one's in-flight uploads alone.
func TestNeighbourStartKeepsUploads(t *testing.T) {
	s3 := s3test.Start(t)
	tmp := t.TempDir()
	root := filepath.Join(tmp, "modelferry-uploads")
	first := startTrainer(t, s3, s3test.FreeAddr(t), "TRAINER_TMP_DIR", tmp)
	defer first.stop()
	// The first trainer's upload directory: its own, or the shared one.
	dir := root
	if dirs, _ := filepath.Glob(filepath.Join(root, "trainer-*[^k]")); len(dirs) == 1 {
		dir = dirs[0]
	}
	inFlight := filepath.Join(dir, "upload-1.csv")
	if err := os.WriteFile(inFlight, []byte("a,b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	second := startTrainer(t, s3, s3test.FreeAddr(t), "TRAINER_TMP_DIR", tmp)
	second.stop()
	if _, err := os.Stat(inFlight); err != nil {
		t.Errorf("the first trainer's upload is gone: %v", err)
	}
}

func TestWarnsWithoutATokenBeyondLoopback(t *testing.T) {
	s3 := s3test.Start(t)
	_, port, _ := net.SplitHostPort(s3test.FreeAddr(t))
	tr := startTrainer(t, s3, "127.0.0.1:"+port)
	tr.stop()
	if strings.Contains(tr.logs.String(), "TRAINER_TOKEN is empty") {
		t.Error("warned on loopback")
	}
	_, port, _ = net.SplitHostPort(s3test.FreeAddr(t))
	tr = startTrainer(t, s3, ":"+port)
	tr.stop()
	if !strings.Contains(tr.logs.String(), "TRAINER_TOKEN is empty and the trainer listens beyond loopback") {
		t.Errorf("no warning; logs:\n%s", tr.logs)
	}
}
