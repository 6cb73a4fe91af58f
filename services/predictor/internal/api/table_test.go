package api

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/artifact"
	"github.com/modelferry/modelferry/pkg/serving"
	"github.com/modelferry/modelferry/pkg/testmodel"
)

// TestTabularModelEndpoints serves a model trained on a raw table: KServe
// V1 takes raw records, OIP metadata lists one input per column with its
// datatype, OIP inference takes one input per column, and the per-model
// OpenAPI document gives each column's type, categories and nullability.
func TestTabularModelEndpoints(t *testing.T) {
	e, models := newAPI(t, false)
	b, _ := testmodel.Table(t, "iris", version)
	am, err := artifact.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	m, err := serving.New(am, "abc", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	models.m.Store(m)

	w := do(e, "POST", "/v1/models/iris:predict", "application/json", `{"instances": [{"age": 30, "color": "red", "city": null}, [41, null, "blue", "Paris"]]}`)
	if w.Code != 200 || strings.Count(w.Body.String(), `"label"`) != 2 {
		t.Errorf("KServe V1: %d %s", w.Code, w.Body)
	}
	w = do(e, "POST", "/v1/models/iris:predict", "application/json", `{"instances": [{"agee": 30}]}`)
	if w.Code != 400 || !strings.Contains(w.Body.String(), "agee: unknown feature") {
		t.Errorf("KServe V1 unknown key: %d %s", w.Code, w.Body)
	}

	w = do(e, "GET", "/v2/models/iris", "", "")
	var md struct {
		Inputs []struct{ Name, Datatype string }
	}
	if err := json.Unmarshal(w.Body.Bytes(), &md); err != nil || len(md.Inputs) != 4 ||
		md.Inputs[0].Name != "age" || md.Inputs[0].Datatype != "FP64" || md.Inputs[2].Name != "color" || md.Inputs[2].Datatype != "BYTES" {
		t.Errorf("metadata: %d %s", w.Code, w.Body)
	}
	w = do(e, "POST", "/v2/models/iris/infer", "application/json", `{"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": [1, 2, 3, 4]}]}`)
	if w.Code != 400 || !strings.Contains(w.Body.String(), `input \"input-0\": unknown input; the model takes one input per column (age, income, color, city)`) {
		t.Errorf("OIP infer of a tensor: %d %s", w.Code, w.Body)
	}
	testOIPMatchesPredict(t, e)

	w = do(e, "GET", "/openapi.json", "", "")
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Required   []string
				Properties map[string]struct {
					Type     string
					Nullable bool
					Enum     []string
				}
			}
		}
	}
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatalf("%d %v", w.Code, err)
	}
	f := doc.Components.Schemas["Features_iris"]
	if c := f.Properties["color"]; c.Type != "string" || !c.Nullable || len(c.Enum) == 0 || f.Required != nil {
		t.Errorf("color column schema %+v, required %v", c, f.Required)
	}
	if a := f.Properties["age"]; a.Type != "number" || !a.Nullable {
		t.Errorf("age column schema %+v", a)
	}
}

// testOIPMatchesPredict sends the same records to /predict and, one input
// per column in another order, to OIP REST: the probabilities are the
// same float64s.
func testOIPMatchesPredict(t *testing.T, e *gin.Engine) {
	t.Helper()
	w := do(e, "POST", "/predict", "application/json",
		`{"instances": [{"age": 30, "income": 1200.5, "color": "red", "city": "Lyon"}, [41, null, "blue", "Paris"], {"color": "never seen", "city": "Brest"}, {"city": "Nice"}]}`)
	var pred struct {
		Predictions []struct{ Probabilities map[string]float64 }
	}
	if err := json.Unmarshal(w.Body.Bytes(), &pred); err != nil || len(pred.Predictions) != 4 {
		t.Fatalf("/predict: %d %s", w.Code, w.Body)
	}
	// Rows of other values in the pooled scratch: the OIP rows are packed
	// whole, not left over from /predict's.
	if w := do(e, "POST", "/predict", "application/json", `{"instances": [{}, {}, {}, {}]}`); w.Code != 200 {
		t.Fatalf("/predict: %d %s", w.Code, w.Body)
	}
	w = do(e, "POST", "/v2/models/iris/infer", "application/json", `{"inputs": [
		{"name": "city", "shape": [4], "datatype": "BYTES", "data": ["Lyon", "Paris", "Brest", "Nice"]},
		{"name": "income", "shape": [4, 1], "datatype": "FP64", "data": [[1200.5], [null], [null], [null]]},
		{"name": "color", "shape": [4], "datatype": "BYTES", "data": ["red", "blue", "never seen", ""]},
		{"name": "age", "shape": [4], "datatype": "INT64", "data": [30, 41, null, null]}]}`)
	var oip struct {
		Outputs []struct {
			Name string
			Data json.RawMessage
		}
	}
	if err := json.Unmarshal(w.Body.Bytes(), &oip); err != nil || w.Code != 200 {
		t.Fatalf("OIP infer: %d %s", w.Code, w.Body)
	}
	var probs []float64
	for _, o := range oip.Outputs {
		if o.Name == "probabilities" {
			if err := json.Unmarshal(o.Data, &probs); err != nil {
				t.Fatal(err)
			}
		}
	}
	var want []float64
	for _, p := range pred.Predictions {
		for _, c := range []string{"no", "yes"} {
			want = append(want, p.Probabilities[c])
		}
	}
	if !slices.Equal(probs, want) {
		t.Errorf("OIP probabilities %v, /predict %v", probs, want)
	}
}
