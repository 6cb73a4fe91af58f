package serving

import (
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelferry/modelferry/pkg/artifact"
	"github.com/modelferry/modelferry/pkg/artifact/artifactpb"
	"github.com/modelferry/modelferry/pkg/logreg"
	"github.com/modelferry/modelferry/pkg/testmodel"
)

func irisModel(t testing.TB) *Model {
	t.Helper()
	d := testmodel.Iris(t)
	b := testmodel.Artifact(t, d, "iris", "20261126T100000Z-00000001", 1)
	am, err := artifact.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(am, "sha", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

const seedBody = `{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}`

func TestDecodeForms(t *testing.T) {
	m := irisModel(t)
	for _, tc := range []struct {
		name  string
		body  string
		batch bool
		x     []float64
	}{
		{"seed body", seedBody, false, []float64{5.1, 3.5, 1.4, 0.2}},
		{"any key order, whitespace", " {\n\"petal_width\":0.2,\"petal_length\" : 1.4, \"sepal_width\":3.5,\"sepal_length\":5.1 }\n", false, []float64{5.1, 3.5, 1.4, 0.2}},
		{"numbers in every JSON form", `{"sepal_length": -0, "sepal_width": 3, "petal_length": 1.4e0, "petal_width": 2E-1}`, false, []float64{0, 3, 1.4, 0.2}},
		{"escaped key", `{"sepal\u005flength": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}`, false, []float64{5.1, 3.5, 1.4, 0.2}},
		{"batch of arrays", `{"instances": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}`, true, []float64{5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3}},
		{"batch of objects and arrays", `{"instances": [` + seedBody + `, [6.7, 3.0, 5.2, 2.3]]}`, true, []float64{5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sc Scratch
			req, err := m.DecodePredict([]byte(tc.body), 100, &sc)
			if err != nil {
				t.Fatal(err)
			}
			if req.Batch != tc.batch || req.Rows != len(tc.x)/4 || len(req.X) != len(tc.x) {
				t.Fatalf("got %+v", req)
			}
			for i := range tc.x {
				if req.X[i] != tc.x[i] {
					t.Errorf("x[%d] = %v, want %v", i, req.X[i], tc.x[i])
				}
			}
		})
	}
}

func TestDecodeErrorsNameTheField(t *testing.T) {
	m := irisModel(t)
	rows := func(n int) string {
		return `{"instances": [` + strings.TrimSuffix(strings.Repeat("[1,2,3,4],", n), ",") + `]}`
	}
	for _, tc := range []struct {
		name, body, want string
		tooLarge         bool
	}{
		{"empty body", "", "empty body", false},
		{"not an object", `[1,2,3,4]`, "body must be a JSON object, got an array", false},
		{"malformed", `{"sepal_length": 5.1,`, "malformed JSON", false},
		{"truncated number", `{"sepal_length": -`, "malformed JSON", false},
		{"trailing data", seedBody + `{}`, "malformed JSON: unexpected data after the object", false},
		{"missing feature", `{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4}`, "petal_width: missing", false},
		{"empty object", `{}`, "sepal_length: missing", false},
		{"unknown feature", `{"sepal_length": 5.1, "petal_size": 1}`, "petal_size: unknown feature; the model expects sepal_length, sepal_width, petal_length, petal_width", false},
		{"duplicate feature", `{"sepal_length": 5.1, "sepal_length": 5.2}`, "sepal_length: given more than once", false},
		{"string value", `{"sepal_length": "5.1"}`, "sepal_length: expected a number, got a string", false},
		{"null value", `{"sepal_length": null}`, "sepal_length: expected a number, got null", false},
		{"bool value", `{"sepal_length": true}`, "sepal_length: expected a number, got a boolean", false},
		{"NaN", `{"sepal_length": NaN}`, "sepal_length: NaN and Infinity are not numbers", false},
		{"Infinity", `{"sepal_length": Infinity}`, "sepal_length: NaN and Infinity", false},
		{"overflow", `{"sepal_length": 1e999}`, "sepal_length: 1e999 is out of range for float64", false},
		{"leading zero", `{"sepal_length": 01}`, "malformed JSON", false},
		{"array too short", `{"instances": [[1, 2, 3]]}`, "instances[0]: expected 4 values (sepal_length, sepal_width, petal_length, petal_width), got 3", false},
		{"array too long", `{"instances": [[1, 2, 3, 4, 5]]}`, "instances[0]: expected 4 values", false},
		{"array bad value", `{"instances": [[1, 2, 3, 4], [1, "2", 3, 4]]}`, "instances[1][1]: expected a number, got a string", false},
		{"batch object missing feature", `{"instances": [` + seedBody + `, {"sepal_length": 1}]}`, "instances[1].sepal_width: missing", false},
		{"empty batch", `{"instances": []}`, "instances: empty", false},
		{"instances not an array", `{"instances": {"a": 1}}`, "instances: expected an array, got an object", false},
		{"instances null", `{"instances": null}`, "instances: expected an array, got null", false},
		{"batch item not a row", `{"instances": [5]}`, "instances[0]: expected an object of named features or an array of values, got a number", false},
		{"extra top-level field", `{"instances": [[1,2,3,4]], "parameters": {}}`, "parameters: unknown field", false},
		{"empty array row", `{"instances": [[]]}`, "instances[0]: expected 4 values (sepal_length, sepal_width, petal_length, petal_width), got 0", false},
		{"empty object row", `{"instances": [{}]}`, "instances[0].sepal_length: missing", false},
		{"malformed row", `{"instances": [[1, 2}`, "malformed JSON at byte 20: unexpected '}'", false},
		{"malformed object row", `{"instances": [{"sepal_length" 1}]}`, "malformed JSON at byte 31", false},
		{"malformed value", `{"sepal_length": 1.}`, "malformed JSON at byte 17: unexpected '1'", false},
		{"body ends after a number", `{"sepal_length": 1`, "malformed JSON: unexpected end of body", false},
		{"batch over limit", rows(11), "instances: more than 10 rows", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sc Scratch
			_, err := m.DecodePredict([]byte(tc.body), 10, &sc)
			ie, ok := err.(*InputError)
			if !ok {
				t.Fatalf("got %v (%T), want an *InputError", err, err)
			}
			if !strings.HasPrefix(ie.Error(), tc.want) || ie.TooLarge != tc.tooLarge {
				t.Errorf("error %q (too large %v), want %q (%v)", ie, ie.TooLarge, tc.want, tc.tooLarge)
			}
		})
	}
	var sc Scratch
	if _, err := m.DecodePredict([]byte(rows(10)), 10, &sc); err != nil {
		t.Errorf("batch at the limit: %v", err)
	}
}

func TestEncodeIsValidJSON(t *testing.T) {
	m := irisModel(t)
	var sc Scratch
	req, err := m.DecodePredict([]byte(seedBody), 10, &sc)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]float64, 3)
	k, err := m.Predict(req.X, p)
	if err != nil {
		t.Fatal(err)
	}
	var single struct {
		Label         string             `json:"label"`
		ClassID       int                `json:"class_id"`
		Probabilities map[string]float64 `json:"probabilities"`
		Model         struct{ Name, Version string }
	}
	out := m.AppendSingle(nil, k, p)
	if err := json.Unmarshal(out, &single); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	if single.Label != "setosa" || single.ClassID != 0 || single.Model.Name != "iris" || single.Model.Version != m.Version {
		t.Errorf("answer %s", out)
	}
	sum := 0.0
	for c, v := range single.Probabilities {
		sum += v
		if v != p[indexOf(m.Classes, c)] {
			t.Errorf("probability of %s changed in encoding: %v vs %v", c, v, p[indexOf(m.Classes, c)])
		}
	}
	if math.Abs(sum-1) > 1e-12 {
		t.Errorf("probabilities sum to %v", sum)
	}

	rows := [][]float64{{5.1, 3.5, 1.4, 0.2}, {6.7, 3.0, 5.2, 2.3}, {5.9, 3.0, 4.2, 1.5}, {4.9, 3.0, 1.4, 0.2}}
	body, _ := json.Marshal(map[string]any{"instances": rows})
	req, _ = m.DecodePredict(body, 10, &sc)
	batch, err := m.AppendBatch(nil, req.X, req.Rows, p)
	if err != nil {
		t.Fatal(err)
	}
	type prediction struct {
		Label         string             `json:"label"`
		ClassID       int                `json:"class_id"`
		Probabilities map[string]float64 `json:"probabilities"`
	}
	var b struct {
		Predictions []prediction `json:"predictions"`
		Model       struct{ Name, Version string }
	}
	if err := json.Unmarshal(batch, &b); err != nil || len(b.Predictions) != len(rows) || b.Model.Version != m.Version {
		t.Fatalf("batch answer %s: %v", batch, err)
	}
	// Each row answers as it does alone.
	for i, x := range rows {
		k, err := m.Predict(x, p)
		if err != nil {
			t.Fatal(err)
		}
		var alone prediction
		if err := json.Unmarshal(m.AppendSingle(nil, k, p), &alone); err != nil {
			t.Fatal(err)
		}
		got := b.Predictions[i]
		if got.Label != alone.Label || got.ClassID != alone.ClassID || !maps.Equal(got.Probabilities, alone.Probabilities) {
			t.Errorf("row %d: in a batch %+v, alone %+v", i, got, alone)
		}
	}
	if b.Predictions[1].Label != "virginica" || b.Predictions[2].Label != "versicolor" {
		t.Errorf("batch answer %s", batch)
	}
}

// Feature names are matched after JSON unescaping, whatever bytes they
// hold: spaces, non-ASCII letters, quotes.
func TestDecodeFeatureNamesOfAnyText(t *testing.T) {
	features := []string{"petal length", "größe", `say "hi"`}
	lm := &logreg.Model{Features: 3, Classes: 2, Coef: []float64{1, 2, 3}, Intercept: []float64{0}}
	lin, scaler := artifact.LinearFromLogreg(lm)
	b, err := artifact.Encode(&artifactpb.Model{FormatVersion: artifact.FormatVersion, Name: "m", Version: "20261126T100000Z-00000001",
		FeatureNames: features, ClassNames: []string{"no", "yes"}, Linear: lin, Scaler: scaler})
	if err != nil {
		t.Fatal(err)
	}
	am, err := artifact.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(am, "sha", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{
		`{"petal length": 1, "größe": 2, "say \"hi\"": 3}`,
		`{"say \u0022hi\u0022": 3, "gr\u00f6\u00dfe": 2, "petal\u0020length": 1}`,
		`{"instances": [{"größe": 2, "petal length": 1, "say \"hi\"": 3}]}`,
	} {
		var sc Scratch
		req, err := m.DecodePredict([]byte(body), 10, &sc)
		if err != nil || !slices.Equal(req.X, []float64{1, 2, 3}) {
			t.Errorf("%s: %v %v", body, req.X, err)
		}
	}
	var sc Scratch
	if _, err := m.DecodePredict([]byte(`{"petal\tlength": 1}`), 10, &sc); err == nil || !strings.HasPrefix(err.Error(), "petal\tlength: unknown feature") {
		t.Errorf("a key that differs by an escape: %v", err)
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func TestHotPathDoesNotAllocate(t *testing.T) {
	m := irisModel(t)
	var sc Scratch
	body := []byte(seedBody)
	p := make([]float64, 3)
	out := make([]byte, 0, 512)
	allocs := testing.AllocsPerRun(200, func() {
		req, err := m.DecodePredict(body, 10, &sc)
		if err != nil {
			t.Fatal(err)
		}
		k, err := m.Predict(req.X, p)
		if err != nil {
			t.Fatal(err)
		}
		out = m.AppendSingle(out[:0], k, p)
	})
	if allocs != 0 {
		t.Errorf("decode + predict + encode allocates %v times per request", allocs)
	}
}
