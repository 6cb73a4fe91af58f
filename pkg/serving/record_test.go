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

func tableModel(t testing.TB) (*Model, testmodel.TableGolden) {
	t.Helper()
	b, g := testmodel.Table(t, "table", "20261207T100000Z-00000001")
	am, err := artifact.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(am, "sha", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return m, g
}

// records writes the golden's test table as raw JSON records: numbers as
// numbers, text as strings, a missing cell as null (even columns) or an
// absent key (odd ones), the ID column and the label left out; and as
// arrays in source-column order.
func records(g testmodel.TableGolden, features []string) (objects, arrays []string) {
	h := g.Test.Header
	for _, rec := range g.Test.Rows {
		var fields, values []string
		for _, f := range features {
			j := slices.Index(h, f)
			v := rec[j]
			var js string
			switch {
			case slices.Contains(tabular.DefaultNAValues(), v):
				js = "null"
			case f == "age" || f == "income":
				js = v
			default:
				q, _ := json.Marshal(v)
				js = string(q)
			}
			values = append(values, js)
			if js != "null" || j%2 == 0 {
				fields = append(fields, `"`+f+`": `+js)
			}
		}
		objects = append(objects, "{"+strings.Join(fields, ", ")+"}")
		arrays = append(arrays, "["+strings.Join(values, ", ")+"]")
	}
	return objects, arrays
}

// TestRawRecordsMatchScikitLearn decodes raw records, objects and
// arrays, and holds the probabilities to scikit-learn's Pipeline.
func TestRawRecordsMatchScikitLearn(t *testing.T) {
	m, g := tableModel(t)
	if !m.Tabular() || strings.Join(m.Features, ",") != "age,income,color,city" {
		t.Fatalf("features %v", m.Features)
	}
	objects, arrays := records(g, m.Features)
	for name, rows := range map[string][]string{"objects": objects, "arrays": arrays} {
		t.Run(name, func(t *testing.T) {
			var sc Scratch
			req, err := m.DecodePredict([]byte(`{"instances": [`+strings.Join(rows, ",")+`]}`), 10_000, &sc)
			if err != nil {
				t.Fatal(err)
			}
			p := make([]float64, 2)
			worst := 0.0
			w := m.NumFeatures()
			for i := range req.Rows {
				if _, err := m.Predict(req.X[i*w:(i+1)*w], p); err != nil {
					t.Fatal(err)
				}
				for k := range p {
					worst = max(worst, math.Abs(p[k]-g.Proba[i][k]))
				}
			}
			if req.Rows != len(g.Proba) || worst > 1e-4 {
				t.Errorf("%d rows, max |Δp| = %g against scikit-learn, want %d rows within 1e-4", req.Rows, worst, len(g.Proba))
			}
		})
	}
}

func TestRawRecordValues(t *testing.T) {
	m, _ := tableModel(t)
	predict := func(body string) ([]float64, error) {
		var sc Scratch
		req, err := m.DecodePredict([]byte(body), 10, &sc)
		if err != nil {
			return nil, err
		}
		p := make([]float64, 2)
		_, err = m.Predict(req.X[:m.NumFeatures()], p)
		return p, err
	}
	same := func(t *testing.T, a, b string) {
		t.Helper()
		pa, err := predict(a)
		if err != nil {
			t.Fatal(err)
		}
		pb, err := predict(b)
		if err != nil {
			t.Fatal(err)
		}
		if pa[1] != pb[1] {
			t.Errorf("%s gives %v, %s gives %v", a, pa[1], b, pb[1])
		}
	}
	t.Run("absent is null", func(t *testing.T) {
		same(t, `{"age": 30}`, `{"age": 30, "income": null, "color": null, "city": null}`)
	})
	t.Run("a string number in a numeric column", func(t *testing.T) {
		same(t, `{"age": "30", "color": "red"}`, `{"age": 30, "color": "red"}`)
	})
	t.Run("escaped string", func(t *testing.T) {
		same(t, `{"color": "r\u0065d"}`, `{"color": "red"}`)
	})
	t.Run("unseen category counts for nothing", func(t *testing.T) {
		same(t, `{"color": "mauve", "age": 30}`, `{"color": 8, "age": 30}`)
	})
	for _, tc := range []struct{ name, body, want string }{
		{"unknown key", `{"age": 30, "colour": "red"}`, "colour: unknown feature"},
		{"text in a numeric column", `{"age": "old"}`, `age: "old" is not a number`},
		{"an object as a value", `{"age": {}}`, "age: expected a number, a string, a boolean or null, got an object"},
		{"array too short", `{"instances": [[30, 1000]]}`, "expected 4 values (age, income, color, city), got 2"},
		{"given twice", `{"age": 1, "age": 2}`, "age: given more than once"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := predict(tc.body)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestRawRecordsDoNotAllocate(t *testing.T) {
	m, g := tableModel(t)
	objects, _ := records(g, m.Features)
	body := []byte(`{"instances": [` + strings.Join(objects[:20], ",") + `]}`)
	var sc Scratch
	p := make([]float64, 2)
	out := make([]byte, 0, 1<<16)
	run := func() {
		req, err := m.DecodePredict(body, 100, &sc)
		if err != nil {
			t.Fatal(err)
		}
		if out, err = m.AppendPredictions(out[:0], req.X, req.Rows, p); err != nil {
			t.Fatal(err)
		}
	}
	run()
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Errorf("%v allocations per request of 20 raw records, want 0", n)
	}
}

// FuzzDecodeRecords holds the raw-record decoder to encoding/json's
// judgement of the body: whatever it accepts is valid JSON, every packed
// row holds finite dense values and codes in range, and the model scores
// it.
func FuzzDecodeRecords(f *testing.F) {
	m, _ := tableModel(f)
	for _, body := range []string{
		`{"age": 30, "income": null, "color": "red", "city": "Paris"}`,
		`{"instances": [[30, null, "red", 8], {"color": "r\u0065d", "age": "31"}]}`,
		`{"age": true, "color": false}`,
		`{"age": "old"}`,
		`{"color": "\ud800"}`,
		`{"color": "a\"b", "city": ""}`,
		`{"instances": [[null, null, null, null]]}`,
		`{"age": nul}`,
		`{"color": 1e400}`,
		`{"color": -0}`,
	} {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var sc Scratch
		req, err := m.DecodePredict(body, 3, &sc)
		if err == nil {
			checkPacked(t, m, body, req.X, req.Rows)
		}
	})
}

// checkPacked holds the rows a tabular model accepted from body to
// encoding/json's judgement of it and the packed rows' invariants: finite
// dense values, integer codes from tabular.MissingCode, and a score.
func checkPacked(t *testing.T, m *Model, body []byte, x []float64, rows int) {
	t.Helper()
	if !json.Valid(body) {
		t.Fatalf("accepted invalid JSON %q", body)
	}
	w, dense := m.NumFeatures(), m.enc.Dense()
	p := make([]float64, 2)
	for i := range rows {
		row := x[i*w : (i+1)*w]
		for j, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) || (j >= dense && (v < float64(tabular.MissingCode) || v != math.Trunc(v))) {
				t.Fatalf("row %d of %q: value %d is %v", i, body, j, v)
			}
		}
		if _, err := m.Predict(row, p); err != nil {
			t.Fatalf("row %d of %q: %v", i, body, err)
		}
	}
}
