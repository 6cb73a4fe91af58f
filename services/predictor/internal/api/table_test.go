package api

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/modelferry/modelferry/pkg/artifact"
	"github.com/modelferry/modelferry/pkg/serving"
	"github.com/modelferry/modelferry/pkg/testmodel"
)

// TestTabularModelEndpoints serves a model trained on a raw table: KServe
// V1 takes raw records, OIP metadata lists one input per column with its
// datatype, OIP inference says where records go, and the per-model
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
	if w.Code != 400 || !strings.Contains(w.Body.String(), "POST /predict or KServe V1") {
		t.Errorf("OIP infer: %d %s", w.Code, w.Body)
	}

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
