package serving

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// oipRequest is an inference request as the contract reads it.
type oipRequest struct {
	id      *string
	rows    int
	x       []float64
	outputs []Output
}

// fields checks an object's keys: each allowed, none twice.
func fields(v any, allowed ...string) (map[string]any, error) {
	obj, ok := v.(members)
	if !ok {
		return nil, errors.New("not an object")
	}
	m := map[string]any{}
	for _, f := range obj {
		if !slices.Contains(allowed, f.key) {
			return nil, fmt.Errorf("unknown field %q", f.key)
		}
		if _, dup := m[f.key]; dup {
			return nil, fmt.Errorf("%q twice", f.key)
		}
		m[f.key] = f.val
	}
	return m, nil
}

// depth is how many containers nest in v.
func depth(v any) int {
	d := 0
	switch v := v.(type) {
	case members:
		for _, f := range v {
			d = max(d, depth(f.val))
		}
		return d + 1
	case []any:
		for _, e := range v {
			d = max(d, depth(e))
		}
		return d + 1
	}
	return 0
}

// parametersOK: absent, null, or an object nested at most 32 deep.
func parametersOK(v any, present bool) bool {
	if !present || v == nil {
		return true
	}
	_, isObj := v.(members)
	return isObj && depth(v) <= 32
}

var dimension = regexp.MustCompile(`^[0-9]+$`)

// contractInfer reads an OIP REST inference request the slow, obvious way,
// by the contract (the protocol's JSON objects; inputs as one [N, F]
// tensor or one [N] or [N, 1] input per feature; data flat, or nested
// exactly as the shape; FP32 or FP64 numbers), for the fuzzer to compare.
func contractInfer(body []byte, features []string, maxRows int) (oipRequest, error) {
	var req oipRequest
	if !json.Valid(body) {
		return req, errors.New("not JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	v, err := readValue(dec)
	if err != nil {
		return req, err
	}
	top, err := fields(v, "id", "parameters", "inputs", "outputs")
	if err != nil {
		return req, err
	}
	if id, ok := top["id"]; ok && id != nil {
		s, ok := id.(string)
		if !ok {
			return req, errors.New("id not a string")
		}
		req.id = &s
	}
	if p, ok := top["parameters"]; !parametersOK(p, ok) {
		return req, errors.New("bad parameters")
	}
	if outs, ok := top["outputs"]; ok && outs != nil {
		arr, ok := outs.([]any)
		if !ok {
			return req, errors.New("outputs not an array")
		}
		for _, o := range arr {
			f, err := fields(o, "name", "parameters")
			if err != nil {
				return req, err
			}
			if p, ok := f["parameters"]; !parametersOK(p, ok) {
				return req, errors.New("bad output parameters")
			}
			name, _ := f["name"].(string)
			out, ok := OutputByName(name)
			if !ok || slices.Contains(req.outputs, out) {
				return req, errors.New("bad output name")
			}
			req.outputs = append(req.outputs, out)
		}
	}
	ins, ok := top["inputs"].([]any)
	if !ok || len(ins) == 0 {
		return req, errors.New("inputs: not a non-empty array")
	}
	tensor, columns := false, false
	seen := map[string]bool{}
	for _, in := range ins {
		f, err := fields(in, "name", "shape", "datatype", "parameters", "data")
		if err != nil {
			return req, err
		}
		if p, ok := f["parameters"]; !parametersOK(p, ok) {
			return req, errors.New("bad input parameters")
		}
		name, ok1 := f["name"].(string)
		dt, ok2 := f["datatype"].(string)
		rawShape, ok3 := f["shape"].([]any)
		data, ok4 := f["data"].([]any)
		if !ok1 || !ok2 || !ok3 || !ok4 || len(rawShape) > maxRank {
			return req, errors.New("an input field is missing or of the wrong type")
		}
		dt = strings.ToUpper(dt)
		if !slices.Contains([]string{"FP32", "FP64", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64", "BOOL"}, dt) {
			return req, errors.New("datatype")
		}
		var shape []int64
		for _, d := range rawShape {
			n, ok := d.(json.Number)
			if !ok || !dimension.MatchString(string(n)) {
				return req, errors.New("shape")
			}
			v, err := strconv.ParseInt(string(n), 10, 64)
			if err != nil {
				return req, err
			}
			shape = append(shape, v)
		}
		j := slices.Index(features, name)
		var base, stride, n int
		switch {
		case j >= 0 && !tensor:
			if len(shape) < 1 || len(shape) > 2 || len(shape) == 2 && shape[1] != 1 || seen[name] {
				return req, errors.New("column shape")
			}
			if !columns {
				if shape[0] < 1 || shape[0] > int64(maxRows) {
					return req, errors.New("rows")
				}
				req.rows = int(shape[0])
				req.x = make([]float64, req.rows*len(features))
			} else if shape[0] != int64(req.rows) {
				return req, errors.New("rows differ")
			}
			columns, seen[name] = true, true
			base, stride, n = j, len(features), req.rows
		case j < 0 && !tensor && !columns:
			rows := int64(1) // [F]
			if len(shape) == 2 {
				rows = shape[0]
			}
			if len(shape) < 1 || len(shape) > 2 || shape[len(shape)-1] != int64(len(features)) || rows < 1 || rows > int64(maxRows) {
				return req, errors.New("tensor shape")
			}
			tensor = true
			req.rows = int(rows)
			req.x = make([]float64, req.rows*len(features))
			base, stride, n = 0, 1, req.rows*len(features)
		default:
			return req, errors.New("mixed forms")
		}
		var values []any
		if len(data) > 0 && len(shape) > 1 {
			if _, nested := data[0].([]any); nested {
				if values, err = unnest(data, shape); err != nil {
					return req, err
				}
			}
		}
		if values == nil {
			values = data
		}
		if len(values) != n {
			return req, errors.New("value count")
		}
		for i, v := range values {
			x, err := contractValue(v, dt)
			if err != nil {
				return req, err
			}
			req.x[base+i*stride] = x
		}
	}
	if columns && len(seen) != len(features) {
		return req, errors.New("missing feature")
	}
	return req, nil
}

// integerRange is each integer datatype's range, within ±2^53.
var integerRange = map[string][2]int64{
	"INT8": {math.MinInt8, math.MaxInt8}, "INT16": {math.MinInt16, math.MaxInt16}, "INT32": {math.MinInt32, math.MaxInt32},
	"INT64": {-1 << 53, 1 << 53}, "UINT8": {0, math.MaxUint8}, "UINT16": {0, math.MaxUint16}, "UINT32": {0, math.MaxUint32}, "UINT64": {0, 1 << 53},
}

var integerLiteral = regexp.MustCompile(`^-?[0-9]+$`)

// contractValue is a value of datatype dt: a number (FP32 within its
// range), an integer literal in range, or a boolean for BOOL.
func contractValue(v any, dt string) (float64, error) {
	if dt == "BOOL" {
		b, ok := v.(bool)
		if !ok {
			return 0, errors.New("not a boolean")
		}
		if b {
			return 1, nil
		}
		return 0, nil
	}
	num, ok := v.(json.Number)
	if !ok {
		return 0, errors.New("not a number")
	}
	if r, ok := integerRange[dt]; ok {
		n, err := strconv.ParseInt(string(num), 10, 64)
		if !integerLiteral.MatchString(string(num)) || err != nil || n < r[0] || n > r[1] {
			return 0, errors.New("not an integer in range")
		}
		return float64(n), nil
	}
	x, err := strconv.ParseFloat(string(num), 64)
	if err != nil || dt == "FP32" && math.Abs(x) > math.MaxFloat32 {
		return 0, errors.New("out of range")
	}
	return x, nil
}

// unnest flattens data nested exactly as shape.
func unnest(data []any, shape []int64) ([]any, error) {
	if int64(len(data)) != shape[0] {
		return nil, errors.New("dimension")
	}
	if len(shape) == 1 {
		return data, nil
	}
	var out []any
	for _, e := range data {
		sub, ok := e.([]any)
		if !ok {
			return nil, errors.New("not nested")
		}
		flat, err := unnest(sub, shape[1:])
		if err != nil {
			return nil, err
		}
		out = append(out, flat...)
	}
	return out, nil
}

// FuzzDecodeInfer checks the OIP decoder against contractInfer: the same
// requests accepted, with the same rows, values, id and outputs; and every
// refusal an *InputError.
func FuzzDecodeInfer(f *testing.F) {
	m := irisModel(f)
	for _, seed := range []string{
		oneRow,
		`{"id": "42", "inputs": [{"name": "input0", "shape": [2, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3]}], "outputs": [{"name": "label"}]}`,
		`{"inputs": [{"data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]], "datatype": "fp64", "shape": [2, 4], "name": "x", "parameters": {"a": [1]}}], "parameters": null}`,
		`{"inputs": [{"name": "sepal_length", "shape": [2, 1], "datatype": "FP64", "data": [[5.1], [6.7]]}, {"name": "sepal_width", "shape": [2], "datatype": "FP64", "data": [3.5, 3.0]},
			{"name": "petal_length", "shape": [2], "datatype": "FP64", "data": [1.4, 5.2]}, {"name": "petal_width", "shape": [2], "datatype": "FP64", "data": [0.2, 2.3]}]}`,
		`{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP64", "data": [0, 0, 0, 0, 0, 0, 0, 0]}]}`,
		`{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP64", "data": [[[[[[[[[[0]]]]]]]]]]}]}`,
		`{"id": "a\u0062\n", "inputs": [{"n\u0061me": "input", "shape": [1, 4], "datatype": "FP32", "data": [1e38, -1e-45, 0, -0]}]}`,
		`{"inputs": [{"name": "input", "shape": [4], "datatype": "INT8", "data": [-128, 127, 0, -0]}]}`,
		`{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "UINT64", "data": [9007199254740992, 0, 1, 2]}]}`,
		`{"inputs": [{"name": "input", "shape": [2, 4], "datatype": "BOOL", "data": [[true, false, true, true], [false, false, false, true]]}]}`,
		`{"inputs": [{"name": "sepal_length", "shape": [1], "datatype": "INT32", "data": [5]}, {"name": "sepal_width", "shape": [1], "datatype": "UINT16", "data": [3]},
			{"name": "petal_length", "shape": [1], "datatype": "BOOL", "data": [true]}, {"name": "petal_width", "shape": [1], "datatype": "INT64", "data": [-1]}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var sc Scratch
		got, err := m.DecodeInfer(body, 50, &sc)
		want, werr := contractInfer(body, m.Features, 50)
		if err != nil {
			if _, ok := err.(*InputError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if werr == nil {
				t.Fatalf("refused %q, which the contract accepts: %v", body, err)
			}
			return
		}
		if werr != nil {
			t.Fatalf("accepted %q, which the contract refuses: %v", body, werr)
		}
		if got.Rows != want.rows || !slices.Equal(got.X, want.x) {
			t.Fatalf("%q: decoded %d rows %v, the contract %d rows %v", body, got.Rows, got.X, want.rows, want.x)
		}
		if !slices.Equal(got.Outputs, want.outputs) {
			t.Fatalf("%q: outputs %v, the contract %v", body, got.Outputs, want.outputs)
		}
		switch {
		case got.ID == nil && want.id == nil:
		case got.ID == nil || want.id == nil:
			t.Fatalf("%q: id %s, the contract %v", body, got.ID, want.id)
		default:
			var id string
			if err := json.Unmarshal(got.ID, &id); err != nil || id != *want.id {
				t.Fatalf("%q: id %s (%v), the contract %q", body, got.ID, err, *want.id)
			}
		}
		// What is accepted is answered with valid JSON.
		var ans Answers
		if err := m.PredictRows(got.X, got.Rows, &ans); err == nil {
			if out := m.AppendInfer(nil, got.ID, got.Outputs, &ans); !json.Valid(out) {
				t.Fatalf("%q answered with invalid JSON %s", body, out)
			}
		}
	})
}
