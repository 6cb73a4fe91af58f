package api

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/modelferry/modelferry/pkg/artifact"
	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/pkg/serving"
	"github.com/modelferry/modelferry/pkg/testmodel"
	"github.com/modelferry/modelferry/services/predictor/internal/catalog"
	"github.com/modelferry/modelferry/services/predictor/internal/usage"
)

// servedModels serves a fixed list; a nil model is served but not loaded.
type servedModels struct {
	names  []string
	models map[string]*serving.Model
}

func (s *servedModels) Lookup(name string) (*serving.Model, error) {
	if name == "" {
		name = s.names[0]
	}
	m, ok := s.models[name]
	switch {
	case !ok:
		return nil, catalog.NotServed(name, s.names)
	case m == nil:
		return nil, fmt.Errorf("%w: waiting for %s@production to be published", catalog.ErrNotLoaded, name)
	}
	return m, nil
}

func (s *servedModels) List() []catalog.Status {
	var out []catalog.Status
	for _, n := range s.names {
		st := catalog.Status{Name: n, Alias: "production", Model: s.models[n]}
		if st.Model == nil {
			st.Waiting = "waiting for " + n + "@production to be published"
		}
		out = append(out, st)
	}
	return out
}

func (s *servedModels) Default() string { return s.names[0] }

// renamed is the iris model under another name and feature names, as a
// second model with features of its own.
func renamed(t testing.TB, name string, features []string) *serving.Model {
	t.Helper()
	am, err := artifact.Decode(testmodel.Artifact(t, testmodel.Iris(t), "iris", version, 1))
	if err != nil {
		t.Fatal(err)
	}
	am.Name, am.FeatureNames = name, features
	m, err := serving.New(am, "def", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var wineFeatures = []string{"alcohol", "malic_acid", "ash", "magnesium"}

// newModelsAPI serves iris (the default), wine and pending (not loaded).
func newModelsAPI(t testing.TB) (*gin.Engine, *prometheus.Registry) {
	t.Helper()
	models := &servedModels{names: []string{"iris", "wine", "pending"}, models: map[string]*serving.Model{
		"iris": renamed(t, "iris", testmodel.Features), "wine": renamed(t, "wine", wineFeatures), "pending": nil,
	}}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	e := httpserver.NewEngine(httpserver.Options{Logger: logger, Registry: reg, Namespace: "predictor"})
	New(Config{Logger: logger, Models: models, Counters: usage.New(reg), Version: "v1.2.3", MaxBodyBytes: 4096, MaxBatch: 5,
		Ready: func() bool { return true }}).Register(e)
	return e, reg
}

const wineRow = `{"alcohol": 5.1, "malic_acid": 3.5, "ash": 1.4, "magnesium": 0.2}`

func TestRoutesPerModel(t *testing.T) {
	e, reg := newModelsAPI(t)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		want                     []string
	}{
		{"default model", "POST", "/predict", seed, 200, []string{`"label":"setosa"`, `"model":{"name":"iris"`}},
		{"named model", "POST", "/predict?model=wine", wineRow, 200, []string{`"label":"setosa"`, `"model":{"name":"wine"`}},
		{"named model among other parameters", "POST", "/predict?x=1&model=wine", wineRow, 200, []string{`"name":"wine"`}},
		{"escaped query", "POST", "/predict?model=w%69ne", wineRow, 200, []string{`"name":"wine"`}},
		{"features of another model", "POST", "/predict?model=wine", seed, 400, []string{`sepal_length: unknown feature; the model expects alcohol, malic_acid, ash, magnesium`}},
		{"model not served", "POST", "/predict?model=nope", seed, 404, []string{`"code":"not_found"`, `model \"nope\" is not served: this predictor serves iris, wine, pending`}},
		{"model not loaded", "POST", "/predict?model=pending", seed, 503, []string{`"code":"unavailable"`, "no model loaded yet: waiting for pending@production"}},
		{"KServe V1", "POST", "/v1/models/wine:predict", `{"instances": [` + wineRow + `, [6.7, 3.0, 5.2, 2.3]]}`, 200, []string{`{"predictions":[{"label":"setosa"`, `"label":"virginica"`}},
		{"KServe V1 wants instances", "POST", "/v1/models/wine:predict", wineRow, 400, []string{`{"error":"send {\"instances\": [...]}`}},
		{"KServe V1 unknown verb", "POST", "/v1/models/wine:explain", `{}`, 404, []string{`{"error":"no route POST \"/v1/models/wine:explain\"`}},
		{"KServe V1 unknown model", "POST", "/v1/models/nope:predict", `{}`, 404, []string{`{"error":"model \"nope\" is not served`}},
		{"KServe V1 not loaded", "POST", "/v1/models/pending:predict", `{}`, 503, []string{`{"error":"no model loaded yet: waiting for pending@production`}},
		{"OIP infer", "POST", "/v2/models/wine/infer", `{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [5.1, 3.5, 1.4, 0.2]}]}`, 200, []string{`"model_name":"wine"`}},
		{"OIP infer, one input per feature", "POST", "/v2/models/wine/infer", `{"inputs": [{"name": "alcohol", "shape": [1], "datatype": "FP64", "data": [5.1]},
			{"name": "malic_acid", "shape": [1], "datatype": "FP64", "data": [3.5]}, {"name": "ash", "shape": [1], "datatype": "FP64", "data": [1.4]},
			{"name": "magnesium", "shape": [1], "datatype": "FP64", "data": [0.2]}]}`, 200, []string{`"model_name":"wine"`, `"data":["setosa"]`}},
		{"OIP metadata", "GET", "/v2/models/wine", "", 200, []string{`"name":"wine"`, `"feature_names":["alcohol","malic_acid","ash","magnesium"]`}},
		{"OIP model ready", "GET", "/v2/models/wine/ready", "", 200, []string{`{"name":"wine","ready":true}`}},
		{"OIP model not loaded", "GET", "/v2/models/pending/ready", "", 503, []string{`{"error":"model \"pending\" is not loaded yet`}},
		{"OIP unknown model", "GET", "/v2/models/nope", "", 404, []string{`{"error":"model \"nope\" is not served`}},
		{"OIP server", "GET", "/v2", "", 200, []string{`"name":"modelferry-predictor"`, `"version":"v1.2.3"`, `"extensions":["model_repository"]`}},
		{"OIP unknown route", "GET", "/v2/models/wine/explain", "", 404, []string{`{"error":"no route GET \"/v2/models/wine/explain\""}`}},
		{"OIP unknown route at the root", "GET", "/v2/nothing/here", "", 404, []string{`{"error":"no route GET`}},
		{"OIP wrong method", "POST", "/v2/models/wine", "", 405, []string{`{"error":"method POST is not allowed on \"/v2/models/wine\""}`}},
		{"other unknown route keeps its shape", "GET", "/nothing", "", 404, []string{`{"error":{"code":"not_found"`}},
		{"repository index", "POST", "/v2/repository/index", "", 200, []string{
			`[{"name":"iris","version":"` + version + `","state":"READY"},{"name":"wine","version":"` + version + `","state":"READY"},{"name":"pending","state":"UNAVAILABLE","reason":"waiting for pending@production to be published"}]`}},
		{"repository index of the ready", "POST", "/v2/repository/index", `{"ready": true}`, 200, []string{`"wine"`}},
		{"repository index, bad body", "POST", "/v2/repository/index", `{"ready": 1}`, 400, []string{`{"error":"ready: expected a boolean`}},
		{"models", "GET", "/models", "", 200, []string{`"default":"iris"`, `{"name":"wine","alias":"production","version":"` + version + `","ready":true,"loaded_at":`, `{"name":"pending","alias":"production","ready":false,"waiting":"waiting for pending@production`}},
		{"model", "GET", "/model?model=wine", "", 200, []string{`"name":"wine"`, `"features":["alcohol","malic_acid","ash","magnesium"]`, `"alias":"production"`}},
		{"default model's details", "GET", "/model", "", 200, []string{`"name":"iris"`}},
		{"details of a model not served", "GET", "/model?model=nope", "", 404, []string{`not served`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := do(e, tc.method, tc.path, "", tc.body)
			if w.Code != tc.status {
				t.Fatalf("%d, want %d: %.300s", w.Code, tc.status, w.Body)
			}
			for _, want := range tc.want {
				if !strings.Contains(w.Body.String(), want) {
					t.Errorf("%.400s lacks %s", w.Body, want)
				}
			}
		})
	}
	if w := do(e, "POST", "/v2/repository/index", "", `{"ready": true}`); strings.Contains(w.Body.String(), "pending") {
		t.Errorf("ready index lists a model not loaded: %s", w.Body)
	}
	// Counted per model and protocol; models not served get no series.
	for series, want := range map[[3]string]float64{
		{"predictor_inference_request_success_total", "wine", "kserve_v1"}: 1,
		{"predictor_inference_request_success_total", "wine", "oip_rest"}:  2,
		{"predictor_inference_request_success_total", "wine", "predict"}:   3,
		{"predictor_inference_requests_total", "wine", "predict"}:          4,
		{"predictor_inference_requests_total", "iris", "predict"}:          1,
		{"predictor_inference_rows_total", "wine", "kserve_v1"}:            2,
	} {
		if got := counter(t, reg, series[0], map[string]string{"model": series[1], "protocol": series[2]}); got != want {
			t.Errorf("%s{model=%q,protocol=%q} = %v, want %v", series[0], series[1], series[2], got, want)
		}
	}
	if got := counter(t, reg, "predictor_inference_request_failure_total", map[string]string{"model": "wine", "protocol": "predict", "reason": "invalid_argument"}); got != 1 {
		t.Errorf("failures of wine: %v", got)
	}
	if got := counter(t, reg, "predictor_inference_request_failure_total", map[string]string{"model": "pending", "protocol": "kserve_v1", "reason": "unavailable"}); got != 1 {
		t.Errorf("failures of pending: %v", got)
	}
	if n, err := testutil.GatherAndCount(reg, "predictor_inference_requests_total"); err != nil || n != 3*4 {
		t.Errorf("%d request series (%v), want 4 protocols of the 3 served models", n, err)
	}
}

// counter reads one series of a counter family; 0 when it is absent.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// TestOpenAPIShowsEachModel: the document is generated from the loaded
// models, their features and classes in schemas and examples.
func TestOpenAPIShowsEachModel(t *testing.T) {
	e, _ := newModelsAPI(t)
	w := do(e, "GET", "/openapi.json", "", "")
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Required   []string `json:"required"`
				Properties map[string]struct {
					Enum []string `json:"enum"`
				} `json:"properties"`
			} `json:"schemas"`
			Parameters map[string]struct {
				Schema struct {
					Enum []string `json:"enum"`
				} `json:"schema"`
			} `json:"parameters"`
		} `json:"components"`
		Paths map[string]map[string]struct {
			RequestBody struct {
				Content map[string]struct {
					Examples map[string]struct {
						Value json.RawMessage `json:"value"`
					} `json:"examples"`
				} `json:"content"`
			} `json:"requestBody"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil || w.Code != 200 {
		t.Fatalf("%d: %v", w.Code, err)
	}
	if got := doc.Components.Schemas["Features_wine"].Required; !slices.Equal(got, wineFeatures) {
		t.Errorf("wine's features schema: %v", got)
	}
	if got := doc.Components.Schemas["Prediction_iris"].Properties["label"].Enum; !slices.Equal(got, testmodel.Classes) {
		t.Errorf("iris's labels: %v", got)
	}
	if got := doc.Components.Parameters["ModelQuery"].Schema.Enum; !slices.Equal(got, []string{"iris", "wine"}) {
		t.Errorf("models in the ?model= parameter: %v", got)
	}
	examples := doc.Paths["/predict"]["post"].RequestBody.Content["application/json"].Examples
	var row map[string]float64
	if err := json.Unmarshal(examples["wine: one row"].Value, &row); err != nil || len(row) != 4 || row["alcohol"] == 0 {
		t.Errorf("wine's example row %s: %v", examples["wine: one row"].Value, err)
	}
	// Every example is a request the model answers.
	for name, ex := range examples {
		model, _, _ := strings.Cut(name, ":")
		if w := do(e, "POST", "/predict?model="+model, "", string(ex.Value)); w.Code != 200 {
			t.Errorf("example %q: %d %s", name, w.Code, w.Body)
		}
	}
}
