package api

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/modelferry/modelferry/pkg/artifact"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/pkg/serving"
)

func TestPredictWithAVersion(t *testing.T) {
	e := newEnv(t)
	v := e.do("POST", "/train?wait=true", "", nil).run(t).Version
	b, err := e.store.ReadArtifact(context.Background(), "iris", v, "")
	if err != nil {
		t.Fatal(err)
	}
	m, err := artifact.DecodeVersion(b, "iris", v)
	if err != nil {
		t.Fatal(err)
	}
	compiled, err := artifact.Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	want := func(x ...float64) []float64 {
		p := make([]float64, 3)
		compiled.PredictProba(x, p)
		return p
	}
	served, err := serving.New(m, modelstore.SHA256(b), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	path := "/models/iris/versions/" + v + "/predict"
	setosa := `{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}`
	t.Run("one row", func(t *testing.T) {
		resp := e.do("POST", path, "application/json", strings.NewReader(setosa))
		if resp.code != 200 {
			t.Fatalf("%d %s", resp.code, resp.body)
		}
		// The predictor's answer, classes in the model's order, byte for
		// byte.
		wantBody, _, err := served.Answer(nil, []byte(setosa), serving.PredictForm, maxPredictBatch, &serving.Scratch{}, make([]float64, 3))
		if err != nil || string(resp.body) != string(wantBody) {
			t.Errorf("answer %s\nthe predictor's code answers %s (%v)", resp.body, wantBody, err)
		}
		if !strings.HasPrefix(string(resp.body), `{"label":"setosa","class_id":0,"probabilities":{"setosa":`) ||
			!strings.HasSuffix(string(resp.body), `,"model":{"name":"iris","version":"`+v+`"}}`) {
			t.Errorf("answer %s", resp.body)
		}
		var got struct{ Probabilities map[string]float64 }
		_ = json.Unmarshal(resp.body, &got)
		for k, c := range []string{"setosa", "versicolor", "virginica"} {
			if w := want(5.1, 3.5, 1.4, 0.2)[k]; got.Probabilities[c] != w {
				t.Errorf("p(%s) = %v, want %v", c, got.Probabilities[c], w)
			}
		}
	})
	t.Run("batch of objects and arrays, no content type", func(t *testing.T) {
		resp := e.do("POST", path, "", strings.NewReader(`{"instances": [[6.7, 3.0, 5.2, 2.3], `+setosa+`]}`))
		var got struct {
			Predictions []struct {
				Label         string
				ClassID       int `json:"class_id"`
				Probabilities map[string]float64
			}
			Model struct{ Name, Version string }
		}
		if err := json.Unmarshal(resp.body, &got); err != nil || resp.code != 200 || len(got.Predictions) != 2 {
			t.Fatalf("%d %s", resp.code, resp.body)
		}
		if p := got.Predictions[0]; p.Label != "virginica" || p.ClassID != 2 || p.Probabilities["virginica"] != want(6.7, 3.0, 5.2, 2.3)[2] {
			t.Errorf("row 0: %+v", p)
		}
		if got.Predictions[1].Label != "setosa" || got.Model.Version != v {
			t.Errorf("answer %s", resp.body)
		}
	})
	for _, tc := range []struct {
		name, ct, body string
		status         int
		msg            string
	}{
		{"missing feature", "", `{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4}`, 400, "petal_width: missing"},
		{"unknown feature", "", `{"sepal_length": 5.1, "colour": 1}`, 400, "colour: unknown feature; the model expects sepal_length, sepal_width, petal_length, petal_width"},
		{"twice", "", `{"sepal_length": 5.1, "sepal_length": 5.1}`, 400, "sepal_length: given more than once"},
		{"string value", "", `{"sepal_length": "5.1"}`, 400, "sepal_length: expected a number, got a string"},
		{"empty body", "", ``, 400, "empty body"},
		{"not an object", "", `[1, 2]`, 400, "body must be a JSON object, got an array"},
		{"malformed", "", `{"sepal_length": }`, 400, "sepal_length: expected a number, got invalid JSON"},
		{"empty batch", "", `{"instances": []}`, 400, "instances: empty: send at least one row"},
		{"short array row", "", `{"instances": [[1, 2, 3]]}`, 400, "instances[0]: expected 4 values (sepal_length, sepal_width, petal_length, petal_width), got 3"},
		{"bad value in array row", "", `{"instances": [[1, 2, 3, 4], [1, null, 3, 4]]}`, 400, "instances[1][1]: expected a number, got null"},
		{"missing in object row", "", `{"instances": [{"sepal_length": 1}]}`, 400, "instances[0].sepal_width: missing"},
		{"row of another kind", "", `{"instances": [7]}`, 400, "instances[0]: expected an object of named features or an array of values, got a number"},
		{"extra batch field", "", `{"instances": [[1, 2, 3, 4]], "id": 1}`, 400, `id: unknown field; a batch body has only "instances"`},
		{"overflow", "", `{"instances": [[1e308, -1e308, 1e308, 1e308]]}`, 400, "instances[0]: values too large for the model"},
		{"out of range", "", `{"sepal_length": 1e999, "sepal_width": 1, "petal_length": 1, "petal_width": 1}`, 400, "sepal_length: 1e999 is out of range for float64"},
		{"too many rows", "", `{"instances": [` + strings.TrimSuffix(strings.Repeat("[1,2,3,4],", maxPredictBatch+1), ",") + `]}`, 413, "more than 10000 rows"},
		{"wrong content type", "text/csv", "1,2,3,4", 415, "send Content-Type: application/json"},
		// Long inputs are quoted cut (issue 25).
		{"long unknown feature", "", `{"` + strings.Repeat("k", 1<<20) + `": 1}`, 400, `"` + strings.Repeat("k", 100) + `"… (1048576 bytes): unknown feature`},
		{"long number", "", `{"sepal_length": 1` + strings.Repeat("0", 1<<20) + `}`, 400, `sepal_length: "1` + strings.Repeat("0", 99) + `"… (1048577 bytes) is out of range`},
		{"long batch field", "", `{"instances": [[1, 2, 3, 4]], "` + strings.Repeat("k", 1<<20) + `": 1}`, 400, `"… (1048576 bytes): unknown field`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.do("POST", path, tc.ct, strings.NewReader(tc.body))
			if resp.code != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.code, tc.status, resp.body)
			}
			got := resp.apiError(t)
			if !strings.Contains(got.Message, tc.msg) || len(got.Message) > 300 {
				t.Errorf("message %.300q (%d bytes), want %q", got.Message, len(got.Message), tc.msg)
			}
			// The predictor's code answers: the same message, byte for byte.
			if tc.status == 415 {
				return
			}
			_, _, err := served.Answer(nil, []byte(tc.body), serving.PredictForm, maxPredictBatch, &serving.Scratch{}, make([]float64, 3))
			var ie *serving.InputError
			if !errors.As(err, &ie) || ie.Error() != got.Message {
				t.Errorf("message %q; the predictor's code says %v", got.Message, err)
			}
		})
	}
	t.Run("unknown version", func(t *testing.T) {
		if r := e.do("POST", "/models/iris/versions/20200101T000000Z-00000000/predict", "", strings.NewReader(setosa)); r.code != 404 {
			t.Errorf("%d %s", r.code, r.body)
		}
	})
	if math.IsNaN(want(1, 1, 1, 1)[0]) {
		t.Error("reference model gives NaN")
	}
}
