package api

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/modelferry/modelferry/pkg/artifact"
	"github.com/modelferry/modelferry/pkg/testmodel"
)

// answer is one row's prediction, probabilities in the model's class order.
type answer struct {
	Label   string
	ClassID int
	Probs   []float64
}

// singleAnswer is the /predict answer to one object.
type singleAnswer struct {
	Label         string             `json:"label"`
	ClassID       int                `json:"class_id"`
	Probabilities map[string]float64 `json:"probabilities"`
}

func (s singleAnswer) answer(t *testing.T, classes []string) answer {
	t.Helper()
	if len(s.Probabilities) != len(classes) {
		t.Fatalf("probabilities of %d classes, want %d: %v", len(s.Probabilities), len(classes), s.Probabilities)
	}
	a := answer{Label: s.Label, ClassID: s.ClassID}
	for _, c := range classes {
		p, ok := s.Probabilities[c]
		if !ok {
			t.Fatalf("no probability for class %q: %v", c, s.Probabilities)
		}
		a.Probs = append(a.Probs, p)
	}
	return a
}

func irisRows(t *testing.T) [][]float64 {
	t.Helper()
	d := testmodel.Iris(t)
	rows := make([][]float64, d.Rows)
	for i := range rows {
		rows[i] = d.X[i*d.Features : (i+1)*d.Features]
	}
	return rows
}

func number(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func object(features []string, x []float64) string {
	parts := make([]string, len(x))
	for j, v := range x {
		parts[j] = strconv.Quote(features[j]) + ": " + number(v)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func array(x []float64) string {
	parts := make([]string, len(x))
	for j, v := range x {
		parts[j] = number(v)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// predictIris answers every iris row through /predict, one object per
// request, and checks each answer against the model computed here: label,
// class_id, and the probability of every class under its own name.
func predictIris(t *testing.T) (answers []answer, post func(path, body string) []byte, features, classes []string) {
	e, models := newAPILimits(t, true, 1<<20, 1000)
	m := models.m.Load()
	compiled, err := artifact.Compile(m.Meta)
	if err != nil {
		t.Fatal(err)
	}
	post = func(path, body string) []byte {
		t.Helper()
		w := do(e, "POST", path, "application/json", body)
		if w.Code != 200 {
			t.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
		return w.Body.Bytes()
	}
	p := make([]float64, m.NumClasses())
	for i, x := range irisRows(t) {
		var got singleAnswer
		if err := json.Unmarshal(post("/predict", object(m.Features, x)), &got); err != nil {
			t.Fatal(err)
		}
		a := got.answer(t, m.Classes)
		k := compiled.PredictProba(x, p)
		if a.ClassID != k || a.Label != m.Classes[k] || !slices.Equal(a.Probs, p) {
			t.Fatalf("row %d: /predict answered %+v, the model says class %d (%s), probabilities %v", i, a, k, m.Classes[k], p)
		}
		answers = append(answers, a)
	}
	return answers, post, m.Features, m.Classes
}

// TestPredictBatchesKeepRowOrder sends iris through /predict in batches of
// arrays and of objects: every row answers as it does alone.
func TestPredictBatchesKeepRowOrder(t *testing.T) {
	want, post, features, classes := predictIris(t)
	rows := irisRows(t)
	for _, size := range []int{1, 7, len(rows)} {
		for _, form := range []string{"arrays", "objects"} {
			t.Run(fmt.Sprintf("%s in batches of %d", form, size), func(t *testing.T) {
				for start := 0; start < len(rows); start += size {
					end := min(start+size, len(rows))
					items := make([]string, 0, end-start)
					for _, x := range rows[start:end] {
						if form == "arrays" {
							items = append(items, array(x))
						} else {
							items = append(items, object(features, x))
						}
					}
					var got struct {
						Predictions []singleAnswer `json:"predictions"`
					}
					if err := json.Unmarshal(post("/predict", `{"instances": [`+strings.Join(items, ", ")+`]}`), &got); err != nil {
						t.Fatal(err)
					}
					if len(got.Predictions) != end-start {
						t.Fatalf("%d predictions for %d rows", len(got.Predictions), end-start)
					}
					for i, p := range got.Predictions {
						if a := p.answer(t, classes); !equalAnswers(a, want[start+i]) {
							t.Fatalf("row %d: batch answered %+v, alone %+v", start+i, a, want[start+i])
						}
					}
				}
			})
		}
	}
}

func equalAnswers(a, b answer) bool {
	return a.Label == b.Label && a.ClassID == b.ClassID && slices.Equal(a.Probs, b.Probs)
}

type oipInput struct {
	Name     string  `json:"name"`
	Shape    []int64 `json:"shape"`
	Datatype string  `json:"datatype"`
	Data     any     `json:"data"`
}

// oipInputs builds the inputs of rows in one of the protocol's forms.
func oipInputs(form, datatype string, features []string, rows [][]float64) []oipInput {
	n := int64(len(rows))
	switch form {
	case "one [N, F] tensor, flat":
		var flat []float64
		for _, x := range rows {
			flat = append(flat, x...)
		}
		return []oipInput{{Name: "input", Shape: []int64{n, int64(len(features))}, Datatype: datatype, Data: flat}}
	case "one [N, F] tensor, nested":
		return []oipInput{{Name: "input", Shape: []int64{n, int64(len(features))}, Datatype: datatype, Data: rows}}
	}
	// One input per feature, in reverse order: names place them, not
	// positions.
	var ins []oipInput
	for j := len(features) - 1; j >= 0; j-- {
		col := make([]float64, len(rows))
		for i, x := range rows {
			col[i] = x[j]
		}
		shape := []int64{n}
		if form == "one [N, 1] input per feature" {
			shape = []int64{n, 1}
		}
		ins = append(ins, oipInput{Name: features[j], Shape: shape, Datatype: datatype, Data: col})
	}
	return ins
}

// TestOIPMatchesPredictOnIris sends every iris row through the Open
// Inference Protocol in each input form, datatype and batch size, and
// checks every output value against /predict's answer for the same row.
func TestOIPMatchesPredictOnIris(t *testing.T) {
	want, post, features, classes := predictIris(t)
	rows := irisRows(t)
	k := len(classes)
	for _, form := range []string{"one [N, F] tensor, flat", "one [N, F] tensor, nested", "one [N] input per feature", "one [N, 1] input per feature"} {
		for _, datatype := range []string{"FP32", "FP64"} {
			for _, size := range []int{1, 7, len(rows)} {
				t.Run(fmt.Sprintf("%s, %s, batches of %d", form, datatype, size), func(t *testing.T) {
					for start := 0; start < len(rows); start += size {
						end := min(start+size, len(rows))
						n := end - start
						body, err := json.Marshal(map[string]any{"inputs": oipInputs(form, datatype, features, rows[start:end])})
						if err != nil {
							t.Fatal(err)
						}
						var r struct {
							Outputs []struct {
								Name     string          `json:"name"`
								Shape    []int64         `json:"shape"`
								Datatype string          `json:"datatype"`
								Data     json.RawMessage `json:"data"`
							} `json:"outputs"`
						}
						if err := json.Unmarshal(post("/v2/models/iris/infer", string(body)), &r); err != nil {
							t.Fatal(err)
						}
						var labels []string
						var ids []int
						var probs []float64
						for _, o := range r.Outputs {
							var err error
							switch o.Name {
							case "label":
								err = json.Unmarshal(o.Data, &labels)
							case "class_id":
								err = json.Unmarshal(o.Data, &ids)
							case "probabilities":
								err = json.Unmarshal(o.Data, &probs)
								if !slices.Equal(o.Shape, []int64{int64(n), int64(k)}) {
									t.Errorf("probabilities shape %v, want [%d %d]", o.Shape, n, k)
								}
							}
							if err != nil {
								t.Fatalf("output %s: %v", o.Name, err)
							}
						}
						if len(labels) != n || len(ids) != n || len(probs) != n*k {
							t.Fatalf("rows %d-%d: %d labels, %d class ids, %d probabilities", start, end-1, len(labels), len(ids), len(probs))
						}
						for i := range n {
							got := answer{Label: labels[i], ClassID: ids[i], Probs: probs[i*k : (i+1)*k]}
							if !equalAnswers(got, want[start+i]) {
								t.Fatalf("row %d: OIP answered %+v, /predict %+v", start+i, got, want[start+i])
							}
						}
					}
				})
			}
		}
	}
}
