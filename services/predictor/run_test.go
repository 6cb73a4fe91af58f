package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/pkg/s3test"
	"github.com/modelferry/modelferry/services/predictor/internal/testmodel"
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
	for _, v := range []string{"PREDICTOR_ADDR", ":8000", "PREDICTOR_MODEL", "PREDICTOR_ALIAS", "production", "PREDICTOR_POLL_INTERVAL", "1s",
		"PREDICTOR_MAX_BODY_BYTES", "8388608", "PREDICTOR_MAX_BATCH", "10000", "PREDICTOR_CACHE_DIR", "S3_ENDPOINT", "LOG_FORMAT"} {
		if !strings.Contains(out.String(), v) {
			t.Errorf("--help lacks %q", v)
		}
	}
}

func TestBadConfigIsAnError(t *testing.T) {
	env := map[string]string{"PREDICTOR_MODEL": "Iris!", "PREDICTOR_POLL_INTERVAL": "soon"}
	err := run(context.Background(), nil, func(k string) string { return env[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "PREDICTOR_MODEL") || !strings.Contains(err.Error(), "PREDICTOR_POLL_INTERVAL") {
		t.Errorf("got %v", err)
	}
}

func TestTakenAddressIsAnError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	env := map[string]string{"PREDICTOR_ADDR": ln.Addr().String()}
	err = run(context.Background(), nil, func(k string) string { return env[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "listen "+ln.Addr().String()) {
		t.Errorf("got %v", err)
	}
}

const seed = `{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}`

type answer struct {
	Label string `json:"label"`
	Model struct {
		Version string `json:"version"`
	} `json:"model"`
}

func predict(client *http.Client, base string) (answer, int, error) {
	resp, err := client.Post(base+"/predict", "application/json", strings.NewReader(seed))
	if err != nil {
		return answer{}, 0, err
	}
	defer resp.Body.Close()
	var a answer
	err = json.NewDecoder(resp.Body).Decode(&a)
	return a, resp.StatusCode, err
}

func status(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func TestPredictorAgainstRealS3(t *testing.T) {
	s3 := s3test.Start(t)
	store, err := modelstore.New(modelstore.Options{Endpoint: s3.Endpoint, AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, Bucket: "modelferry"})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"PREDICTOR_POLL_INTERVAL": "250ms", "PREDICTOR_SHUTDOWN_DELAY": "0s",
		"S3_ENDPOINT": s3.Endpoint, "S3_ACCESS_KEY": s3test.AccessKey, "S3_SECRET_KEY": s3test.SecretKey,
	}
	base, stopPredictor := startPredictor(t, env)
	defer stopPredictor()

	if code := status(t, base+"/readyz"); code != 503 {
		t.Errorf("readyz without a model: %d", code)
	}
	if _, code, _ := predict(http.DefaultClient, base); code != 503 {
		t.Errorf("predict without a model: %d", code)
	}
	if err := run(context.Background(), []string{"healthcheck"}, func(k string) string { return env[k] }, io.Discard); err != nil {
		t.Errorf("healthcheck subcommand: %v", err)
	}

	waitUntil(t, "the predictor to create the bucket", func() bool { return store.Ping(context.Background()) == nil })
	d := testmodel.Iris(t, "../../data/iris.csv")
	v1 := testmodel.Publish(t, store, d, "iris", "production", 1)
	published := time.Now()
	waitUntil(t, "readiness after publishing", func() bool { return status(t, base+"/readyz") == 200 })
	t.Logf("ready %v after publish", time.Since(published))

	// Publish again under load: no request may fail.
	var ok, failed atomic.Int64
	var sawNew atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				a, code, err := predict(client, base)
				if err != nil || code != 200 || a.Label != "setosa" {
					failed.Add(1)
					continue
				}
				ok.Add(1)
				if a.Model.Version != v1.Version {
					sawNew.Store(true)
				}
			}
		})
	}
	answered := func(n int64) func() bool { return func() bool { return ok.Load() >= n } }
	waitUntil(t, "the load to start", answered(50))
	v2 := testmodel.Publish(t, store, d, "iris", "production", 0.5)
	waitUntil(t, "the new version under load", sawNew.Load)
	waitUntil(t, "more answers from the new version", answered(ok.Load()+50))
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		t.Errorf("%d ok, %d failed", ok.Load(), failed.Load())
	}
	t.Logf("%d requests during the swap, %d failed", ok.Load(), failed.Load())
	if a, _, _ := predict(http.DefaultClient, base); a.Model.Version != v2.Version {
		t.Errorf("serving %s, want %s", a.Model.Version, v2.Version)
	}

	t.Run("metrics pass promtool", func(t *testing.T) {
		promtool, err := exec.LookPath("promtool")
		if err != nil {
			t.Fatal("promtool not installed: apt-get install prometheus (.ci/run does)")
		}
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		for _, want := range []string{
			`predictor_model_info{model="iris",version="` + v2.Version + `"} 1`,
			`predictor_model_reloads_total{result="success"} 2`,
			`predictor_model_last_reload_successful 1`,
			`predictor_model_last_reload_success_timestamp_seconds`,
			`predictor_predictions_total{class="setosa",model="iris",version="` + v2.Version + `"}`,
			`predictor_http_requests_total{code="200",handler="/predict",method="POST"}`,
			`predictor_http_request_duration_seconds_bucket{handler="/predict",method="POST",le="0.001"}`,
		} {
			if !bytes.Contains(body, []byte(want)) {
				t.Errorf("metrics lack %s", want)
			}
		}
		if bytes.Contains(body, []byte(`version="`+v1.Version+`"`)) {
			t.Error("series of the replaced version remain")
		}
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	})
}

// waitUntil polls cond until it holds, failing the test after 30s: room
// for a loaded machine, never a claim about speed.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 30s waiting for %s", what)
		}
	}
}

// startPredictor runs the service in this process, as main would, on a
// listener opened here (so no other process can take its port first), and
// waits until it answers. It sets env's PREDICTOR_ADDR to the listener's
// address; stop cancels the service and checks it ended cleanly.
func startPredictor(t *testing.T, env map[string]string) (base string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	env["PREDICTOR_ADDR"] = ln.Addr().String()
	base = "http://" + ln.Addr().String()
	getenv := func(k string) string { return env[k] }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runOn(ctx, ln, nil, getenv, io.Discard) }()
	waitUntil(t, "the predictor to answer", func() bool {
		select {
		case err := <-done:
			t.Fatalf("predictor stopped at start: %v", err)
		default:
		}
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return true
	})
	return base, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}
}

func TestRestartDuringOutageServesFromCache(t *testing.T) {
	s3 := s3test.Start(t)
	store, err := modelstore.New(modelstore.Options{Endpoint: s3.Endpoint, AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, Bucket: "modelferry"})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.EnsureBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	ref := testmodel.Publish(t, store, testmodel.Iris(t, "../../data/iris.csv"), "iris", "production", 1)
	env := map[string]string{
		"PREDICTOR_POLL_INTERVAL": "200ms", "PREDICTOR_SHUTDOWN_DELAY": "0s",
		"PREDICTOR_CACHE_DIR": t.TempDir(), "S3_TIMEOUT": "500ms",
		"S3_ENDPOINT": s3.Endpoint, "S3_ACCESS_KEY": s3test.AccessKey, "S3_SECRET_KEY": s3test.SecretKey,
	}

	base, stop := startPredictor(t, env)
	waitUntil(t, "the model to load", func() bool { return status(t, base+"/readyz") == 200 })
	stop()

	s3.Stop()
	base, stop = startPredictor(t, env)
	defer stop()
	waitUntil(t, "the cached model to load with S3 down", func() bool { return status(t, base+"/readyz") == 200 })
	a, code, err := predict(http.DefaultClient, base)
	if err != nil || code != 200 || a.Model.Version != ref.Version {
		t.Errorf("with S3 down after a restart: %d %+v %v", code, a, err)
	}
}
