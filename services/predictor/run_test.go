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
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/devstack/testkit/s3test"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/pkg/testmodel"
	"github.com/modelferry/modelferry/services/predictor/internal/catalog"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}
func TestHelpListsVariables(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, func(string) string { return "" }, &out); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"PREDICTOR_ADDR", ":8000", "PREDICTOR_MODEL", "PREDICTOR_ALIAS", "production", "PREDICTOR_POLL_INTERVAL", "1s",
		"PREDICTOR_MAX_BODY_BYTES", "8388608", "PREDICTOR_MAX_BATCH", "10000", "PREDICTOR_MAX_INFLIGHT_BYTES", "33554432", "PREDICTOR_MAX_ARTIFACT_BYTES", "268435456", "PREDICTOR_PUBLIC_DOCS", "PREDICTOR_MODELS", "PREDICTOR_GRPC_ADDR", ":8001", "PREDICTOR_CACHE_DIR", "PREDICTOR_ALLOWED_ORIGINS", "PREDICTOR_ALLOWED_HOSTS", "S3_ENDPOINT", "LOG_FORMAT"} {
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

func TestParseModels(t *testing.T) {
	for _, tc := range []struct {
		in    string
		specs []catalog.Spec
		all   bool
		err   string
	}{
		{"", []catalog.Spec{{Name: "iris", Alias: "production"}}, false, ""},
		{"*", nil, true, ""},
		{" * ", nil, true, ""},
		{"wine", []catalog.Spec{{Name: "wine", Alias: "production"}}, false, ""},
		{"wine@staging, iris", []catalog.Spec{{Name: "wine", Alias: "staging"}, {Name: "iris", Alias: "production"}}, false, ""},
		{"wine,wine@latest", nil, false, "model wine is listed twice"},
		{"Wine", nil, false, `model "Wine" must match`},
		{"wine@", []catalog.Spec{{Name: "wine", Alias: "production"}}, false, ""},
		{"wine@Prod!", nil, false, `alias "Prod!" of wine must match`},
		{"a,,b", nil, false, `model "" must match`},
	} {
		specs, all, err := parseModels(tc.in, "iris", "production")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || all != tc.all || !slices.Equal(specs, tc.specs) {
			t.Errorf("%q: %v %v %v, want %v %v", tc.in, specs, all, err, tc.specs, tc.all)
		}
	}
	env := map[string]string{"PREDICTOR_MODELS": "a,a"}
	if err := run(context.Background(), nil, func(k string) string { return env[k] }, io.Discard); err == nil || !strings.Contains(err.Error(), "PREDICTOR_MODELS") {
		t.Errorf("run with a bad PREDICTOR_MODELS: %v", err)
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
	store, err := modelstore.OpenS3(modelstore.S3Options{Endpoint: s3.Endpoint, AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, Bucket: "modelferry"}, modelstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	addr := s3test.FreeAddr(t)
	base := "http://" + addr
	// Long enough that 2× the interval leaves a slow machine room to load.
	const poll = 2 * time.Second
	env := map[string]string{
		"PREDICTOR_ADDR": addr, "PREDICTOR_POLL_INTERVAL": poll.String(), "PREDICTOR_SHUTDOWN_DELAY": "0s", "PREDICTOR_GRPC_ADDR": "off",
		"S3_ENDPOINT": s3.Endpoint, "S3_ACCESS_KEY": s3test.AccessKey, "S3_SECRET_KEY": s3test.SecretKey,
	}
	stopPredictor := startPredictor(t, base, env)
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

	// The bucket exists once the predictor reached S3.
	for deadline := time.Now().Add(30 * time.Second); store.Ping(context.Background()) != nil && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	d := testmodel.Iris(t)
	v1 := testmodel.Publish(t, store, d, "iris", "production", 1)
	published := time.Now()
	for status(t, base+"/readyz") != 200 {
		if time.Since(published) > 2*poll {
			t.Fatalf("not ready %v after publishing (poll interval %v)", time.Since(published), poll)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("ready %v after publish", time.Since(published))

	// Publish again under load: no request may fail.
	var ok, failed atomic.Int64
	var sawNew atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var v2 modelstore.Ref
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
	time.Sleep(200 * time.Millisecond)
	v2 = testmodel.Publish(t, store, d, "iris", "production", 0.5)
	for !sawNew.Load() && time.Since(published) < 60*time.Second {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	if failed.Load() != 0 || !sawNew.Load() {
		t.Errorf("%d ok, %d failed, new version served: %v", ok.Load(), failed.Load(), sawNew.Load())
	}
	t.Logf("%d requests during the swap, %d failed", ok.Load(), failed.Load())
	if a, _, _ := predict(http.DefaultClient, base); a.Model.Version != v2.Version {
		t.Errorf("serving %s, want %s", a.Model.Version, v2.Version)
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
			`predictor_model_info{model="iris",version="` + v2.Version + `"} 1`,
			`predictor_model_reloads_total{model="iris",result="success"} 2`,
			`predictor_model_last_reload_successful{model="iris"} 1`,
			`predictor_inference_request_success_total{model="iris",protocol="predict"}`,
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

// startPredictor runs the service in this process, as main would, and
// waits until it answers; stop cancels it and checks it ended cleanly.
func startPredictor(t *testing.T, base string, env map[string]string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, io.Discard) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			_ = resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("predictor did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}
}

func TestRestartDuringOutageServesFromCache(t *testing.T) {
	s3 := s3test.Start(t)
	store, err := modelstore.OpenS3(modelstore.S3Options{Endpoint: s3.Endpoint, AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, Bucket: "modelferry"}, modelstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.EnsureBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	ref := testmodel.Publish(t, store, testmodel.Iris(t), "iris", "production", 1)
	addr := s3test.FreeAddr(t)
	base := "http://" + addr
	env := map[string]string{
		"PREDICTOR_ADDR": addr, "PREDICTOR_POLL_INTERVAL": "200ms", "PREDICTOR_SHUTDOWN_DELAY": "0s", "PREDICTOR_GRPC_ADDR": "off",
		"PREDICTOR_CACHE_DIR": t.TempDir(), "S3_TIMEOUT": "500ms",
		"S3_ENDPOINT": s3.Endpoint, "S3_ACCESS_KEY": s3test.AccessKey, "S3_SECRET_KEY": s3test.SecretKey,
	}
	ready := func() bool { return status(t, base+"/readyz") == 200 }
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !cond(); {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	stop := startPredictor(t, base, env)
	waitUntil("the model to load", ready)
	stop()

	s3.Stop()
	stop = startPredictor(t, base, env)
	defer stop()
	waitUntil("the cached model to load with S3 down", ready)
	a, code, err := predict(http.DefaultClient, base)
	if err != nil || code != 200 || a.Model.Version != ref.Version {
		t.Errorf("with S3 down after a restart: %d %+v %v", code, a, err)
	}
}

func TestTakenAddressIsAnError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// The gRPC address too: its default, :8001, may be another process's.
	env := map[string]string{"PREDICTOR_ADDR": ln.Addr().String(), "PREDICTOR_GRPC_ADDR": "127.0.0.1:0"}
	err = run(context.Background(), nil, func(k string) string { return env[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "listen "+ln.Addr().String()) {
		t.Errorf("got %v", err)
	}
}
