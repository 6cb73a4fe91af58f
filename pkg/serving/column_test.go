package serving

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelferry/modelferry/pkg/artifact"
	"github.com/modelferry/modelferry/pkg/tabular"
	"github.com/modelferry/modelferry/pkg/testmodel"
)

// columnInputs writes the golden's test table as OIP inputs, one per
// source column in the given order: numbers (null for missing) in
// numeric columns as dt, strings ("" for missing) in categorical ones;
// shape [N, 1] for every other input.
func columnInputs(g testmodel.TableGolden, order []string, dt string) string {
	h := g.Test.Header
	var inputs []string
	for k, f := range order {
		j := slices.Index(h, f)
		numeric := f == "age" || f == "income"
		var data []string
		for _, rec := range g.Test.Rows {
			v := rec[j]
			missing := slices.Contains(tabular.DefaultNAValues(), v)
			switch {
			case numeric && missing:
				data = append(data, "null")
			case numeric:
				data = append(data, v)
			case missing:
				data = append(data, `""`)
			default:
				q, _ := json.Marshal(v)
				data = append(data, string(q))
			}
		}
		shape, typ := `[`+itoa(len(data))+`]`, dt
		if k%2 == 1 {
			shape = `[` + itoa(len(data)) + `, 1]`
		}
		if !numeric {
			typ = "BYTES"
		}
		inputs = append(inputs, `{"name": "`+f+`", "shape": `+shape+`, "datatype": "`+typ+`", "data": [`+strings.Join(data, ",")+`]}`)
	}
	return `{"inputs": [` + strings.Join(inputs, ",") + `]}`
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestOIPColumnsMatchPredict: the golden's test rows sent to a tabular
// model as one OIP input per column, in any order, pack into the rows
// /predict makes of the same records, bit for bit, and score the same.
func TestOIPColumnsMatchPredict(t *testing.T) {
	m, g := tableModel(t)
	objects, _ := records(g, m.Features)
	var psc Scratch
	want, err := m.DecodePredict([]byte(`{"instances": [`+strings.Join(objects, ",")+`]}`), 10_000, &psc)
	if err != nil {
		t.Fatal(err)
	}
	w := m.NumFeatures()
	for _, order := range [][]string{{"age", "income", "color", "city"}, {"city", "income", "color", "age"}} {
		t.Run(strings.Join(order, ","), func(t *testing.T) {
			var sc Scratch
			req, err := m.DecodeInfer([]byte(columnInputs(g, order, "FP64")), 10_000, &sc)
			if err != nil {
				t.Fatal(err)
			}
			if req.Rows != want.Rows {
				t.Fatalf("%d rows, want %d", req.Rows, want.Rows)
			}
			p, q := make([]float64, 2), make([]float64, 2)
			for i := range req.Rows {
				row, wrow := req.X[i*w:(i+1)*w], want.X[i*w:(i+1)*w]
				for j := range row {
					if math.Float64bits(row[j]) != math.Float64bits(wrow[j]) {
						t.Fatalf("row %d value %d: %v, /predict packs %v", i, j, row[j], wrow[j])
					}
				}
				if _, err := m.Score(row, p); err != nil {
					t.Fatal(err)
				}
				if _, err := m.Score(wrow, q); err != nil {
					t.Fatal(err)
				}
				if p[0] != q[0] || p[1] != q[1] || math.Abs(p[1]-g.Proba[i][1]) > 1e-4 {
					t.Errorf("row %d: %v, /predict %v, scikit-learn %v", i, p, q, g.Proba[i])
				}
			}
		})
	}
}

func TestOIPColumnValues(t *testing.T) {
	m, _ := tableModel(t)
	score := func(body string) []float64 {
		t.Helper()
		var sc Scratch
		req, err := m.DecodeInfer([]byte(body), 10, &sc)
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		p := make([]float64, 2)
		if _, err := m.Score(req.X[:m.NumFeatures()], p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	predict := func(body string) []float64 {
		t.Helper()
		var sc Scratch
		req, err := m.DecodePredict([]byte(body), 10, &sc)
		if err != nil {
			t.Fatal(err)
		}
		p := make([]float64, 2)
		if _, err := m.Score(req.X[:m.NumFeatures()], p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	in := func(age, income, color, city string) string {
		return `{"inputs": [{"name": "age", "shape": [1], "datatype": "INT32", "data": [` + age + `]},` +
			`{"name": "income", "shape": [1], "datatype": "FP32", "data": [` + income + `]},` +
			`{"name": "color", "shape": [1], "datatype": "BYTES", "data": [` + color + `]},` +
			`{"name": "city", "shape": [1, 1], "datatype": "BYTES", "data": [[` + city + `]]}]}`
	}
	for _, tc := range []struct{ oip, predict string }{
		{in("30", "1000", `"red"`, `"Paris"`), `{"age": 30, "income": 1000, "color": "red", "city": "Paris"}`},
		{in("null", "null", `""`, `null`), `{}`},
		{in("41", "null", `"bl\u0075e"`, `"nowhere"`), `{"age": 41, "color": "blue", "city": "nowhere"}`},
	} {
		t.Run(tc.oip, func(t *testing.T) {
			if got, want := score(tc.oip), predict(tc.predict); got[1] != want[1] {
				t.Errorf("OIP %v, /predict %v", got, want)
			}
		})
	}
}

func TestOIPColumnErrors(t *testing.T) {
	m, _ := tableModel(t)
	age := `{"name": "age", "shape": [1], "datatype": "FP64", "data": [30]}`
	income := `{"name": "income", "shape": [1], "datatype": "FP64", "data": [1]}`
	color := `{"name": "color", "shape": [1], "datatype": "BYTES", "data": ["red"]}`
	city := `{"name": "city", "shape": [1], "datatype": "BYTES", "data": ["Paris"]}`
	body := func(inputs ...string) string { return `{"inputs": [` + strings.Join(inputs, ",") + `]}` }
	for _, tc := range []struct{ name, body, want string }{
		{"unknown input", body(age, income, color, city, `{"name": "agee", "shape": [1], "datatype": "FP64", "data": [1]}`), `input "agee": unknown input; the model takes one input per column (age, income, color, city)`},
		{"missing input", body(age, color, city), `input "income": missing`},
		{"the tensor form", body(`{"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": [1, 2, 3, 4]}`), `input "input-0": unknown input`},
		{"BYTES for a numeric column", body(`{"name": "age", "shape": [1], "datatype": "BYTES", "data": ["30"]}`), `column "age" is numeric: send it as FP64`},
		{"a number type for a categorical column", body(`{"name": "color", "shape": [1], "datatype": "INT64", "data": [3]}`), `column "color" is categorical: send it as BYTES`},
		{"BYTES for a numeric model", "", ""},
		{"a number in BYTES", body(age, income, `{"name": "color", "shape": [1], "datatype": "BYTES", "data": [3]}`), `input "color": data[0]: expected a string (BYTES)`},
		{"a string in a numeric column", body(`{"name": "age", "shape": [1], "datatype": "FP64", "data": ["30"]}`), `input "age": data[0]: expected a number`},
		{"rows differ", body(age, `{"name": "income", "shape": [2], "datatype": "FP64", "data": [1, 2]}`), `input "income": 2 rows, the inputs before it have 1`},
		{"a shape of two columns", body(`{"name": "age", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]}`), `shape [1,2] does not match [N] or [N, 1] (one input per column)`},
		{"given twice", body(age, age), `input "age": given more than once`},
		{"more values than the shape", body(`{"name": "color", "shape": [1], "datatype": "BYTES", "data": ["a", "b"]}`), `input "color": data: more than the 1 values`},
		{"more rows than the body holds", body(`{"name": "age", "shape": [50], "datatype": "FP64", "data": [1]}`), `50 rows of 4 columns need 200 values`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.body == "" {
				nm := irisModel(t)
				var sc Scratch
				_, err := nm.DecodeInfer([]byte(`{"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "BYTES", "data": ["a", "b", "c", "d"]}]}`), 10, &sc)
				if err == nil || !strings.Contains(err.Error(), `datatype "BYTES" is not supported`) {
					t.Errorf("error %v", err)
				}
				return
			}
			var sc Scratch
			_, err := m.DecodeInfer([]byte(tc.body), 100, &sc)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to say %q", err, tc.want)
			}
		})
	}
}

// TestOIPColumnsAllocationFree: decoding 20 rows of columns allocates
// nothing once the scratch has grown.
func TestOIPColumnsAllocationFree(t *testing.T) {
	m, g := tableModel(t)
	g.Test.Rows = g.Test.Rows[:20]
	body := []byte(columnInputs(g, m.Features, "FP64"))
	var sc Scratch
	run := func() {
		if _, err := m.DecodeInfer(body, 100, &sc); err != nil {
			t.Fatal(err)
		}
	}
	run()
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Errorf("%v allocations per request of 20 rows, want 0", n)
	}
}

// FuzzDecodeInferColumns: whatever one-input-per-column body a tabular
// model accepts is valid JSON, and packs rows of finite dense values and
// integer codes the model scores.
func FuzzDecodeInferColumns(f *testing.F) {
	m, g := tableModel(f)
	g.Test.Rows = g.Test.Rows[:3]
	f.Add([]byte(columnInputs(g, m.Features, "FP64")))
	f.Add([]byte(columnInputs(g, []string{"city", "color", "income", "age"}, "INT64")))
	f.Add([]byte(`{"inputs": [{"name": "color", "shape": [1], "datatype": "BYTES", "data": ["r\u0065d"]}, {"name": "city", "shape": [1, 1], "datatype": "BYTES", "data": [[null]]},` +
		`{"name": "age", "shape": [1], "datatype": "UINT8", "data": [null]}, {"name": "income", "shape": [1], "datatype": "FP32", "data": [1e39]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var sc Scratch
		req, err := m.DecodeInfer(body, 4, &sc)
		if err == nil {
			checkPacked(t, m, body, req.X, req.Rows)
		}
	})
}

// TestOIPMissingCategoryUnseenInTraining: "" in a categorical column that
// had no missing cell in training packs the code /predict gives null.
func TestOIPMissingCategoryUnseenInTraining(t *testing.T) {
	train := &tabular.Table{Header: []string{"x", "c", "label"}}
	for i := range 40 {
		train.Rows = append(train.Rows, []string{itoa(i % 7), []string{"a", "b", "c"}[i%3], []string{"no", "yes"}[(i/2)%2]})
	}
	am, err := artifact.Decode(testmodel.TableArtifact(t, train, tabular.Spec{Label: "label"}, "t", "20261207T100000Z-00000001"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(am, "sha", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var psc, sc Scratch
	want, err := m.DecodePredict([]byte(`{"x": 3, "c": null}`), 1, &psc)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.DecodeInfer([]byte(`{"inputs": [{"name": "c", "shape": [1], "datatype": "BYTES", "data": [""]}, {"name": "x", "shape": [1], "datatype": "FP64", "data": [3]}]}`), 1, &sc)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.X, want.X) || want.X[len(want.X)-1] != float64(tabular.MissingCode) {
		t.Errorf("packed %v, /predict packs %v (missing code %d)", got.X, want.X, tabular.MissingCode)
	}
}
