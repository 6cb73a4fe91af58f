package api

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelferry/modelferry/pkg/artifact"
	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/pkg/serving"
	"github.com/modelferry/modelferry/pkg/testmodel"
	"github.com/modelferry/modelferry/services/predictor/internal/catalog"
	"github.com/modelferry/modelferry/services/predictor/internal/oip"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// fixedModels serves iris, loaded or not.
type fixedModels struct{ m atomic.Pointer[serving.Model] }

func (f *fixedModels) Lookup(name string) (*serving.Model, error) {
	if name != "" && name != "iris" {
		return nil, catalog.NotServed(name, []string{"iris"})
	}
	if m := f.m.Load(); m != nil {
		return m, nil
	}
	return nil, fmt.Errorf("%w: waiting for iris@production to be published (POST /train on the trainer)", catalog.ErrNotLoaded)
}

func (f *fixedModels) List() []catalog.Status {
	s := catalog.Status{Name: "iris", Alias: "production", Model: f.m.Load()}
	if s.Model == nil {
		s.Waiting = "waiting for iris@production to be published (POST /train on the trainer)"
	}
	return []catalog.Status{s}
}

func (f *fixedModels) Default() string { return "iris" }

const version = "20261126T100000Z-00000001"

func newAPI(t testing.TB, loaded bool, token ...string) (*gin.Engine, *fixedModels) {
	t.Helper()
	return newAPILimits(t, loaded, 4096, 5, token...)
}

func newAPILimits(t testing.TB, loaded bool, maxBody int64, maxBatch int, token ...string) (*gin.Engine, *fixedModels) {
	t.Helper()
	models := &fixedModels{}
	if loaded {
		d := testmodel.Iris(t)
		am, err := artifact.Decode(testmodel.Artifact(t, d, "iris", version, 1))
		if err != nil {
			t.Fatal(err)
		}
		m, err := serving.New(am, "abc", nil, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		models.m.Store(m)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := httpserver.NewEngine(httpserver.Options{Logger: logger, Registry: prometheus.NewRegistry(), Namespace: "predictor"})
	cfg := Config{Logger: logger, Models: models, MaxBodyBytes: maxBody, MaxBatch: maxBatch, Ready: func() bool { return models.m.Load() != nil }}
	if len(token) > 0 {
		cfg.Token = token[0]
	}
	New(cfg).Register(e)
	return e, models
}

func do(e *gin.Engine, method, target, ct, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	return w
}

const seed = `{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}`

func TestPredict(t *testing.T) {
	e, _ := newAPI(t, true)
	for _, ct := range []string{"", "application/json", "application/json; charset=utf-8"} {
		w := do(e, "POST", "/predict", ct, seed)
		if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("content type %q: %d %s", ct, w.Code, w.Body)
		}
		var got struct {
			Label         string             `json:"label"`
			ClassID       int                `json:"class_id"`
			Probabilities map[string]float64 `json:"probabilities"`
			Model         map[string]string  `json:"model"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if got.Label != "setosa" || got.ClassID != 0 || len(got.Probabilities) != 3 || got.Model["version"] != version {
			t.Errorf("answer %s", w.Body)
		}
	}
	w := do(e, "POST", "/predict", "", `{"instances": [[5.1, 3.5, 1.4, 0.2], {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}]}`)
	var batch struct {
		Predictions []struct {
			Label string `json:"label"`
		} `json:"predictions"`
		Model map[string]string `json:"model"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &batch); err != nil || w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if len(batch.Predictions) != 2 || batch.Predictions[0].Label != "setosa" || batch.Predictions[1].Label != "virginica" || batch.Model["name"] != "iris" {
		t.Errorf("batch answer %s", w.Body)
	}
}

func TestPredictBadInput(t *testing.T) {
	e, _ := newAPI(t, true)
	big := `{"instances": [` + strings.Repeat(`[1,2,3,4],`, 500) + `[1,2,3,4]]}`
	for _, tc := range []struct {
		name, ct, body string
		status         int
		code, msg      string
	}{
		{"malformed JSON", "", `{"sepal_length": 5.1`, 400, "invalid_argument", "malformed JSON"},
		{"missing feature", "", `{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4}`, 400, "invalid_argument", "petal_width: missing"},
		{"unknown feature", "", `{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2, "color": 1}`, 400, "invalid_argument", "color: unknown feature"},
		{"wrong type", "", `{"sepal_length": "long", "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}`, 400, "invalid_argument", "sepal_length: expected a number, got a string"},
		{"null", "", `{"sepal_length": null, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}`, 400, "invalid_argument", "sepal_length: expected a number, got null"},
		{"NaN", "", `{"sepal_length": NaN, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}`, 400, "invalid_argument", "sepal_length: NaN and Infinity"},
		{"Inf overflow", "", `{"sepal_length": 1e400, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}`, 400, "invalid_argument", "sepal_length: 1e400 is out of range"},
		{"finite but overflowing the model", "", `{"sepal_length": 1e308, "sepal_width": -1e308, "petal_length": 1.4, "petal_width": 0.2}`, 400, "invalid_argument", "values too large for the model"},
		{"batch row overflowing the model", "", `{"instances": [[1,2,3,4], [1e308, -1e308, 1, 1]]}`, 400, "invalid_argument", "instances[1]: values too large for the model"},
		{"array wrong length", "", `{"instances": [[1, 2, 3]]}`, 400, "invalid_argument", "instances[0]: expected 4 values"},
		{"empty batch", "", `{"instances": []}`, 400, "invalid_argument", "instances: empty"},
		{"batch over limit", "", `{"instances": [[1,2,3,4],[1,2,3,4],[1,2,3,4],[1,2,3,4],[1,2,3,4],[1,2,3,4]]}`, 413, "payload_too_large", "more than 5 rows (PREDICTOR_MAX_BATCH)"},
		{"body over limit", "", big, 413, "payload_too_large", "larger than 4096 bytes (PREDICTOR_MAX_BODY_BYTES)"},
		{"wrong content type", "text/plain", seed, 415, "unsupported_media_type", "send Content-Type: application/json"},
		{"form content type", "application/x-www-form-urlencoded", seed, 415, "unsupported_media_type", "send Content-Type: application/json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := do(e, "POST", "/predict", tc.ct, tc.body)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			var b httpserver.Body
			if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
				t.Fatal(err)
			}
			if b.Error.Code != tc.code || !strings.Contains(b.Error.Message, tc.msg) {
				t.Errorf("error %+v, want %s with %q", b.Error, tc.code, tc.msg)
			}
		})
	}
}

func TestNoModelYet(t *testing.T) {
	e, _ := newAPI(t, false)
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/predict", seed},
		{"GET", "/model", ""},
	} {
		w := do(e, tc.method, tc.path, "", tc.body)
		if w.Code != 503 || !strings.Contains(w.Body.String(), "no model loaded yet: waiting for iris@production") {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, w.Code, w.Body)
		}
	}
	for _, path := range []string{"/v2/health/ready", "/v2/models/iris/ready", "/v2/models/iris"} {
		if w := do(e, "GET", path, "", ""); w.Code != 503 {
			t.Errorf("%s: %d %s", path, w.Code, w.Body)
		}
	}
	if w := do(e, "GET", "/v2/health/live", "", ""); w.Code != 200 || w.Body.String() != `{"live":true}` {
		t.Errorf("live: %d %s", w.Code, w.Body)
	}
}

func TestModelEndpoint(t *testing.T) {
	e, _ := newAPI(t, true)
	w := do(e, "GET", "/model", "", "")
	var got modelInfo
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if got.Name != "iris" || got.Version != version || got.SHA256 != "abc" || len(got.Features) != 4 ||
		len(got.Classes) != 3 || got.Metrics == nil || got.Metrics.Accuracy == 0 || got.LoadedAt.IsZero() {
		t.Errorf("model %s", w.Body)
	}
}

// TestOpenInferenceProtocol follows the examples of the OIP v2 REST spec
// (kserve/open-inference-protocol, required_api.md): request and response
// field names, datatypes and shapes.
func TestOpenInferenceProtocol(t *testing.T) {
	e, _ := newAPI(t, true)
	t.Run("server and model health", func(t *testing.T) {
		for path, want := range map[string]string{
			"/v2/health/live":       `{"live":true}`,
			"/v2/health/ready":      `{"ready":true}`,
			"/v2/models/iris/ready": `{"name":"iris","ready":true}`,
		} {
			if w := do(e, "GET", path, "", ""); w.Code != 200 || w.Body.String() != want {
				t.Errorf("%s: %d %s", path, w.Code, w.Body)
			}
		}
	})
	t.Run("model metadata", func(t *testing.T) {
		w := do(e, "GET", "/v2/models/iris", "", "")
		var md struct {
			Name     string       `json:"name"`
			Versions []string     `json:"versions"`
			Platform string       `json:"platform"`
			Inputs   []oip.Tensor `json:"inputs"`
			Outputs  []oip.Tensor `json:"outputs"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &md); err != nil || w.Code != 200 {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		if md.Name != "iris" || !slices.Equal(md.Versions, []string{version}) || md.Platform == "" ||
			len(md.Inputs) != 1 || !slices.Equal(md.Inputs[0].Shape, []int64{-1, 4}) || len(md.Outputs) != 3 {
			t.Errorf("metadata %s", w.Body)
		}
	})
	type output struct {
		Name     string          `json:"name"`
		Shape    []int64         `json:"shape"`
		Datatype string          `json:"datatype"`
		Data     json.RawMessage `json:"data"`
	}
	type response struct {
		ModelName    string   `json:"model_name"`
		ModelVersion string   `json:"model_version"`
		ID           string   `json:"id"`
		Outputs      []output `json:"outputs"`
	}
	for _, tc := range []struct {
		name, path, body string
		rows             int
		outputs          []string
	}{
		{"flat FP32 tensor", "/v2/models/iris/infer",
			`{"id": "42", "inputs": [{"name": "input0", "shape": [2, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3]}]}`,
			2, []string{"label", "class_id", "probabilities"}},
		{"nested FP64 tensor, one output asked", "/v2/models/iris/infer",
			`{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [[5.1, 3.5, 1.4, 0.2]]}], "outputs": [{"name": "probabilities"}]}`,
			1, []string{"probabilities"}},
		{"one input per feature", "/v2/models/iris/versions/" + version + "/infer",
			`{"inputs": [{"name": "petal_width", "shape": [1], "datatype": "FP32", "data": [0.2]},
			{"name": "sepal_length", "shape": [1, 1], "datatype": "FP32", "data": [5.1]},
			{"name": "sepal_width", "shape": [1], "datatype": "FP32", "data": [3.5]},
			{"name": "petal_length", "shape": [1], "datatype": "FP32", "data": [1.4]}]}`,
			1, []string{"label", "class_id", "probabilities"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := do(e, "POST", tc.path, "application/json", tc.body)
			var r response
			if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil || w.Code != 200 {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			if r.ModelName != "iris" || r.ModelVersion != version || len(r.Outputs) != len(tc.outputs) {
				t.Fatalf("response %s", w.Body)
			}
			if strings.Contains(tc.body, `"id"`) && r.ID != "42" {
				t.Errorf("id not echoed: %s", w.Body)
			}
			for i, o := range r.Outputs {
				if o.Name != tc.outputs[i] {
					t.Errorf("output %d is %s, want %s", i, o.Name, tc.outputs[i])
				}
				switch o.Name {
				case "label":
					var labels []string
					_ = json.Unmarshal(o.Data, &labels)
					if o.Datatype != "BYTES" || !slices.Equal(o.Shape, []int64{int64(tc.rows)}) || labels[0] != "setosa" {
						t.Errorf("label output %+v", o)
					}
				case "class_id":
					if o.Datatype != "INT64" || !slices.Equal(o.Shape, []int64{int64(tc.rows)}) {
						t.Errorf("class_id output %+v", o)
					}
				case "probabilities":
					var p []float64
					_ = json.Unmarshal(o.Data, &p)
					if o.Datatype != "FP64" || !slices.Equal(o.Shape, []int64{int64(tc.rows), 3}) || len(p) != tc.rows*3 || p[0] < 0.9 {
						t.Errorf("probabilities output %+v", o)
					}
				}
			}
		})
	}
}

func TestOpenInferenceProtocolErrors(t *testing.T) {
	e, _ := newAPI(t, true)
	tensor := func(shape, datatype, data string) string {
		return `{"inputs": [{"name": "input", "shape": ` + shape + `, "datatype": "` + datatype + `", "data": ` + data + `}]}`
	}
	for _, tc := range []struct {
		name, path, ct, body string
		status               int
		msg                  string
	}{
		{"unknown model", "/v2/models/wine/infer", "", tensor("[1,4]", "FP32", "[1,2,3,4]"), 404, `model "wine" is not served: this predictor serves iris`},
		{"other version", "/v2/models/iris/versions/20200101T000000Z-00000000/infer", "", tensor("[1,4]", "FP32", "[1,2,3,4]"), 404, "is not served"},
		{"malformed", "/v2/models/iris/infer", "", `{"inputs": [`, 400, "malformed JSON: unexpected end of body"},
		{"unknown field", "/v2/models/iris/infer", "", `{"inputz": []}`, 400, "unknown field"},
		{"wrong JSON type", "/v2/models/iris/infer", "", `{"inputs": [{"name": "x", "shape": "1x4", "datatype": "FP32", "data": []}]}`, 400, `input "x".shape: expected an array of integers, got a string`},
		{"no inputs", "/v2/models/iris/infer", "", `{"inputs": []}`, 400, "inputs: empty"},
		{"shape mismatch", "/v2/models/iris/infer", "", tensor("[1,3]", "FP32", "[1,2,3]"), 400, `input "input": shape [1,3] does not match [N, 4]`},
		{"data count mismatch", "/v2/models/iris/infer", "", tensor("[2,4]", "FP32", "[1,2,3,4]"), 400, `input "input": data: 4 values, shape [2,4] needs 8`},
		{"too much data", "/v2/models/iris/infer", "", tensor("[1,4]", "FP64", "[1,2,3,4,5]"), 400, `input "input": data: more than the 4 values its shape [1,4] holds`},
		{"datatype", "/v2/models/iris/infer", "", tensor("[1,4]", "BYTES", `["a","b","c","d"]`), 400, `datatype "BYTES" is not supported`},
		{"string data", "/v2/models/iris/infer", "", tensor("[1,4]", "FP32", `[1,"2",3,4]`), 400, `input "input": data[1]: expected a number, got a string`},
		{"null data", "/v2/models/iris/infer", "", tensor("[1,4]", "FP32", `[1,null,3,4]`), 400, `input "input": data[1]: expected a number, got null`},
		{"FP32 overflow", "/v2/models/iris/infer", "", tensor("[1,4]", "FP32", `[1,1e300,3,4]`), 400, `input "input": data[1]: 1e+300 is out of range for FP32`},
		{"FP64 overflowing the model", "/v2/models/iris/infer", "", tensor("[1,4]", "FP64", `[1e308,-1e308,3,4]`), 400, "row 0: values too large for the model"},
		{"unknown output", "/v2/models/iris/infer", "", `{"inputs": [{"name": "input", "shape": [1,4], "datatype": "FP32", "data": [1,2,3,4]}], "outputs": [{"name": "logits"}]}`, 400, `output "logits": unknown; this model has label, class_id, probabilities`},
		{"rows over limit", "/v2/models/iris/infer", "", tensor("[6,4]", "FP32", "[]"), 413, "6 rows exceed the limit of 5"},
		{"per-feature missing", "/v2/models/iris/infer", "", `{"inputs": [{"name": "sepal_length", "shape": [1], "datatype": "FP32", "data": [1]}, {"name": "sepal_width", "shape": [1], "datatype": "FP32", "data": [1]}]}`, 400, `input "petal_length": missing`},
		{"per-feature unknown", "/v2/models/iris/infer", "", `{"inputs": [{"name": "sepal_length", "shape": [1], "datatype": "FP32", "data": [1]}, {"name": "color", "shape": [1], "datatype": "FP32", "data": [1]}]}`, 400, `input "color": unknown feature`},
		{"wrong content type", "/v2/models/iris/infer", "text/csv", "1,2,3,4", 415, "send Content-Type: application/json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := do(e, "POST", tc.path, tc.ct, tc.body)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			var b struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
				t.Fatalf("%s is not an OIP error: %v", w.Body, err)
			}
			if !strings.Contains(b.Error, tc.msg) {
				t.Errorf("error %q, want %q", b.Error, tc.msg)
			}
		})
	}
}

func TestDocsAreServedOffline(t *testing.T) {
	e, _ := newAPI(t, true)
	w := do(e, "GET", "/openapi.json", "", "")
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil || w.Code != 200 || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("%d: %v", w.Code, err)
	}
	// Every route the API registers is documented.
	for _, r := range e.Routes() {
		path := strings.Replace(r.Path, ":nameverb", "{name}:predict", 1)
		for _, p := range []string{"name", "version", "file"} {
			path = strings.Replace(path, ":"+p, "{"+p+"}", 1)
			path = strings.Replace(path, "*"+p, "{"+p+"}", 1)
		}
		if path == "/docs" {
			continue // redirect to /docs/
		}
		if _, ok := doc.Paths[path][strings.ToLower(r.Method)]; !ok {
			t.Errorf("%s %s is not in openapi.json", r.Method, path)
		}
	}
	for path, want := range map[string]string{
		"/docs/":                       `<script src="swagger-initializer.js"`,
		"/docs/swagger-initializer.js": `url: "/openapi.json"`,
		"/docs/index.html":             "swagger-ui",
		"/docs/swagger-ui-bundle.js":   "SwaggerUIBundle",
		"/docs/swagger-ui.css":         ".swagger-ui",
		"/openapi.json":                `"openapi"`,
	} {
		w := do(e, "GET", path, "", "")
		if w.Code != 200 || !strings.Contains(w.Body.String(), want) {
			t.Errorf("%s: %d, body lacks %q", path, w.Code, want)
		}
		// The browser security headers, on the documents and the page.
		h := w.Header()
		if h.Get("Content-Security-Policy") != httpserver.ContentSecurityPolicy || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("Referrer-Policy") != "same-origin" {
			t.Errorf("%s: security headers %v", path, h)
		}
	}
	if w := do(e, "GET", "/docs", "", ""); w.Code != http.StatusMovedPermanently {
		t.Errorf("/docs: %d", w.Code)
	}
}

func TestPredictorToken(t *testing.T) {
	e, _ := newAPI(t, true, "s3cret")
	oip := `{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP64","data":[5.1,3.5,1.4,0.2]}]}`
	for _, tc := range []struct {
		method, target, auth, body string
		status                     int
	}{
		{"POST", "/predict", "", seed, 401},
		{"POST", "/predict", "Bearer nope", seed, 403},
		{"POST", "/predict", "Bearer s3cret", seed, 200},
		{"GET", "/model", "", "", 401},
		{"POST", "/v2/models/iris/infer", "", oip, 401},
		{"POST", "/v2/models/iris/infer", "Bearer s3cret", oip, 200},
		{"GET", "/v2/models/iris", "", "", 401},
		{"GET", "/v2/health/ready", "", "", 200},
		{"GET", "/v2/health/live", "", "", 200},
		{"GET", "/v2/models/iris/ready", "", "", 200},
	} {
		req := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		if w.Code != tc.status {
			t.Errorf("%s %s with %q: %d, want %d: %s", tc.method, tc.target, tc.auth, w.Code, tc.status, w.Body)
		}
	}
}
