package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/pkg/s3test"
	"github.com/modelferry/modelferry/services/trainer/internal/training"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

type env struct {
	t       *testing.T
	engine  *gin.Engine
	store   *modelstore.Store
	manager *training.Manager
	s3      *s3test.Server
	tmp     string
}

func newEnv(t *testing.T, mutate ...func(*Config, *training.Config)) *env {
	t.Helper()
	srv := s3test.Start(t)
	store, err := modelstore.New(modelstore.Options{Endpoint: srv.Endpoint, AccessKey: s3test.AccessKey,
		SecretKey: s3test.SecretKey, Bucket: "modelferry", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.EnsureBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	tcfg := training.Config{Store: store, Logger: logger, Metrics: training.NewMetrics(reg),
		Gate: training.Gate{MinAccuracy: 0.7, MaxRegression: 0.05}, MaxQueued: 8, Parallel: 1, TrainerVersion: "test"}
	tmp := t.TempDir()
	acfg := Config{Logger: logger, Store: store, DataDir: "../../../../data", TempDir: tmp, MaxUploadBytes: 1 << 20}
	for _, m := range mutate {
		m(&acfg, &tcfg)
	}
	mgr := training.NewManager(tcfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		mgr.Shutdown(ctx)
	})
	acfg.Manager = mgr
	e := httpserver.NewEngine(httpserver.Options{Logger: logger, Registry: reg, Namespace: "trainer"})
	New(acfg).Register(e)
	return &env{t: t, engine: e, store: store, manager: mgr, s3: srv, tmp: tmp}
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

func (r response) run(t *testing.T) training.Run {
	t.Helper()
	var run training.Run
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
	b, err := os.ReadFile("../../../../data/iris.csv")
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
			if run.Status != training.StatusSucceeded || run.MetricsOn != tc.wantOn || run.Params.C != tc.wantC {
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

// slowDataset is unstandardized and badly scaled: hundreds of iterations,
// long enough to watch a run.
func slowDataset() string {
	var b strings.Builder
	b.WriteString("a,b,c,label\n")
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 50_000; i++ {
		y := i % 3
		fmt.Fprintf(&b, "%.3f,%.3f,%.3f,k%d\n", 100*r.NormFloat64()+float64(y)*30, r.NormFloat64()*0.01+float64(y)*0.002, r.NormFloat64()*1000, y)
	}
	return b.String()
}

const slowQuery = "standardize=false&max_iter=100000&test_fraction=0.1"

func TestWaitOutlastsServerTimeouts(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *training.Config) { c.MaxUploadBytes = 64 << 20 })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httpserver.NewServer(e.engine, slog.New(slog.NewTextHandler(io.Discard, nil)),
		httpserver.Timeouts{Read: 50 * time.Millisecond, Write: 50 * time.Millisecond})
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	resp, err := http.Post("http://"+ln.Addr().String()+"/train?wait=true&"+slowQuery, "text/csv", strings.NewReader(slowDataset()))
	if err != nil {
		t.Fatalf("a training longer than the server's timeouts: %v", err)
	}
	defer resp.Body.Close()
	var run training.Run
	if err := json.NewDecoder(resp.Body).Decode(&run); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d, %v", resp.StatusCode, err)
	}
	if run.DurationSeconds < 0.05 {
		t.Logf("the training took only %.3fs: this test proves nothing on this machine", run.DurationSeconds)
	}
}

func TestRunShowsLiveProgress(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *training.Config) { c.MaxUploadBytes = 64 << 20 })
	resp := e.do("POST", "/train?"+slowQuery, "text/csv", strings.NewReader(slowDataset()))
	if resp.code != http.StatusAccepted {
		t.Fatalf("%d %s", resp.code, resp.body)
	}
	id := resp.run(t).ID
	var seen *training.Progress
	for {
		run := e.do("GET", "/runs/"+id, "", nil).run(t)
		if run.Progress != nil && run.Progress.Iteration > 0 && run.Progress.Loss > 0 {
			seen = run.Progress
		}
		if run.Status == training.StatusSucceeded || run.Status == training.StatusFailed {
			if run.Progress != nil {
				t.Error("a finished run still shows progress")
			}
			if seen == nil {
				t.Fatalf("no progress seen in %d iterations", run.Iterations)
			}
			t.Logf("saw iteration %d (loss %.4g) of %d", seen.Iteration, seen.Loss, run.Iterations)
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func TestTrainAsyncQueues(t *testing.T) {
	e := newEnv(t)
	resp := e.do("POST", "/train", "", nil)
	if resp.code != http.StatusAccepted {
		t.Fatalf("status %d: %s", resp.code, resp.body)
	}
	run := resp.run(t)
	if run.Status != training.StatusQueued || resp.header.Get("Location") != "/runs/"+run.ID {
		t.Errorf("run %+v location %q", run, resp.header.Get("Location"))
	}
	second := e.do("POST", "/train", "", nil).run(t)
	if second.QueuePosition < 1 && second.Status == training.StatusQueued {
		t.Errorf("second run queue position %d, want >= 1 while the first is queued or running", second.QueuePosition)
	}
	j, _ := e.manager.Get(second.ID)
	<-j.Done()
	got := e.do("GET", "/runs/"+second.ID, "", nil)
	if got.code != 200 || got.run(t).Status != training.StatusSucceeded {
		t.Errorf("GET run: %d %s", got.code, got.body)
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
		{"max_iter zero", "/train", "application/json", `{"params":{"max_iter":0}}`, "", 400, "invalid_argument", "max_iter must be in [1, 1000000], got 0"},
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
		{"CSV with a bad number", "/train?wait=true", "text/csv", "a,petal_width,label\n1,2,x\n1,abc,y\n", "", 400, "invalid_argument", `line 3, column petal_width: "abc" is not a number`},
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
	for _, dir := range []struct {
		path string
		n    *int
	}{{"models", &c.versions}, {"datasets", &c.datasets}, {"runs", &c.runs}} {
		_ = filepath.Walk(e.s3.Path("modelferry", dir.path), func(_ string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() {
				*dir.n++
			}
			return nil
		})
	}
	return c
}

func TestQueueFullAnswers429(t *testing.T) {
	e := newEnv(t, func(_ *Config, tc *training.Config) { tc.MaxQueued = 1 })
	codes := map[int]int{}
	for range 6 {
		codes[e.do("POST", "/train", "", nil).code]++
	}
	if codes[http.StatusTooManyRequests] == 0 {
		t.Errorf("statuses %v, want some 429", codes)
	}
	resp := e.do("POST", "/train", "", nil)
	if resp.code == http.StatusTooManyRequests {
		if got := resp.apiError(t); got.Code != "resource_exhausted" {
			t.Errorf("error %+v", got)
		}
	}
}

func TestAuth(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *training.Config) { c.Token = "s3cret" })
	for _, tc := range []struct {
		name, method, target, auth string
		status                     int
	}{
		{"train without token", "POST", "/train", "", 401},
		{"train with wrong token", "POST", "/train", "Bearer nope", 403},
		{"train with basic auth", "POST", "/train", "Basic czNjcmV0", 401},
		{"alias without token", "PUT", "/models/iris/aliases/production", "", 401},
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

func TestQualityGateAndRollback(t *testing.T) {
	e := newEnv(t)
	good := e.do("POST", "/train?wait=true", "", nil).run(t)
	if !good.Promoted {
		t.Fatalf("first good run not promoted: %+v", good)
	}
	// Noise on the same model (other features): the gate must refuse it.
	bad := e.do("POST", "/train?wait=true&c=0.0001", "text/csv", bytes.NewReader(noise(300))).run(t)
	if bad.Status != training.StatusSucceeded || bad.Promoted || !strings.Contains(bad.PromotionReason, "below the minimum") {
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
	var moved setAliasResponse
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
			Record                 training.VersionRecord
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
		if err := os.WriteFile(e.s3.Path("modelferry", "models/iris/versions/"+v+"/model.pb"), []byte("corrupt"), 0o644); err != nil {
			t.Fatal(err)
		}
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
		path := e.s3.Path("modelferry", "models/iris/aliases/production.json")
		if err := os.WriteFile(path, []byte("{garbage"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := e.do("POST", "/train?wait=true&c=0.9", "", nil).run(t)
		if r.Status != training.StatusSucceeded || !r.Promoted {
			t.Fatalf("training over a corrupt production alias: %+v", r)
		}
		if err := os.WriteFile(path, []byte("{garbage"), 0o644); err != nil {
			t.Fatal(err)
		}
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
	e.s3.Stop()
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
	e.s3.Restart()
	if resp := e.do("POST", "/train?wait=true", "", nil); resp.code != http.StatusOK {
		t.Errorf("after restart: %d %s", resp.code, resp.body)
	}
}
