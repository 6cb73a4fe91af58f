package serving

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/modelferry/modelferry/pkg/modelstore/names"
)

// The trainer's try-it (POST /models/{m}/versions/{v}/predict) read its
// bodies with encoding/json until it answered with this package. Its
// reading stays here as the oracle of FuzzAnswerAgainstEncodingJSON: first
// the differential test of the two paths while both served, now a
// regression of this package's scanner against encoding/json's reading.

// jsonAnswer is the answer the encoding/json reading gives: status 200
// and the body, or the error's status and message.
type jsonAnswer struct {
	status int
	body   string
}

// jsonModel is what the reading needs of a model.
type jsonModel struct {
	name, version string
	features      []string
	classes       []string
	index         map[string]int
	m             *Model // its compiled weights score the rows
}

func newJSONModel(m *Model) *jsonModel {
	jm := &jsonModel{name: m.Name, version: m.Version, features: m.Features, classes: m.Classes,
		index: map[string]int{}, m: m}
	for i, f := range m.Features {
		jm.index[f] = i
	}
	return jm
}

type jsonError struct {
	status int
	msg    string
}

func (e *jsonError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &jsonError{400, fmt.Sprintf(format, args...)}
}

func (m *jsonModel) answer(body []byte, maxRows int) jsonAnswer {
	req, err := m.decode(body, maxRows)
	if err != nil {
		var je *jsonError
		if errors.As(err, &je) {
			return jsonAnswer{je.status, je.msg}
		}
		return jsonAnswer{500, err.Error()}
	}
	type modelRef struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	ref := modelRef{Name: m.name, Version: m.version}
	preds := make([]jsonPrediction, req.rows)
	for i := range preds {
		preds[i], err = m.predictRow(req.x[i*len(m.features) : (i+1)*len(m.features)])
		if err != nil {
			if req.batch {
				err = fmt.Errorf("instances[%d]: %w", i, err)
			}
			return jsonAnswer{400, err.Error()}
		}
	}
	var out []byte
	if !req.batch {
		out, err = json.Marshal(struct {
			jsonPrediction
			Model modelRef `json:"model"`
		}{preds[0], ref})
	} else {
		out, err = json.Marshal(struct {
			Predictions []jsonPrediction `json:"predictions"`
			Model       modelRef         `json:"model"`
		}{preds, ref})
	}
	if err != nil {
		return jsonAnswer{500, err.Error()}
	}
	return jsonAnswer{200, string(out)}
}

// jsonPrediction is one row's answer; probabilities keep the class order.
type jsonPrediction struct {
	Label         string            `json:"label"`
	ClassID       int               `json:"class_id"`
	Probabilities jsonProbabilities `json:"probabilities"`
}

// jsonProbabilities is {class: p} in the model's class order.
type jsonProbabilities struct {
	classes []string
	p       []float64
}

func (p jsonProbabilities) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for k, c := range p.classes {
		if k > 0 {
			b = append(b, ',')
		}
		name, err := json.Marshal(c)
		if err != nil {
			return nil, err
		}
		b = append(b, name...)
		b = append(b, ':')
		b = strconv.AppendFloat(b, p.p[k], 'g', -1, 64)
	}
	return append(b, '}'), nil
}

func (m *jsonModel) predictRow(x []float64) (jsonPrediction, error) {
	p := make([]float64, len(m.classes))
	k, err := m.m.Score(x, p)
	if err != nil {
		return jsonPrediction{}, err
	}
	return jsonPrediction{Label: m.classes[k], ClassID: k, Probabilities: jsonProbabilities{m.classes, p}}, nil
}

type jsonRequest struct {
	batch bool
	rows  int
	x     []float64
}

// decode reads one object of named features, or {"instances": [...]} of
// such objects or of arrays in feature order.
func (m *jsonModel) decode(body []byte, maxRows int) (jsonRequest, error) {
	var top map[string]json.RawMessage
	if len(bytes.TrimSpace(body)) == 0 {
		return jsonRequest{}, badRequest(`empty body: send a JSON object of named features, or {"instances": [...]}`)
	}
	if err := json.Unmarshal(body, &top); err != nil {
		return jsonRequest{}, jsonProblem(body, err)
	}
	if top == nil { // null, which Unmarshal takes for an empty map
		return jsonRequest{}, badRequest("body must be a JSON object, got null")
	}
	// A batch is an object whose first key is "instances".
	var first any
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err == nil && dec.More() {
		first, _ = dec.Token()
	}
	inst := top["instances"]
	if first != "instances" {
		row, err := m.objectRow(body)
		if err != nil {
			return jsonRequest{}, badRequest("%v", err)
		}
		return jsonRequest{rows: 1, x: row}, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(inst, &items); err != nil || items == nil {
		return jsonRequest{}, badRequest("instances: expected an array, got %s", kindOf(inst))
	}
	if len(items) == 0 {
		return jsonRequest{}, badRequest("instances: empty: send at least one row")
	}
	x := make([]float64, 0, len(items)*len(m.features))
	for i, item := range items {
		if i == maxRows { // in document order, as the scanner reads
			return jsonRequest{}, &jsonError{413, fmt.Sprintf("instances: more than %d rows (PREDICTOR_MAX_BATCH); split the batch", maxRows)}
		}
		var row []float64
		var err error
		switch kindOf(item) {
		case "an object":
			row, err = m.objectRow(item)
			var fe *keyError
			if errors.As(err, &fe) && fe.key == "" {
				return jsonRequest{}, badRequest("instances[%d]: %v", i, err)
			}
			if err != nil {
				return jsonRequest{}, badRequest("instances[%d].%v", i, err)
			}
		case "an array":
			row, err = m.arrayRow(item)
			if err != nil {
				return jsonRequest{}, badRequest("instances[%d]%v", i, err)
			}
		default:
			return jsonRequest{}, badRequest("instances[%d]: expected an object of named features or an array of values, got %s", i, kindOf(item))
		}
		x = append(x, row...)
	}
	// Any key after the rows, in document order.
	if k, ok := secondKey(body); ok {
		return jsonRequest{}, badRequest("%v", fieldErr(k, `unknown field; a batch body has only "instances"`))
	}
	return jsonRequest{batch: true, rows: len(items), x: x}, nil
}

// secondKey is the second key of the object body, if it has one.
func secondKey(body []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil {
		return "", false
	}
	for i := 0; dec.More(); i++ {
		k, err := dec.Token()
		if err != nil {
			return "", false
		}
		if i == 1 {
			return k.(string), true
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return "", false
		}
	}
	return "", false
}

// objectRow reads {"feature": number, ...}; errors start with the field.
func (m *jsonModel) objectRow(raw json.RawMessage) ([]float64, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // '{', checked by the caller
		return nil, err
	}
	row := make([]float64, len(m.features))
	seen := make([]bool, len(m.features))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		i, ok := m.index[key]
		if !ok {
			return nil, fieldErr(key, "unknown feature; the model expects "+strings.Join(m.features, ", "))
		}
		if seen[i] {
			return nil, fieldErr(key, "given more than once")
		}
		if row[i], err = number(v); err != nil {
			return nil, fieldErr(key, err.Error())
		}
		seen[i] = true
	}
	for i, ok := range seen {
		if !ok {
			return nil, fmt.Errorf("%s: missing", m.features[i])
		}
	}
	return row, nil
}

// keyError is msg about a key; an empty key is not named (as
// InputError does).
type keyError struct{ key, msg string }

func fieldErr(key, msg string) error { return &keyError{key, msg} }

func (e *keyError) Error() string {
	if e.key == "" {
		return e.msg
	}
	return names.Clip(e.key) + ": " + e.msg
}

// arrayRow reads [number, ...] in feature order; errors start with the
// index ("[2]: ...") or with ": " when about the whole row.
func (m *jsonModel) arrayRow(raw json.RawMessage) ([]float64, error) {
	var vals []json.RawMessage
	if err := json.Unmarshal(raw, &vals); err != nil {
		return nil, err
	}
	// In document order, as the scanner reads: the values, then the count.
	row := make([]float64, len(m.features))
	for i, v := range vals[:min(len(vals), len(m.features))] {
		var err error
		if row[i], err = number(v); err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
	}
	if len(vals) != len(m.features) {
		got := strconv.Itoa(len(vals))
		if len(vals) > len(m.features) {
			got = "more" // the scanner stops at the first value too many
		}
		return nil, fmt.Errorf(": expected %d values (%s), got %s", len(m.features), strings.Join(m.features, ", "), got)
	}
	return row, nil
}

func number(v json.RawMessage) (float64, error) {
	if kind := kindOf(v); kind != "a number" {
		return 0, fmt.Errorf("expected a number, got %s", kind)
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil {
		return 0, fmt.Errorf("%s is out of range for float64", names.Clip(string(v)))
	}
	return f, nil
}

// kindOf names the JSON value v starts with.
func kindOf(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "the end of the body"
	}
	switch c := v[0]; {
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '-' || (c >= '0' && c <= '9'):
		return "a number"
	}
	return "invalid JSON"
}

// jsonProblem explains a body that is not one JSON object.
func jsonProblem(body []byte, err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return badRequest("malformed JSON at byte %d: %v", se.Offset, se)
	case kindOf(body) != "an object":
		return badRequest("body must be a JSON object, got %s", kindOf(body))
	}
	return badRequest("malformed JSON: %v", err)
}

// answerOf is what a service answers with this package: status and body,
// or status and error message.
func answerOf(m *Model, body []byte, maxRows int) jsonAnswer {
	var sc Scratch
	out, _, err := m.Answer(nil, body, PredictForm, maxRows, &sc, make([]float64, m.NumClasses()))
	if err != nil {
		var ie *InputError
		if !errors.As(err, &ie) {
			return jsonAnswer{500, err.Error()}
		}
		status, _ := ie.Status()
		return jsonAnswer{status, ie.Error()}
	}
	return jsonAnswer{200, string(out)}
}

// FuzzAnswerAgainstEncodingJSON feeds the same bodies to this package and
// to encoding/json's reading (the trainer's former try-it): both accept or
// both refuse; what both accept they answer with the same bytes; what both
// refuse they refuse with the same status and, when the body is valid
// JSON, the same message.
func FuzzAnswerAgainstEncodingJSON(f *testing.F) {
	m := irisModel(f)
	jm := newJSONModel(m)
	const maxRows = 3
	for _, body := range []string{
		seedBody,
		`{"instances": [[5.1, 3.5, 1.4, 0.2], {"sepal_length": 1, "sepal_width": 2, "petal_length": 3, "petal_width": 4}]}`,
		`{"instances": [[6.7, 3.0, 5.2, 2.3]]}`,
		`{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4}`,
		`{"sepal_length": 5.1, "colour": 1}`,
		`{"sepal_length": 5.1, "sepal_length": 5.1}`,
		`{"sepal_length": "5.1"}`,
		``,
		`[1, 2]`,
		`{"sepal_length": }`,
		`{"instances": []}`,
		`{"instances": null}`,
		`{"instances": [[1, 2, 3]]}`,
		`{"instances": [[1, 2, 3, 4], [1, null, 3, 4]]}`,
		`{"instances": [{"sepal_length": 1}]}`,
		`{"instances": [7]}`,
		`{"instances": [[1, 2, 3, 4]], "id": 1}`,
		`{"instances": [[1e308, -1e308, 1e308, 1e308]]}`,
		`{"sepal_length": 1e999, "sepal_width": 1, "petal_length": 1, "petal_width": 1}`,
		`{"instances": [[1,2,3,4],[1,2,3,4],[1,2,3,4],[1,2,3,4]]}`,
		`{"sepal\u005flength": 1, "sepal_width": 2, "petal_length": 3, "petal_width": 4}`,
		`{"sepal_length": 1, "instances": [[1, 2, 3, 4]]}`,
		`{"instances": [[1, 2, 3, 4]]} x`,
		`{"` + strings.Repeat("k", 150) + `": 1}`,
		`{"sepal_length": 1` + strings.Repeat("0", 400) + `e999, "sepal_width": 1, "petal_length": 1, "petal_width": 1}`,
	} {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got := answerOf(m, body, maxRows)
		want := jm.answer(body, maxRows)
		if (got.status == 200) != (want.status == 200) {
			t.Fatalf("%q: this package answers %d %s; encoding/json's reading %d %s", body, got.status, got.body, want.status, want.body)
		}
		if got.status == 200 && got.body != want.body {
			t.Fatalf("%q: this package answers\n%s\nencoding/json's reading\n%s", body, got.body, want.body)
		}
		// Past the row limit the scanner stops reading: a body broken
		// further on is too large before it is malformed.
		if got.status != want.status && (json.Valid(body) || got.status != 413) {
			t.Fatalf("%q: this package refuses with %d %s; encoding/json's reading with %d %s", body, got.status, got.body, want.status, want.body)
		}
		// Of valid JSON (RFC 8259: UTF-8 too), the same message as a client
		// reads it from the JSON error body; of invalid JSON each says
		// where it broke in its own words. (encoding/json reads invalid
		// UTF-8 as U+FFFD, three bytes for one, which moves where a long
		// key is cut.)
		if read(got.body) != read(want.body) && json.Valid(body) && utf8.Valid(body) {
			t.Fatalf("%q: this package says %q; encoding/json's reading %q", body, got.body, want.body)
		}
	})
}

// read is msg as a client reads it from a JSON error body.
func read(msg string) string {
	b, _ := json.Marshal(msg)
	var s string
	_ = json.Unmarshal(b, &s)
	return s
}
