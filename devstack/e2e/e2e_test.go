// Package e2e drives the whole system as a user would: versitygw, the
// trainer, two predictors and Prometheus run as real processes built from
// this repository, and the scenarios speak to them over HTTP only.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/modelferry/modelferry/devstack"
	"github.com/modelferry/modelferry/devstack/querycheck"
	"github.com/modelferry/modelferry/pkg/modelstore"
)

// swapTimeout bounds how long a predictor may take to follow an alias; the
// polls take a quarter of a second, the rest is room for a slow machine.
const swapTimeout = 30 * time.Second

const (
	accessKey = "e2e"
	secretKey = "e2e-secret-key"
	seed      = `{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}`
	poll      = 250 * time.Millisecond
)

var repoRoot, _ = filepath.Abs("../..")

type system struct {
	bin        string // the binaries built for the test
	stack      *devstack.Stack
	s3         string
	trainer    string
	predictors []string
	prometheus string
	store      *modelstore.Store
	logs       *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// build compiles the services from this checkout into dir.
func build(t *testing.T, dir string) {
	t.Helper()
	for svc, pkg := range map[string]string{"trainer": "./services/trainer", "predictor": "./services/predictor", "ferry": "./ferry"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, svc), pkg)
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", svc, err, out)
		}
	}
}

func lookPath(t *testing.T, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: %s", name, install)
	}
	return p
}

// systemOptions change the stack a test starts.
type systemOptions struct {
	// env is added to every service's environment.
	env map[string]string
	// rules is the directory of alert rules Prometheus loads.
	rules string
}

func startSystem(t *testing.T, options ...func(*systemOptions)) *system {
	t.Helper()
	opts := systemOptions{env: map[string]string{}, rules: filepath.Join(repoRoot, "prometheus", "rules")}
	for _, o := range options {
		o(&opts)
	}
	tmp := t.TempDir()
	build(t, tmp)
	// Five distinct free ports: all held open until all are chosen.
	var addrs []string
	var held []net.Listener
	for range 5 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	for _, ln := range held {
		_ = ln.Close()
	}
	s3, tr, p1, p2, pr := addrs[0], addrs[1], addrs[2], addrs[3], addrs[4]
	promConfig := filepath.Join(tmp, "prometheus.yml")
	if err := os.WriteFile(promConfig, []byte(fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - %s/*.yml
scrape_configs:
  - job_name: trainer
    static_configs: [{targets: ["%s"]}]
  - job_name: predictor
    static_configs: [{targets: ["%s", "%s"]}]
`, opts.rules, tr, p1, p2)), 0o644); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	stack, err := devstack.Start(context.Background(), devstack.Config{
		BinDir:     tmp,
		Versitygw:  lookPath(t, "versitygw", "run make tools (make test does)"),
		Prometheus: lookPath(t, "prometheus", "run make test-tools (make test does)"), PrometheusConfig: promConfig,
		StateDir: filepath.Join(tmp, "state"), DataDir: filepath.Join(repoRoot, "data"),
		S3Addr: s3, TrainerAddr: tr, PredictorAddrs: []string{p1, p2}, PrometheusAddr: pr,
		AccessKey: accessKey, SecretKey: secretKey, Out: logs,
		Env: func() map[string]string {
			env := map[string]string{
				"PREDICTOR_POLL_INTERVAL": poll.String(), "PREDICTOR_SHUTDOWN_DELAY": "1s",
				"S3_TIMEOUT": "2s", "TRAINER_TMP_DIR": tmp,
			}
			maps.Copy(env, opts.env)
			return env
		}(),
	})
	if err != nil {
		t.Fatalf("start: %v\n%s", err, logs)
	}
	t.Cleanup(func() {
		stack.Stop()
		if t.Failed() {
			t.Logf("process logs:\n%s", logs)
		}
	})
	store, err := modelstore.OpenS3(modelstore.S3Options{Endpoint: s3, AccessKey: accessKey, SecretKey: secretKey, Bucket: "modelferry"}, modelstore.Options{Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &system{bin: tmp, stack: stack, s3: s3, trainer: "http://" + tr, predictors: []string{"http://" + p1, "http://" + p2},
		prometheus: "http://" + pr, store: store, logs: logs}
}

type run struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Version  string `json:"version"`
	Promoted bool   `json:"promoted"`
	Error    *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (s *system) train(t *testing.T, query string) (run, int) {
	t.Helper()
	resp, err := http.Post(s.trainer+"/train?wait=true&"+query, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r run
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r, resp.StatusCode
}

type prediction struct {
	Label         string             `json:"label"`
	Probabilities map[string]float64 `json:"probabilities"`
	Model         struct {
		Version string `json:"version"`
	} `json:"model"`
}

func predict(client *http.Client, base, body string) (*http.Response, []byte, error) {
	resp, err := client.Post(base+"/predict", "application/json", strings.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// servedVersion is what a predictor answers with, "" without a model.
func servedVersion(base string) string {
	resp, b, err := predict(http.DefaultClient, base, seed)
	if err != nil || resp.StatusCode != 200 {
		return ""
	}
	var p prediction
	_ = json.Unmarshal(b, &p)
	return p.Model.Version
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func metrics(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// load sends /predict requests to every predictor from several goroutines
// until stopped, counting answers and failures.
type load struct {
	ok, failed atomic.Int64
	failures   sync.Map // message -> count, for the report
	stop       chan struct{}
	once       sync.Once
	wg         sync.WaitGroup
}

func startLoad(t *testing.T, targets []string, workers int) *load {
	return startLoadOf(t, targets, workers, func(int) string { return seed })
}

// startLoadOf is startLoad with the bodies body(0), body(1), ... in turn.
func startLoadOf(t *testing.T, targets []string, workers int, body func(i int) string) *load {
	l := &load{stop: make(chan struct{})}
	// Stopped on any exit, so a failed subtest leaves no load behind.
	t.Cleanup(l.halt)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}, Timeout: 10 * time.Second}
	for i := range workers {
		base := targets[i%len(targets)]
		l.wg.Go(func() {
			for n := i; ; n += workers {
				select {
				case <-l.stop:
					return
				default:
				}
				resp, b, err := predict(client, base, body(n))
				switch {
				case err != nil:
					l.fail(err.Error())
				case resp.StatusCode != 200:
					l.fail(fmt.Sprintf("%d %s", resp.StatusCode, b))
				default:
					l.ok.Add(1)
				}
			}
		})
	}
	return l
}

func (l *load) fail(msg string) {
	l.failed.Add(1)
	n, _ := l.failures.LoadOrStore(msg, new(atomic.Int64))
	n.(*atomic.Int64).Add(1)
}

func (l *load) halt() {
	l.once.Do(func() { close(l.stop) })
	l.wg.Wait()
}

func (l *load) finish(t *testing.T, what string) {
	t.Helper()
	l.halt()
	t.Logf("%s: %d requests, %d failed", what, l.ok.Load(), l.failed.Load())
	if l.failed.Load() != 0 {
		l.failures.Range(func(k, v any) bool {
			t.Errorf("%s: %d× %s", what, v.(*atomic.Int64).Load(), k)
			return true
		})
	}
	if l.ok.Load() == 0 {
		t.Errorf("%s: no request succeeded", what)
	}
}

func TestEndToEnd(t *testing.T) {
	start := time.Now()
	s := startSystem(t)
	t.Logf("stack up in %v", time.Since(start))

	for _, p := range s.predictors {
		resp, b, err := predict(http.DefaultClient, p, seed)
		if err != nil || resp.StatusCode != 503 || !strings.Contains(string(b), "no model loaded yet") {
			t.Fatalf("before training %s answered %v %s", p, err, b)
		}
	}

	mustRun(t, "1 train iris, both predictors match scikit-learn", func(t *testing.T) {
		// All rows, C=1, standardized: scikit-learn's converged optimum.
		// Its metrics come from the training data, so the gate leaves the
		// promotion to us.
		r, code := s.train(t, "test_fraction=0")
		if code != 200 || r.Status != "succeeded" || r.Promoted {
			t.Fatalf("train: %d %+v", code, r)
		}
		if code, b := putAlias(t, s, r.Version); code != 200 {
			t.Fatalf("promote: %d %s", code, b)
		}
		golden := loadGolden(t)
		instances := make([]string, len(golden.X))
		for i, row := range golden.X {
			b, _ := json.Marshal(row)
			instances[i] = string(b)
		}
		body := `{"instances": [` + strings.Join(instances, ",") + `]}`
		for _, p := range s.predictors {
			waitFor(t, p+" to serve "+r.Version, swapTimeout, func() bool { return servedVersion(p) == r.Version })
			resp, b, err := predict(http.DefaultClient, p, body)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("%s: %v %s", p, err, b)
			}
			var out struct {
				Predictions []prediction `json:"predictions"`
			}
			if err := json.Unmarshal(b, &out); err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for i, pr := range out.Predictions {
				for k, class := range golden.Classes {
					worst = math.Max(worst, math.Abs(pr.Probabilities[class]-golden.Proba[i][k]))
				}
			}
			if len(out.Predictions) != 150 || worst > 1e-4 {
				t.Errorf("%s: %d predictions, max |p - scikit-learn| = %.2g", p, len(out.Predictions), worst)
			}
			t.Logf("%s: max |p - scikit-learn| = %.2g over 150 rows", p, worst)
		}
	})

	var trained []string // good versions, for the integrity scenarios
	mustRun(t, "2 ten retrainings under load, no failed request", func(t *testing.T) {
		l := startLoad(t, s.predictors, 8)
		var promoted []string
		for i, c := range []float64{0.5, 2, 0.8, 5, 1.5, 0.7, 3, 1.2, 4, 0.9} {
			r, code := s.train(t, fmt.Sprintf("c=%g&seed=%d", c, i))
			if code != 200 || r.Status != "succeeded" {
				t.Fatalf("retrain %d: %d %+v", i, code, r)
			}
			trained = append(trained, r.Version)
			if !r.Promoted {
				continue
			}
			promoted = append(promoted, r.Version)
			for _, p := range s.predictors {
				waitFor(t, "predictor_model_info of "+r.Version+" on "+p, swapTimeout, func() bool {
					return strings.Contains(metrics(t, p), `predictor_model_info{model="iris",version="`+r.Version+`"} 1`)
				})
			}
		}
		l.finish(t, "load during 10 retrainings")
		a, _, err := s.store.GetAlias(context.Background(), "iris", "production")
		if err != nil {
			t.Fatal(err)
		}
		if len(promoted) == 0 || a.Version != promoted[len(promoted)-1] {
			t.Errorf("production %s, promoted %v", a.Version, promoted)
		}
		for _, p := range s.predictors {
			if v := servedVersion(p); v != a.Version {
				t.Errorf("%s serves %s, production is %s", p, v, a.Version)
			}
		}
		t.Logf("%d of 10 retrainings promoted", len(promoted))
	})

	mustRun(t, "3 S3 down for 10s under load", func(t *testing.T) {
		l := startLoad(t, s.predictors, 4)
		if err := s.stack.S3.Stop(5 * time.Second); err != nil && !strings.Contains(err.Error(), "signal") {
			t.Logf("s3 stop: %v", err)
		}
		outage := time.Now()
		resp, err := http.Post(s.trainer+"/train?wait=true", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 503 || !strings.Contains(string(b), "storage is unavailable") {
			t.Errorf("train during outage: %d %s", resp.StatusCode, b)
		}
		time.Sleep(10*time.Second - time.Since(outage))
		if err := s.stack.S3.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		l.finish(t, "load during a 10s S3 outage")
		waitFor(t, "the trainer to train again", 15*time.Second, func() bool {
			r, code := s.train(t, "")
			return code == 200 && r.Status == "succeeded"
		})
	})

	mustRun(t, "4 corrupt artifact keeps the old model; rollback works", func(t *testing.T) {
		ctx := context.Background()
		good, goodETag, err := s.store.GetAlias(ctx, "iris", "production")
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range s.predictors {
			waitFor(t, p+" to serve "+good.Version, swapTimeout, func() bool { return servedVersion(p) == good.Version })
		}
		// A bad version lands in the bucket behind the trainer's back.
		v := modelstore.NewVersion(time.Now())
		corrupt := []byte("this is not a model")
		putObject(t, s, "models/iris/versions/"+v+"/model.pb", corrupt)
		if _, err := s.store.SetAlias(ctx, "production", modelstore.Ref{Model: "iris", Version: v, SHA256: modelstore.SHA256(corrupt)}, modelstore.SetAliasOptions{IfMatch: goodETag}); err != nil {
			t.Fatal(err)
		}
		for _, p := range s.predictors {
			waitFor(t, p+" to report the failed reload", swapTimeout, func() bool {
				return strings.Contains(metrics(t, p), `predictor_model_last_reload_successful{model="iris"} 0`)
			})
			if got := servedVersion(p); got != good.Version {
				t.Errorf("%s serves %q after the corrupt publish, want %s", p, got, good.Version)
			}
		}
		// The trainer refuses to promote it explicitly, too.
		if code, b := putAlias(t, s, v); code != 409 || !strings.Contains(b, `"integrity"`) {
			t.Errorf("promote corrupt: %d %s", code, b)
		}
		if code, b := putAlias(t, s, good.Version); code != 200 {
			t.Fatalf("rollback: %d %s", code, b)
		}
		for _, p := range s.predictors {
			waitFor(t, p+" to clear the failure after rollback", swapTimeout, func() bool {
				return strings.Contains(metrics(t, p), `predictor_model_last_reload_successful{model="iris"} 1`)
			})
		}
	})

	mustRun(t, "4c a valid artifact under another version's sha256 keeps the old model", func(t *testing.T) {
		// Both artifacts decode and pass their own checksum: only the
		// comparison with the alias's sha256 can refuse the load.
		good, _, err := s.store.GetAlias(context.Background(), "iris", "production")
		if err != nil {
			t.Fatal(err)
		}
		var others []string
		for _, v := range trained {
			if v != good.Version {
				others = append(others, v)
			}
		}
		if len(others) < 2 {
			t.Fatalf("need two trained versions besides %s, have %v", good.Version, trained)
		}
		a, b := others[0], others[1]
		failures := make([]float64, len(s.predictors))
		for i, p := range s.predictors {
			failures[i] = metricValue(t, metrics(t, p), `predictor_model_reloads_total{model="iris",result="failure"}`)
		}
		wrong, _ := json.Marshal(map[string]string{
			"version": a, "sha256": modelstore.SHA256(getObject(t, s, "models/iris/versions/"+b+"/model.pb")),
			"updated_at": time.Now().UTC().Format(time.RFC3339Nano),
		})
		putObject(t, s, "models/iris/aliases/production.json", wrong)
		for i, p := range s.predictors {
			waitFor(t, p+" to report the refused load", swapTimeout, func() bool {
				m := metrics(t, p)
				return metricValue(t, m, `predictor_model_last_reload_successful{model="iris"}`) == 0 &&
					metricValue(t, m, `predictor_model_reloads_total{model="iris",result="failure"}`) == failures[i]+1
			})
			if got := servedVersion(p); got != good.Version {
				t.Errorf("%s serves %q, want %s kept", p, got, good.Version)
			}
			if m := metrics(t, p); strings.Contains(m, a) || !strings.Contains(m, `predictor_model_info{model="iris",version="`+good.Version+`"} 1`) {
				t.Errorf("%s exports the refused version or lost the served one:\n%s", p, m)
			}
		}
		if !slices.ContainsFunc(strings.Split(s.logs.String(), "\n"), func(line string) bool {
			return strings.Contains(line, "model load failed; keeping the current model") && strings.Contains(line, "version="+a)
		}) {
			t.Error("no predictor logged the refused load of " + a)
		}
		if code, body := putAlias(t, s, good.Version); code != 200 {
			t.Fatalf("rollback: %d %s", code, body)
		}
		for _, p := range s.predictors {
			waitFor(t, p+" to clear the failure after rollback", swapTimeout, func() bool {
				return metricValue(t, metrics(t, p), `predictor_model_last_reload_successful{model="iris"}`) == 1
			})
		}
	})

	mustRun(t, "4b ferry: every command against the stack", func(t *testing.T) { testFerry(t, s) })

	mustRun(t, "5 SIGTERM under load: readiness first, in-flight requests complete", func(t *testing.T) {
		// The load plays a load balancer: it sends to the victim while its
		// health check (every 20ms) says ready, then stops routing there.
		// Every request it started must be answered.
		victim := s.stack.Predictors[1]
		base := s.predictors[1]
		var routed atomic.Bool
		routed.Store(true)
		var ok atomic.Int64
		var broken sync.Map
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var stopOnce sync.Once
		halt := func() { stopOnce.Do(func() { close(stop) }); wg.Wait() }
		t.Cleanup(halt)
		client := &http.Client{Timeout: 10 * time.Second}
		for range 4 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if !routed.Load() {
						time.Sleep(5 * time.Millisecond)
						continue
					}
					resp, b, err := predict(client, base, seed)
					switch {
					case err != nil:
						broken.Store(err.Error(), true)
					case resp.StatusCode != 200:
						broken.Store(fmt.Sprintf("%d %s", resp.StatusCode, b), true)
					default:
						ok.Add(1)
					}
				}
			})
		}
		time.Sleep(300 * time.Millisecond)
		if err := victim.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		servedWhileNotReady := false
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) && routed.Load() {
			resp, err := http.Get(base + "/readyz")
			if err != nil {
				t.Fatalf("readiness check failed before it reported 503: %v", err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode == 503 {
				routed.Store(false)
				// Still draining: a request now is still served.
				if r, _, err := predict(http.DefaultClient, base, seed); err == nil && r.StatusCode == 200 {
					servedWhileNotReady = true
				}
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		<-victim.Done()
		halt()
		if routed.Load() || !servedWhileNotReady {
			t.Errorf("readiness went 503 before stopping: %v; served while not ready: %v", !routed.Load(), servedWhileNotReady)
		}
		broken.Range(func(k, _ any) bool {
			t.Errorf("request broken by shutdown: %v", k)
			return true
		})
		t.Logf("%d requests answered during the shutdown, none broken", ok.Load())
		if !strings.Contains(s.logs.String(), "predictor stopped") {
			t.Error("the predictor did not log a clean stop")
		}
		if err := victim.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	})

	mustRun(t, "6 Prometheus scrapes everything; alerts and dashboard queries evaluate", func(t *testing.T) {
		waitFor(t, "every target up", 30*time.Second, func() bool {
			return promValue(t, s, `count(up == 1)`) == 3
		})
		dashboards, _ := filepath.Glob(filepath.Join(repoRoot, "grafana", "dashboards", "*.json"))
		if len(dashboards) == 0 {
			t.Fatal("no Grafana dashboards found")
		}
		var out bytes.Buffer
		args := append([]string{"-prometheus", s.prometheus, "-rules", filepath.Join(repoRoot, "prometheus", "rules", "*.yml"),
			"-window", "2m", "-step", "1s", "-retry", "30s"}, dashboards...)
		if err := querycheck.Run(args, &out); err != nil {
			t.Errorf("%v\n%s", err, out.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		t.Logf("querycheck: %s", lines[len(lines)-1])
		waitFor(t, "both replicas exporting predictor_model_info", 30*time.Second, func() bool {
			return promValue(t, s, `sum(predictor_model_info)`) == 2
		})
	})
	t.Logf("end-to-end suite took %v", time.Since(start))
}

func putAlias(t *testing.T, s *system, version string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, s.trainer+"/models/iris/aliases/production", strings.NewReader(`{"version":"`+version+`"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// putObject writes raw bytes into the bucket with a plain S3 client,
// bypassing every check of the registry.
func s3Client(t *testing.T, s *system) *minio.Client {
	t.Helper()
	c, err := minio.New(s.s3, &minio.Options{Creds: credentials.NewStaticV4(accessKey, secretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// putObject writes raw bytes into the bucket with a plain S3 client,
// bypassing every check of the registry.
func putObject(t *testing.T, s *system, key string, b []byte) {
	t.Helper()
	if _, err := s3Client(t, s).PutObject(context.Background(), "modelferry", key, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
}

// getObject reads an object with a plain S3 client.
func getObject(t *testing.T, s *system, key string) []byte {
	t.Helper()
	obj, err := s3Client(t, s).GetObject(context.Background(), "modelferry", key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b
}

// metricValue finds series (name and labels exactly as exposed) in a
// /metrics page; the test fails when it is absent.
func metricValue(t *testing.T, page, series string) float64 {
	t.Helper()
	for _, line := range strings.Split(page, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("no series %s in\n%s", series, page)
	return 0
}

type golden struct {
	X       [][]float64
	Classes []string
	Proba   [][]float64
}

func loadGolden(t *testing.T) golden {
	t.Helper()
	b, err := os.ReadFile("testdata/iris_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Meta struct {
			ClassNames []string `json:"class_names"`
		} `json:"meta"`
		Ref struct {
			Proba [][]float64 `json:"predict_proba"`
		} `json:"scaled_converged_reference"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	csv, err := os.ReadFile(filepath.Join(repoRoot, "data", "iris.csv"))
	if err != nil {
		t.Fatal(err)
	}
	out := golden{Classes: g.Meta.ClassNames, Proba: g.Ref.Proba}
	for _, line := range strings.Split(strings.TrimSpace(string(csv)), "\n")[1:] {
		var row [4]float64
		if _, err := fmt.Sscanf(line, "%g,%g,%g,%g,", &row[0], &row[1], &row[2], &row[3]); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		out.X = append(out.X, row[:])
	}
	return out
}

func promQuery(s *system, expr string) (json.RawMessage, error) {
	resp, err := http.Get(s.prometheus + "/api/v1/query?query=" + url.QueryEscape(expr))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, errors.New(r.Error)
	}
	return r.Data, nil
}

func promValue(t *testing.T, s *system, expr string) float64 {
	t.Helper()
	data, err := promQuery(s, expr)
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	var v struct {
		Result []struct {
			Value [2]any `json:"value"`
		} `json:"result"`
	}
	_ = json.Unmarshal(data, &v)
	if len(v.Result) == 0 {
		return math.NaN()
	}
	var f float64
	_, _ = fmt.Sscanf(v.Result[0].Value[1].(string), "%g", &f)
	return f
}

// mustRun runs a scenario and stops the suite when it fails: each scenario
// starts from the state the previous one left.
func mustRun(t *testing.T, name string, f func(t *testing.T)) {
	t.Helper()
	if !t.Run(name, f) {
		t.FailNow()
	}
}
