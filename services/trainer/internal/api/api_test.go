package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelferry/modelferry/devstack/testkit/repo"
	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/services/trainer/internal/jobs"
	"github.com/modelferry/modelferry/services/trainer/internal/pipeline"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

type env struct {
	t      *testing.T
	engine *gin.Engine
	mem    *modelstore.Memory
	store  *modelstore.Store
	queue  *jobs.Queue
	tmp    string
}

// newEnv serves the API over a registry in memory, with the real queue and
// pipeline; the real-S3 tier is the trainer's run_test and the e2e suite.
func newEnv(t *testing.T, mutate ...func(*Config, *jobs.Config)) *env {
	t.Helper()
	mem := modelstore.NewMemory("modelferry")
	store := modelstore.New(mem, modelstore.Options{Timeout: 2 * time.Second})
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	metrics := prometheus.NewRegistry()
	var queue *jobs.Queue
	reg := registry.New(registry.Config{Storage: store, Logger: logger, Gate: registry.Gate{MinAccuracy: 0.7, MaxRegression: 0.05},
		Live: func(id string) (registry.Run, bool) { return queue.Live(id) }})
	qcfg := jobs.Config{Saver: reg, Logger: logger, Metrics: jobs.NewMetrics(metrics), MaxQueued: 8, Parallel: 1,
		Work: func(ctx context.Context, run registry.Run, src pipeline.Source, update func(func(*registry.Run)), commit func() error) error {
			return pipeline.Run(ctx, pipeline.Input{Run: run, Source: src, Datasets: store, Registry: reg, Logger: logger,
				TrainerVersion: "test", Now: time.Now, Update: update, Commit: commit})
		}}
	tmp := t.TempDir()
	acfg := Config{Logger: logger, Registry: reg, Storage: store, TrainerVersion: "test",
		DataDir: repo.Path(t, "data"), TempDir: tmp, MaxUploadBytes: 1 << 20,
		Artifacts: reg, Datasets: reg, DatasetFiles: store}
	for _, m := range mutate {
		m(&acfg, &qcfg)
	}
	queue = jobs.New(qcfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		queue.Shutdown(ctx)
	})
	acfg.Queue, acfg.Jobs = queue, queue
	e := httpserver.NewEngine(httpserver.Options{Logger: logger, Registry: metrics, Namespace: "trainer"})
	New(acfg).Register(e)
	return &env{t: t, engine: e, mem: mem, store: store, queue: queue, tmp: tmp}
}

// block holds every write of a key with the given suffix until the
// returned function is called: a run stops there, so tests make the
// timing they need instead of hoping for it.
func (e *env) block(suffix string) (release func()) {
	gate := make(chan struct{})
	e.mem.SetHook(func(op, key string) error {
		if op == "put" && strings.HasSuffix(key, suffix) {
			<-gate
		}
		return nil
	})
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	e.t.Cleanup(release)
	return release
}

type response struct {
	code   int
	header http.Header
	body   []byte
}

func (e *env) do(method, target, contentType string, body io.Reader, headers ...string) response {
	e.t.Helper()
	req := httptest.NewRequest(method, target, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	e.engine.ServeHTTP(w, req)
	return response{code: w.Code, header: w.Header(), body: w.Body.Bytes()}
}

func (r response) run(t *testing.T) registry.Run {
	t.Helper()
	var run registry.Run
	if err := json.Unmarshal(r.body, &run); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	return run
}

func (r response) apiError(t *testing.T) httpserver.BodyError {
	t.Helper()
	var b httpserver.Body
	if err := json.Unmarshal(r.body, &b); err != nil || b.Error.Code == "" {
		t.Fatalf("body %s is not an error (%v)", r.body, err)
	}
	return b.Error
}

func iris(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(repo.Iris(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func multipartBody(t *testing.T, field string, content []byte) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, err := w.CreateFormFile(field, "data.csv")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(content)
	_ = w.Close()
	return w.FormDataContentType(), &buf
}

// noise is a dataset no model can learn: random features, random labels.
func noise(rows int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	b.WriteString("f1,f2,f3,label\n")
	for i := 0; i < rows; i++ {
		fmt.Fprintf(&b, "%.3f,%.3f,%.3f,c%d\n", r.NormFloat64(), r.NormFloat64(), r.NormFloat64(), r.IntN(3))
	}
	return []byte(b.String())
}

func TestTrainForms(t *testing.T) {
	e := newEnv(t)
	ct, mp := multipartBody(t, "file", iris(t))
	for _, tc := range []struct {
		name        string
		target, ct  string
		body        io.Reader
		wantOn      string
		wantC       float64
		wantDataset string
	}{
		{"default dataset, no body", "/train?wait=true", "", nil, "test", 1, ""},
		{"JSON with params", "/train?wait=true", "application/json",
			strings.NewReader(`{"params":{"c":0.5,"test_fraction":0.3,"seed":7}}`), "test", 0.5, ""},
		{"inline CSV, fit on every row", "/train?wait=true&c=2&test_fraction=0&label=species", "text/csv",
			bytes.NewReader(iris(t)), "train", 2, ""},
		{"multipart upload", "/train?wait=true&standardize=false&max_iter=5000", ct, mp, "test", 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.do("POST", tc.target, tc.ct, tc.body)
			if resp.code != http.StatusOK {
				t.Fatalf("status %d: %s", resp.code, resp.body)
			}
			run := resp.run(t)
			if run.Status != registry.StatusSucceeded || run.MetricsOn != tc.wantOn || run.Params.C != tc.wantC {
				t.Errorf("run %+v", run)
			}
			if run.Metrics == nil || run.Metrics.Accuracy < 0.9 || run.Version != run.ID || !run.Converged || run.Objective == nil {
				t.Errorf("metrics %+v version %s converged %v", run.Metrics, run.Version, run.Converged)
			}
			if run.Dataset.SHA256 != "9cc1c345c71bcc9b486b74cbf6063fa66f4bb5e0f603a4b3c3471ec2e5e8e355" ||
				run.Dataset.URI != "s3://modelferry/datasets/"+run.Dataset.SHA256+".csv" || run.Dataset.Rows != 150 {
				t.Errorf("dataset %+v", run.Dataset)
			}
			if resp.header.Get("Location") != "/runs/"+run.ID {
				t.Errorf("Location %q", resp.header.Get("Location"))
			}
			if run.Timings.FitSeconds <= 0 || run.Timings.PublishSeconds <= 0 || run.StartedAt == nil || run.FinishedAt == nil {
				t.Errorf("timings %+v", run.Timings)
			}
		})
	}
	t.Run("dataset already in S3", func(t *testing.T) {
		data := iris(t)
		if _, err := e.store.PutDataset(context.Background(), modelstore.SHA256(data), bytes.NewReader(data), int64(len(data))); err != nil {
			t.Fatal(err)
		}
		body := fmt.Sprintf(`{"dataset":"datasets/%s.csv","label":"species"}`, modelstore.SHA256(data))
		resp := e.do("POST", "/train?wait=true&model=flowers", "application/json", strings.NewReader(body))
		if resp.code != http.StatusOK {
			t.Fatalf("status %d: %s", resp.code, resp.body)
		}
		if run := resp.run(t); run.Model != "flowers" || run.Dataset.Rows != 150 {
			t.Errorf("run %+v", run)
		}
	})
}

func TestWaitOutlastsServerTimeouts(t *testing.T) {
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httpserver.NewServer(e.engine, slog.New(slog.NewTextHandler(io.Discard, nil)),
		httpserver.Timeouts{Read: 50 * time.Millisecond, Write: 50 * time.Millisecond})
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	// The run is held at publishing for ten times the server's timeouts.
	e.mem.SetHook(func(op, key string) error {
		if op == "put" && strings.HasSuffix(key, "/run.json") {
			time.Sleep(500 * time.Millisecond)
		}
		return nil
	})
	resp, err := http.Post("http://"+ln.Addr().String()+"/train?wait=true", "text/csv", bytes.NewReader(iris(t)))
	if err != nil {
		t.Fatalf("a training longer than the server's timeouts: %v", err)
	}
	defer resp.Body.Close()
	var run registry.Run
	if err := json.NewDecoder(resp.Body).Decode(&run); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d, %v", resp.StatusCode, err)
	}
	if run.DurationSeconds < 0.5 || run.Status != registry.StatusSucceeded {
		t.Errorf("run %s in %.3fs, want succeeded after the 0.5s hold", run.Status, run.DurationSeconds)
	}
}

func TestRunShowsLiveProgress(t *testing.T) {
	e := newEnv(t)
	// Held at publishing: fitted, not finished.
	release := e.block("/run.json")
	resp := e.do("POST", "/train", "text/csv", bytes.NewReader(iris(t)))
	if resp.code != http.StatusAccepted {
		t.Fatalf("%d %s", resp.code, resp.body)
	}
	id := resp.run(t).ID
	run := waitRun(t, e, id, func(r registry.Run) bool { return r.Progress != nil && r.Progress.Iteration > 0 })
	if run.Status != registry.StatusRunning || run.Progress.Loss <= 0 {
		t.Errorf("live run %s, progress %+v", run.Status, run.Progress)
	}
	release()
	done := waitRun(t, e, id, func(r registry.Run) bool { return r.Status.Terminal() })
	if done.Status != registry.StatusSucceeded || done.Progress != nil {
		t.Errorf("finished run %s still shows progress %+v", done.Status, done.Progress)
	}
	if done.Iterations < run.Progress.Iteration {
		t.Errorf("finished after %d iterations, progress said %d", done.Iterations, run.Progress.Iteration)
	}
}

// waitRun polls GET /runs/{id} until cond holds, for at most 30s.
func waitRun(t *testing.T, e *env, id string, cond func(registry.Run) bool) registry.Run {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp := e.do("GET", "/runs/"+id, "", nil)
		if resp.code != http.StatusOK {
			t.Fatalf("GET /runs/%s: %d %s", id, resp.code, resp.body)
		}
		if run := resp.run(t); cond(run) {
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s: condition not met within 30s", id)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestTrainAsyncQueues(t *testing.T) {
	e := newEnv(t)
	release := e.block("/run.json") // the first run holds the model's queue
	resp := e.do("POST", "/train", "", nil)
	if resp.code != http.StatusAccepted {
		t.Fatalf("status %d: %s", resp.code, resp.body)
	}
	first := resp.run(t)
	// The answer is the run as it is when the answer is written: the
	// queue may have started it already.
	if (first.Status != registry.StatusQueued && first.Status != registry.StatusRunning) || resp.header.Get("Location") != "/runs/"+first.ID {
		t.Errorf("run %+v location %q", first, resp.header.Get("Location"))
	}
	waitRun(t, e, first.ID, func(r registry.Run) bool { return r.Status == registry.StatusRunning })
	var positions []int
	var ids []string
	for range 3 {
		r := e.do("POST", "/train", "", nil).run(t)
		positions = append(positions, r.QueuePosition)
		ids = append(ids, r.ID)
	}
	if !slices.Equal(positions, []int{1, 2, 3}) {
		t.Errorf("queue positions %v, want [1 2 3]", positions)
	}
	release()
	for _, id := range ids {
		if got := waitRun(t, e, id, func(r registry.Run) bool { return r.Status.Terminal() }); got.Status != registry.StatusSucceeded {
			t.Errorf("run %s: %s %+v", id, got.Status, got.Error)
		}
	}
}

func TestTrainBadInput(t *testing.T) {
	e := newEnv(t)
	big := bytes.Repeat([]byte("1,2,x\n"), 300_000) // ~1.8 MB, over the 1 MiB test limit
	ct, mp := multipartBody(t, "data", iris(t))
	bigCT, bigMP := multipartBody(t, "file", big)
	for _, tc := range []struct {
		name       string
		target, ct string
		body       string
		bodyReader string
		status     int
		code, msg  string
	}{
		{"malformed JSON", "/train", "application/json", `{"params":`, "", 400, "invalid_argument", "malformed JSON"},
		{"unknown field", "/train", "application/json", `{"params":{},"dataset_name":"x"}`, "", 400, "invalid_argument", `unknown field "dataset_name"`},
		{"unknown param", "/train", "application/json", `{"params":{"learning_rate":1}}`, "", 400, "invalid_argument", `unknown field "params.learning_rate"`},
		{"wrong type", "/train", "application/json", `{"params":{"c":"big"}}`, "", 400, "invalid_argument", "params.c: expected a number, got JSON string"},
		{"C zero", "/train", "application/json", `{"params":{"c":0}}`, "", 400, "invalid_argument", "c must be a positive finite number, got 0"},
		{"C negative query", "/train?c=-1", "text/csv", "a,b\n1,x\n", "", 400, "invalid_argument", "c must be a positive"},
		{"C not a number", "/train?c=abc", "text/csv", "a,b\n1,x\n", "", 400, "invalid_argument", `c: "abc" is not a number`},
		{"max_iter zero", "/train", "application/json", `{"params":{"max_iter":0}}`, "", 400, "invalid_argument", "max_iter must be in [1, 100000], got 0"},
		{"max_iter over the limit", "/train", "application/json", `{"params":{"max_iter":100001}}`, "", 400, "invalid_argument", "max_iter must be in [1, 100000], got 100001"},
		{"max_iter over the limit in the query", "/train?max_iter=100001", "text/csv", "a,b\n1,x\n", "", 400, "invalid_argument", "max_iter must be in [1, 100000], got 100001"},
		{"tol negative", "/train", "application/json", `{"params":{"tol":-1}}`, "", 400, "invalid_argument", "tol must be a positive"},
		{"test_fraction one", "/train", "application/json", `{"params":{"test_fraction":1}}`, "", 400, "invalid_argument", "test_fraction must be in [0, 1), got 1"},
		{"test_fraction negative", "/train?test_fraction=-0.1", "", "", "", 400, "invalid_argument", "test_fraction must be in [0, 1)"},
		{"unknown query param", "/train?learning_rate=2", "", "", "", 400, "invalid_argument", `unknown query parameter "learning_rate"`},
		{"params in query with JSON", "/train?c=2", "application/json", `{}`, "", 400, "invalid_argument", "put parameters in its \"params\" object"},
		{"bad model name", "/train?model=Iris!", "", "", "", 400, "invalid_argument", `model name "Iris!" must match`},
		{"bad wait", "/train?wait=maybe", "", "", "", 400, "invalid_argument", `wait: "maybe" is not a boolean`},
		{"no default dataset", "/train?model=unknown", "", "", "", 404, "not_found", `model "unknown" has no default dataset`},
		{"wrong content type", "/train", "text/plain", "hello", "", 415, "unsupported_media_type", "send application/json, text/csv or multipart/form-data"},
		{"upload over limit", "/train", "text/csv", "", "big", 413, "payload_too_large", "TRAINER_MAX_UPLOAD_BYTES"},
		{"multipart over limit", "/train", bigCT, "", "bigmp", 413, "payload_too_large", "TRAINER_MAX_UPLOAD_BYTES"},
		{"multipart wrong field", "/train", ct, "", "mp", 400, "invalid_argument", `unknown form field "data"`},
		{"CSV with a bad number", "/train?wait=true&numeric=petal_width&test_fraction=0", "text/csv", "a,petal_width,label\n1,2,x\n1,abc,y\n", "", 400, "invalid_argument", `line 3, column petal_width: "abc" is not a number`},
		{"drop names no column", "/train?wait=true&drop=nope", "text/csv", "a,b,label\n1,2,x\n1,3,y\n", "", 400, "invalid_argument", `drop names "nope", which is no column`},
		{"class weight of an unknown class", "/train?wait=true&test_fraction=0&class_weight=" + url.QueryEscape(`{"z": 2}`), "text/csv", "a,b,label\n1,2,x\n1,3,y\n", "", 400, "invalid_argument", `class_weight names class "z"`},
		{"negative sample weight", "/train?wait=true&test_fraction=0&weight=b", "text/csv", "a,b,label\n1,2,x\n1,-3,y\n", "", 400, "invalid_argument", "sample weight -3 is negative"},
		{"bad impute", "/train?impute=mode", "text/csv", "a,b,label\n1,2,x\n1,3,y\n", "", 400, "invalid_argument", `impute "mode" is not a strategy`},
		{"CSV ragged", "/train?wait=true", "text/csv", "a,b,label\n1,2,x\n1,y\n", "", 400, "invalid_argument", "line 3: 2 fields, the header has 3"},
		{"CSV empty", "/train?wait=true", "text/csv", "", "", 400, "invalid_argument", "the file is empty"},
		{"CSV one class", "/train?wait=true", "text/csv", "a,label\n1,x\n2,x\n", "", 400, "invalid_argument", "single class"},
		{"too few rows per class", "/train?wait=true", "text/csv", "a,label\n1,x\n2,x\n3,y\n", "", 400, "invalid_argument", `class "y" has 1 row(s)`},
		{"missing label column", "/train?wait=true&label=species", "text/csv", "a,b\n1,x\n", "", 400, "invalid_argument", `no label column "species"`},
		{"dataset not in S3", "/train?wait=true", "application/json", `{"dataset":"datasets/nope.csv"}`, "", 404, "not_found", "dataset not found"},
		{"dataset in another bucket", "/train?wait=true", "application/json", `{"dataset":"s3://other/x.csv"}`, "", 400, "invalid_argument", "invalid dataset reference"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(tc.body)
			switch tc.bodyReader {
			case "big":
				body = bytes.NewReader(big)
			case "bigmp":
				body = bigMP
			case "mp":
				body = mp
			}
			before := objectCount(t, e)
			resp := e.do("POST", tc.target, tc.ct, body)
			if resp.code != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.code, tc.status, resp.body)
			}
			got := resp.apiError(t)
			if got.Code != tc.code || !strings.Contains(got.Message, tc.msg) {
				t.Errorf("error %+v, want %s containing %q", got, tc.code, tc.msg)
			}
			// Nothing but a failed run record may be written.
			after := objectCount(t, e)
			if after.versions != before.versions || after.datasets != before.datasets {
				t.Errorf("S3 changed: %+v -> %+v", before, after)
			}
			if tc.status >= 400 && !strings.Contains(tc.target, "wait=true") && after.runs != before.runs {
				t.Errorf("rejected request recorded a run")
			}
		})
	}
	if entries, _ := os.ReadDir(e.tmp); len(entries) != 0 {
		t.Errorf("%d spooled uploads left behind", len(entries))
	}
}

type counts struct{ versions, datasets, runs int }

func objectCount(t *testing.T, e *env) counts {
	t.Helper()
	var c counts
	for _, k := range e.mem.Keys() {
		switch {
		case strings.HasPrefix(k, "models/"):
			c.versions++
		case strings.HasPrefix(k, "datasets/"):
			c.datasets++
		case strings.HasPrefix(k, "runs/"):
			c.runs++
		}
	}
	return c
}

func TestQueueFullAnswers429(t *testing.T) {
	e := newEnv(t, func(_ *Config, tc *jobs.Config) { tc.MaxQueued = 1 })
	e.block("/run.json")
	first := e.do("POST", "/train", "", nil).run(t)
	waitRun(t, e, first.ID, func(r registry.Run) bool { return r.Status == registry.StatusRunning })
	second := e.do("POST", "/train", "", nil)
	if second.code != http.StatusAccepted {
		t.Fatalf("second run (queued): %d %s", second.code, second.body)
	}
	resp := e.do("POST", "/train", "", nil)
	if resp.code != http.StatusTooManyRequests {
		t.Fatalf("third run: %d %s, want 429", resp.code, resp.body)
	}
	if got := resp.apiError(t); got.Code != "resource_exhausted" {
		t.Errorf("error %+v", got)
	}
	// Cancelling the queued run gives its place back.
	if resp := e.do("POST", "/runs/"+second.run(t).ID+"/cancel", "", nil); resp.code != http.StatusOK {
		t.Fatalf("cancel the queued run: %d %s", resp.code, resp.body)
	}
	if resp := e.do("POST", "/train", "", nil); resp.code != http.StatusAccepted {
		t.Fatalf("a run after a cancel freed the place: %d %s, want 202", resp.code, resp.body)
	}
}

func TestAuth(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *jobs.Config) { c.Token = "s3cret" })
	for _, tc := range []struct {
		name, method, target, auth string
		status                     int
	}{
		{"train without token", "POST", "/train", "", 401},
		{"train with wrong token", "POST", "/train", "Bearer nope", 403},
		{"train with basic auth", "POST", "/train", "Basic czNjcmV0", 401},
		{"alias without token", "PUT", "/models/iris/aliases/production", "", 401},
		{"cancel without token", "POST", "/runs/20261126T000000Z-00000000/cancel", "", 401},
		{"reads need no token", "GET", "/runs", "", 200},
		{"train with token", "POST", "/train", "Bearer s3cret", 202},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h []string
			if tc.auth != "" {
				h = []string{"Authorization", tc.auth}
			}
			resp := e.do(tc.method, tc.target, "", nil, h...)
			if resp.code != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.code, tc.status, resp.body)
			}
			if tc.status == 401 && resp.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func TestReadToken(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *jobs.Config) { c.Token, c.ReadToken = "writer", "reader" })
	for _, tc := range []struct {
		name, method, target, auth string
		status                     int
	}{
		{"runs without token", "GET", "/runs", "", 401},
		{"models without token", "GET", "/models", "", 401},
		{"model without token", "GET", "/models/iris", "", 401},
		{"run without token", "GET", "/runs/20261126T000000Z-00000000", "", 401},
		{"runs with the read token", "GET", "/runs", "Bearer reader", 200},
		{"runs with the write token", "GET", "/runs", "Bearer writer", 200},
		{"runs with a wrong token", "GET", "/runs", "Bearer nope", 403},
		{"train with the read token", "POST", "/train", "Bearer reader", 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h []string
			if tc.auth != "" {
				h = []string{"Authorization", tc.auth}
			}
			if resp := e.do(tc.method, tc.target, "", nil, h...); resp.code != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.code, tc.status, resp.body)
			}
		})
	}
}

func TestCancelRun(t *testing.T) {
	e := newEnv(t)
	release := e.block("/run.json")
	running := e.do("POST", "/train", "", nil).run(t)
	waitRun(t, e, running.ID, func(r registry.Run) bool { return r.Status == registry.StatusRunning })
	queued := e.do("POST", "/train", "", nil).run(t)

	resp := e.do("POST", "/runs/"+queued.ID+"/cancel", "", nil)
	if resp.code != 200 || resp.run(t).Status != registry.StatusCancelled {
		t.Fatalf("cancel queued: %d %s", resp.code, resp.body)
	}
	if got := e.do("GET", "/runs?status=cancelled", "", nil); !strings.Contains(string(got.body), queued.ID) {
		t.Errorf("cancelled run not listed by status: %s", got.body)
	}
	resp = e.do("POST", "/runs/"+queued.ID+"/cancel", "", nil)
	if resp.code != http.StatusConflict || !strings.Contains(resp.apiError(t).Message, "only queued or running runs") {
		t.Errorf("cancel twice: %d %s", resp.code, resp.body)
	}
	if resp := e.do("POST", "/runs/20261126T000000Z-00000000/cancel", "", nil); resp.code != http.StatusNotFound {
		t.Errorf("cancel unknown: %d %s", resp.code, resp.body)
	}
	release()
	done := waitRun(t, e, running.ID, func(r registry.Run) bool { return r.Status.Terminal() })
	if done.Status != registry.StatusSucceeded {
		t.Errorf("the running run ended %s", done.Status)
	}
}

func TestCancelStopsARunningRun(t *testing.T) {
	e := newEnv(t)
	// A 1 MB dataset in the bucket that streams one 64 KiB chunk per 50ms:
	// the run is still loading when the cancel comes, and stops within a
	// chunk.
	data := append([]byte("sepal_length,sepal_width,petal_length,petal_width,species\n"),
		bytes.Repeat(bytes.SplitN(iris(t), []byte("\n"), 2)[1], 250)...)
	e.mem.Overwrite("datasets/slow.csv", data)
	var reads atomic.Int32
	e.mem.SetHook(func(op, key string) error {
		if op == "read" && key == "datasets/slow.csv" {
			reads.Add(1)
			time.Sleep(50 * time.Millisecond)
		}
		return nil
	})
	resp := e.do("POST", "/train", "application/json", strings.NewReader(`{"dataset": "datasets/slow.csv"}`))
	id := resp.run(t).ID
	waitRun(t, e, id, func(r registry.Run) bool {
		return r.Progress != nil && r.Progress.Stage == registry.StageLoading && r.Progress.BytesRead > 0
	})
	resp = e.do("POST", "/runs/"+id+"/cancel", "", nil)
	got := resp.run(t)
	if resp.code != 200 || got.Status != registry.StatusCancelled || got.Error.Code != "cancelled" || got.Version != "" {
		t.Fatalf("cancel running: %d %+v", resp.code, got)
	}
	if n := reads.Load(); int(n) >= len(data)/(64<<10) {
		t.Errorf("%d reads of a %d-byte dataset: the cancel did not stop the load", n, len(data))
	}
	if versions, _ := e.store.ListVersions(context.Background(), "iris"); len(versions) != 0 {
		t.Errorf("a cancelled run published %v", versions)
	}
}

func TestQueueFullRefusesBeforeReadingTheBody(t *testing.T) {
	e := newEnv(t, func(_ *Config, tc *jobs.Config) { tc.MaxQueued = 1 })
	e.block("/run.json")
	first := e.do("POST", "/train", "", nil).run(t)
	waitRun(t, e, first.ID, func(r registry.Run) bool { return r.Status == registry.StatusRunning })
	e.do("POST", "/train", "", nil) // queued: the queue is full
	body := &countingReader{r: bytes.NewReader(iris(t))}
	resp := e.do("POST", "/train", "text/csv", body)
	if resp.code != http.StatusTooManyRequests {
		t.Fatalf("%d %s", resp.code, resp.body)
	}
	if body.n != 0 {
		t.Errorf("%d bytes of the body were read before the 429", body.n)
	}
	if entries, _ := os.ReadDir(e.tmp); len(entries) != 0 {
		t.Errorf("%d files spooled", len(entries))
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestTrainingLimits(t *testing.T) {
	e := newEnv(t, func(c *Config, qc *jobs.Config) { c.MaxUploadBytes = 32 << 20 })
	wide := func(cols int) string {
		var b strings.Builder
		for j := range cols {
			fmt.Fprintf(&b, "f%d,", j)
		}
		b.WriteString("y\n")
		for range 2 {
			b.WriteString(strings.Repeat("1,", cols) + "a\n")
		}
		return b.String()
	}
	manyClasses := func(k int) string {
		var b strings.Builder
		b.WriteString("x,y\n")
		for i := range 2 * k {
			fmt.Fprintf(&b, "%d,c%d\n", i, i%k)
		}
		return b.String()
	}
	for _, tc := range []struct {
		name, query, body string
		want              string
	}{
		{"a million columns", "", wide(1_000_000), "TRAINER_MAX_FEATURES"},
		{"too many features", "", wide(10_001), "10001 feature columns; the limit is 10000 (TRAINER_MAX_FEATURES)"},
		{"a long column name", "", "x,y,z" + strings.Repeat("n", 5000) + "\n1,2,a\n3,4,b\n", "is 5001 bytes; the limit is 256"},
		{"a long label", "", "x,y\n1," + strings.Repeat("a", 5000) + "\n2,b\n", "label is 5000 bytes; the limit is 256"},
		{"too many classes", "", manyClasses(1001), "TRAINER_MAX_CLASSES"},
		{"features times classes", "", manyClassesWide(1000, 1001), "TRAINER_MAX_PARAMETERS"},
		{"overflowing values", "test_fraction=0", "a,y\n-1e308,x\n1e308,y\n-1e308,x\n1e308,y\n", `column "a" has values up to 1e+308`},
		{"overflowing values, split", "", "a,y\n-1e308,x\n1e308,y\n-1e308,x\n1e308,y\n-1e308,x\n1e308,y\n-1e308,x\n1e308,y\n-1e308,x\n1e308,y\n", "rescale"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.do("POST", "/train?wait=true&"+tc.query, "text/csv", strings.NewReader(tc.body))
			if resp.code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %.300s", resp.code, resp.body)
			}
			run := resp.run(t)
			if run.Error == nil || run.Error.Code != "invalid_argument" || !strings.Contains(run.Error.Message, tc.want) {
				t.Errorf("error %+v, want %q", run.Error, tc.want)
			}
			if len(resp.body) > 4096 {
				t.Errorf("a %d-byte answer echoes the input", len(resp.body))
			}
		})
	}
}

// manyClassesWide is a dataset of k classes and f features.
func manyClassesWide(k, f int) string {
	var b strings.Builder
	for j := range f {
		fmt.Fprintf(&b, "f%d,", j)
	}
	b.WriteString("y\n")
	row := strings.Repeat("1,", f)
	for i := range 2 * k {
		fmt.Fprintf(&b, "%sc%d\n", row, i%k)
	}
	return b.String()
}

func TestErrorsQuoteAtMost100BytesOfInput(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("x", 5000)
	for _, target := range []string{"/train?model=" + long, "/train?" + long + "=1", "/train?c=" + long, "/runs?status=" + long} {
		method := "POST"
		if strings.HasPrefix(target, "/runs") {
			method = "GET"
		}
		resp := e.do(method, target, "", nil)
		msg := resp.apiError(t).Message
		if resp.code != 400 || len(msg) > 400 || !strings.Contains(msg, "(5000 bytes)") {
			t.Errorf("%s %.40s: %d, %d-byte message %.200s", method, target, resp.code, len(msg), msg)
		}
	}
	resp := e.do("PUT", "/models/iris/aliases/production", "application/json", strings.NewReader(`{"`+long+`": 1}`))
	if msg := resp.apiError(t).Message; len(msg) > 400 {
		t.Errorf("unknown JSON field echoed: %d bytes", len(msg))
	}
}

func TestQualityGateAndRollback(t *testing.T) {
	e := newEnv(t)
	good := e.do("POST", "/train?wait=true", "", nil).run(t)
	if !good.Promoted {
		t.Fatalf("first good run not promoted: %+v", good)
	}
	// Noise on the same model (other features): the gate must refuse it.
	bad := e.do("POST", "/train?wait=true&c=0.0001", "text/csv", bytes.NewReader(noise(300))).run(t)
	if bad.Status != registry.StatusSucceeded || bad.Promoted || !strings.Contains(bad.PromotionReason, "below the minimum") {
		t.Fatalf("bad run: status %s promoted %v reason %q", bad.Status, bad.Promoted, bad.PromotionReason)
	}
	model := e.do("GET", "/models/iris", "", nil)
	var m struct {
		Versions []string                    `json:"versions"`
		Aliases  map[string]modelstore.Alias `json:"aliases"`
	}
	if err := json.Unmarshal(model.body, &m); err != nil {
		t.Fatal(err)
	}
	if m.Aliases["production"].Version != good.Version || m.Aliases["latest"].Version != bad.Version || len(m.Versions) != 2 {
		t.Errorf("model %s", model.body)
	}

	// Explicit promotion bypasses the gate; rollback moves it back.
	put := func(version string) response {
		return e.do("PUT", "/models/iris/aliases/production", "application/json", strings.NewReader(`{"version":"`+version+`"}`))
	}
	if resp := put(bad.Version); resp.code != 200 {
		t.Fatalf("promote: %d %s", resp.code, resp.body)
	}
	resp := put(good.Version)
	if resp.code != 200 {
		t.Fatalf("rollback: %d %s", resp.code, resp.body)
	}
	var moved registry.AliasChange
	_ = json.Unmarshal(resp.body, &moved)
	if moved.Version != good.Version || moved.PreviousVersion != bad.Version {
		t.Errorf("rollback answer %s", resp.body)
	}
	a, _, err := e.store.GetAlias(context.Background(), "iris", "production")
	if err != nil || a.Version != good.Version {
		t.Errorf("production %+v, %v", a, err)
	}
}

func TestRegistryEndpoints(t *testing.T) {
	e := newEnv(t)
	run := e.do("POST", "/train?wait=true", "", nil).run(t)
	v := run.Version

	t.Run("list models", func(t *testing.T) {
		resp := e.do("GET", "/models", "", nil)
		if resp.code != 200 || !strings.Contains(string(resp.body), `"name":"iris"`) {
			t.Errorf("%d %s", resp.code, resp.body)
		}
	})
	t.Run("version details", func(t *testing.T) {
		resp := e.do("GET", "/models/iris/versions/"+v, "", nil)
		var got struct {
			Model, Version, SHA256 string
			Aliases                []string
			Record                 registry.VersionRecord
		}
		if err := json.Unmarshal(resp.body, &got); err != nil || resp.code != 200 {
			t.Fatalf("%d %s", resp.code, resp.body)
		}
		if got.Version != v || len(got.SHA256) != 64 || !slices.Equal(got.Aliases, []string{"latest", "production"}) ||
			got.Record.RunID != v || got.Record.Metrics == nil || got.Record.Dataset.Rows != 150 || got.Record.Objective <= 0 {
			t.Errorf("version %s", resp.body)
		}
		if resp := e.do("GET", "/models/iris/versions/20200101T000000Z-00000000", "", nil); resp.code != 404 {
			t.Errorf("unknown version: %d", resp.code)
		}
	})
	t.Run("list runs", func(t *testing.T) {
		resp := e.do("GET", "/runs?model=iris&limit=10", "", nil)
		if resp.code != 200 || !strings.Contains(string(resp.body), v) {
			t.Errorf("%d %s", resp.code, resp.body)
		}
	})
	for _, tc := range []struct {
		name, method, target, ct, body string
		status                         int
		code                           string
	}{
		{"unknown model", "GET", "/models/nosuch", "", "", 404, "not_found"},
		{"bad model name", "GET", "/models/NoSuch", "", "", 400, "invalid_argument"},
		{"unknown run", "GET", "/runs/20200101T000000Z-00000000", "", "", 404, "not_found"},
		{"malformed run id", "GET", "/runs/latest", "", "", 404, "not_found"},
		{"runs bad limit", "GET", "/runs?limit=0", "", "", 400, "invalid_argument"},
		{"alias unknown version", "PUT", "/models/iris/aliases/production", "application/json", `{"version":"20200101T000000Z-00000000"}`, 404, "not_found"},
		{"alias malformed version", "PUT", "/models/iris/aliases/production", "application/json", `{"version":"v1"}`, 400, "invalid_argument"},
		{"alias missing version", "PUT", "/models/iris/aliases/production", "application/json", `{}`, 400, "invalid_argument"},
		{"alias unknown field", "PUT", "/models/iris/aliases/production", "application/json", `{"version":"` + v + `","force":true}`, 400, "invalid_argument"},
		{"alias bad name", "PUT", "/models/iris/aliases/Prod!", "application/json", `{"version":"` + v + `"}`, 400, "invalid_argument"},
		{"alias wrong content type", "PUT", "/models/iris/aliases/production", "text/plain", `{"version":"` + v + `"}`, 415, "unsupported_media_type"},
		{"unknown route", "GET", "/nowhere", "", "", 404, "not_found"},
		{"wrong method", "DELETE", "/train", "", "", 405, "method_not_allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.do(tc.method, tc.target, tc.ct, strings.NewReader(tc.body))
			if resp.code != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.code, tc.status, resp.body)
			}
			if got := resp.apiError(t); got.Code != tc.code {
				t.Errorf("code %s, want %s", got.Code, tc.code)
			}
		})
	}
	t.Run("corrupt version refused with 409 and alias kept", func(t *testing.T) {
		second := e.do("POST", "/train?wait=true&c=0.5", "", nil).run(t)
		e.mem.Overwrite("models/iris/versions/"+v+"/model.pb", []byte("corrupt"))
		resp := e.do("PUT", "/models/iris/aliases/production", "application/json", strings.NewReader(`{"version":"`+v+`"}`))
		if resp.code != 409 || resp.apiError(t).Code != "integrity" {
			t.Fatalf("status %d: %s", resp.code, resp.body)
		}
		a, _, _ := e.store.GetAlias(context.Background(), "iris", "production")
		if a.Version != second.Version {
			t.Errorf("production moved to %s", a.Version)
		}
	})
	t.Run("a corrupt production alias is replaced by training and by PUT", func(t *testing.T) {
		const path = "models/iris/aliases/production.json"
		e.mem.Overwrite(path, []byte("{garbage"))
		r := e.do("POST", "/train?wait=true&c=0.9", "", nil).run(t)
		if r.Status != registry.StatusSucceeded || !r.Promoted {
			t.Fatalf("training over a corrupt production alias: %+v", r)
		}
		e.mem.Overwrite(path, []byte("{garbage"))
		resp := e.do("PUT", "/models/iris/aliases/production", "application/json", strings.NewReader(`{"version":"`+r.Version+`"}`))
		if resp.code != 200 {
			t.Fatalf("repairing with PUT: %d %s", resp.code, resp.body)
		}
		if a, _, err := e.store.GetAlias(context.Background(), "iris", "production"); err != nil || a.Version != r.Version {
			t.Errorf("production %+v, %v", a, err)
		}
	})

	t.Run("alias set without content type", func(t *testing.T) {
		third := e.do("POST", "/train?wait=true&c=0.7", "", nil).run(t)
		resp := e.do("PUT", "/models/iris/aliases/staging", "", strings.NewReader(`{"version":"`+third.Version+`"}`))
		if resp.code != 200 {
			t.Errorf("status %d: %s", resp.code, resp.body)
		}
	})
}

func TestStorageDownAnswers503(t *testing.T) {
	e := newEnv(t)
	e.mem.SetHook(func(string, string) error { return errors.New("dial tcp 127.0.0.1:9000: connection refused") })
	resp := e.do("POST", "/train?wait=true", "", nil)
	if resp.code != http.StatusServiceUnavailable {
		t.Fatalf("status %d: %s", resp.code, resp.body)
	}
	if got := resp.apiError(t); got.Code != "unavailable" || !strings.Contains(got.Message, "storage is unavailable") {
		t.Errorf("error %+v", got)
	}
	if strings.Contains(string(resp.body), "127.0.0.1") {
		t.Errorf("internal address leaked: %s", resp.body)
	}
	e.mem.SetHook(nil)
	if resp := e.do("POST", "/train?wait=true", "", nil); resp.code != http.StatusOK {
		t.Errorf("after restart: %d %s", resp.code, resp.body)
	}
}
