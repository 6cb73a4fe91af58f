package serving

import (
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// oneRow is the seed's row: 5.1, 3.5, 1.4, 0.2.
const oneRow = `{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP64", "data": [5.1, 3.5, 1.4, 0.2]}]}`

func TestDecodeInferForms(t *testing.T) {
	m := irisModel(t)
	two := []float64{5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3}
	columns := func(shape, sl, sw, pl, pw string) string {
		in := func(name, data string) string {
			return `{"name": "` + name + `", "shape": ` + shape + `, "datatype": "FP32", "data": ` + data + `}`
		}
		return `{"inputs": [` + in("petal_width", pw) + `, ` + in("sepal_length", sl) + `, ` + in("sepal_width", sw) + `, ` + in("petal_length", pl) + `]}`
	}
	for _, tc := range []struct {
		name, body string
		x          []float64
		id         string
		outputs    []Output
	}{
		{"flat tensor", `{"id": "42", "inputs": [{"name": "input0", "shape": [2, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3]}]}`, two, `"42"`, nil},
		{"nested tensor", `{"inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP64", "data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}]}`, two, "", nil},
		{"fields in any order, data first", `{"outputs": [{"name": "probabilities"}, {"name": "label"}], "inputs": [{"data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]], "datatype": "FP64", "shape": [2, 4], "name": "x"}], "id": "a\"b"}`,
			two, `"a\"b"`, []Output{OutputProbabilities, OutputLabel}},
		{"one [N] input per feature", columns("[2]", "[5.1, 6.7]", "[3.5, 3.0]", "[1.4, 5.2]", "[0.2, 2.3]"), two, "", nil},
		{"one [N, 1] input per feature, flat", columns("[2, 1]", "[5.1, 6.7]", "[3.5, 3.0]", "[1.4, 5.2]", "[0.2, 2.3]"), two, "", nil},
		{"one [N, 1] input per feature, nested", columns("[2, 1]", "[[5.1], [6.7]]", "[[3.5], [3.0]]", "[[1.4], [5.2]]", "[[0.2], [2.3]]"), two, "", nil},
		{"parameters anywhere, nulls for optional fields", `{"id": null, "parameters": {"content_type": "np", "deep": {"a": [1, {"b": null}]}, "t": true}, "outputs": null,
			"inputs": [{"name": "input", "parameters": {"binary_data_size": 32}, "shape": [1, 4], "datatype": "fp64", "data": [5.1, 3.5, 1.4, 0.2]}]}`,
			two[:4], "", nil},
		{"escaped keys and names", `{"inp\u0075ts": [{"n\u0061me": "sepal_length", "shape": [1], "datatype": "FP64", "data": [5.1]},
			{"name": "sepal\u005fwidth", "shape": [1], "datatype": "FP64", "data": [3.5]},
			{"name": "petal_length", "shape": [1], "datatype": "\u0046P64", "data": [1.4]},
			{"name": "petal_width", "shape": [1], "datatype": "FP64", "data": [0.2]}]}`, two[:4], "", nil},
		{"whitespace everywhere", " {\n\t\"inputs\" : [ { \"name\" : \"input\" , \"shape\" : [ 1 , 4 ] , \"datatype\" : \"FP64\" , \"data\" : [ [ 5.1 , 3.5 , 1.4 , 0.2 ] ] } ] }\r\n", two[:4], "", nil},
		{"shape [F]: one row", `{"inputs": [{"name": "input", "shape": [4], "datatype": "FP64", "data": [5.1, 3.5, 1.4, 0.2]}]}`, two[:4], "", nil},
		{"integer and boolean datatypes", `{"inputs": [{"name": "sepal_length", "shape": [2], "datatype": "INT8", "data": [-128, 127]},
			{"name": "sepal_width", "shape": [2], "datatype": "UINT32", "data": [0, 4294967295]},
			{"name": "petal_length", "shape": [2, 1], "datatype": "BOOL", "data": [[true], [false]]},
			{"name": "petal_width", "shape": [2], "datatype": "INT64", "data": [-9007199254740992, 9007199254740992]}]}`,
			[]float64{-128, 0, 1, -9007199254740992, 127, 4294967295, 0, 9007199254740992}, "", nil},
		{"the spec's UINT32 example form", `{"id" : "42", "inputs" : [{"name" : "input0", "shape" : [ 2, 4 ], "datatype" : "UINT32", "data" : [ 1, 2, 3, 4, 5, 6, 7, 8 ]}], "outputs" : [{"name" : "label"}]}`,
			[]float64{1, 2, 3, 4, 5, 6, 7, 8}, `"42"`, []Output{OutputLabel}},
		{"outputs with parameters", `{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP64", "data": [5.1, 3.5, 1.4, 0.2]}], "outputs": [{"parameters": {"binary_data": false}, "name": "class_id"}]}`,
			two[:4], "", []Output{OutputClassID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sc Scratch
			req, err := m.DecodeInfer([]byte(tc.body), 10, &sc)
			if err != nil {
				t.Fatal(err)
			}
			if req.Rows != len(tc.x)/4 || !slices.Equal(req.X, tc.x) {
				t.Errorf("rows %d, x %v; want %v", req.Rows, req.X, tc.x)
			}
			if string(req.ID) != tc.id {
				t.Errorf("id %s, want %s", req.ID, tc.id)
			}
			if !slices.Equal(req.Outputs, tc.outputs) {
				t.Errorf("outputs %v, want %v", req.Outputs, tc.outputs)
			}
		})
	}
}

func TestDecodeInferErrors(t *testing.T) {
	m := irisModel(t)
	tensor := func(shape, datatype, data string) string {
		return `{"inputs": [{"name": "input", "shape": ` + shape + `, "datatype": "` + datatype + `", "data": ` + data + `}]}`
	}
	col := func(name, shape, data string) string {
		return `{"name": "` + name + `", "shape": ` + shape + `, "datatype": "FP64", "data": ` + data + `}`
	}
	for _, tc := range []struct {
		name, body, want string
		tooLarge         bool
	}{
		{"empty body", "", "empty body", false},
		{"not an object", `[1]`, "body must be a JSON object, got an array", false},
		{"truncated", `{"inputs": [`, "malformed JSON: unexpected end of body", false},
		{"trailing data", oneRow + `{}`, "unexpected data after the object", false},
		{"unknown field", `{"inputz": []}`, `"inputz": unknown field`, false},
		{"no inputs", `{"id": "1"}`, "inputs: missing", false},
		{"empty inputs", `{"inputs": []}`, "inputs: empty", false},
		{"inputs twice", `{"inputs": [], "inputs": []}`, "inputs: empty", false},
		{"inputs given twice", `{"inputs": ` + oneRow[11:len(oneRow)-1] + `, "inputs": []}`, "inputs: given more than once", false},
		{"id not a string", `{"id": 42, "inputs": []}`, "id: expected a string, got a number", false},
		{"bad escape in id", `{"id": "\x", "inputs": []}`, "malformed JSON", false},
		{"parameters not an object", `{"parameters": [1], "inputs": []}`, "parameters: expected an object, got an array", false},
		{"parameters nested too deeply", `{"parameters": {"a": ` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}}`, "parameters: nested too deeply", false},
		{"input not an object", `{"inputs": [1]}`, "inputs[0]: expected an object, got a number", false},
		{"missing shape", `{"inputs": [{"name": "input", "datatype": "FP64", "data": [1, 2, 3, 4]}]}`, `input "input": missing "shape"`, false},
		{"missing data", `{"inputs": [{"name": "input", "datatype": "FP64", "shape": [1, 4]}]}`, `input "input": missing "data"`, false},
		{"missing name", `{"inputs": [{"shape": [1, 4], "datatype": "FP64", "data": [1, 2, 3, 4]}]}`, `inputs[0]: missing "name"`, false},
		{"unknown input field", `{"inputs": [{"name": "input", "contents": {}}]}`, `input "input": unknown field "contents"`, false},
		{"field twice", `{"inputs": [{"name": "input", "shape": [1, 4], "shape": [1, 4]}]}`, `input "input": shape given more than once`, false},
		{"shape of a string", tensor(`"1x4"`, "FP64", "[]"), `input "input".shape: expected an array of integers, got a string`, false},
		{"negative dimension", tensor(`[-1, 4]`, "FP64", "[]"), `shape: "-1" is not a dimension`, false},
		{"fractional dimension", tensor(`[1.5, 4]`, "FP64", "[]"), `shape: "1.5" is not a dimension`, false},
		{"huge dimension", tensor(`[99999999999999999999, 4]`, "FP64", "[]"), `is not a dimension`, false},
		{"too many dimensions", tensor(`[1,1,1,1,1,1,1,1,1]`, "FP64", "[]"), "shape: more than 8 dimensions", false},
		{"shape mismatch", tensor("[1, 3]", "FP64", "[1, 2, 3]"), `input "input": shape [1,3] does not match [N, 4]`, false},
		{"zero rows", tensor("[0, 4]", "FP64", "[]"), "no rows", false},
		{"rows over limit", tensor("[11, 4]", "FP64", "[]"), "11 rows exceed the limit of 10 (PREDICTOR_MAX_BATCH)", true},
		{"shape larger than the body", `{"inputs":[{"name":"i","shape":[10,4],"datatype":"FP64","data":[]}]}`, "10 rows of 4 features need 40 values; the request holds at most 34", false},
		{"datatype", tensor("[1, 4]", "BYTES", "[1, 2, 3, 4]"), `datatype "BYTES" is not supported; use FP32, FP64, INT8 to INT64, UINT8 to UINT64 or BOOL`, false},
		{"FP16", tensor("[1, 4]", "FP16", "[1, 2, 3, 4]"), `datatype "FP16" is not supported`, false},
		{"shape [F] of another width", tensor("[3]", "FP64", "[1, 2, 3]"), "shape [3] does not match [N, 4] or [4]", false},
		{"INT8 overflow", tensor("[1, 4]", "INT8", "[1, 128, 3, 4]"), `data[1]: "128" is out of range for INT8`, false},
		{"UINT8 negative", tensor("[1, 4]", "UINT8", "[1, -1, 3, 4]"), `data[1]: "-1" is out of range for UINT8`, false},
		{"INT32 fraction", tensor("[1, 4]", "INT32", "[1, 1.5, 3, 4]"), `data[1]: "1.5" is not an integer literal (INT32)`, false},
		{"INT32 exponent", tensor("[1, 4]", "INT32", "[1, 1e2, 3, 4]"), `data[1]: "1e2" is not an integer literal (INT32)`, false},
		{"INT64 beyond 2^53", tensor("[1, 4]", "INT64", "[1, 9007199254740993, 3, 4]"), `"9007199254740993" is out of the range a model reads exactly (integers up to 2^53)`, false},
		{"INT64 overflow", tensor("[1, 4]", "UINT64", "[1, 18446744073709551615, 3, 4]"), `is out of the range a model reads exactly`, false},
		{"integer as a string", tensor("[1, 4]", "INT16", `[1, "2", 3, 4]`), `data[1]: expected an integer (INT16), got a string`, false},
		{"BOOL of a number", tensor("[1, 4]", "BOOL", "[true, 1, false, true]"), `data[1]: expected true or false (BOOL), got a number`, false},
		{"boolean for FP64", tensor("[1, 4]", "FP64", "[true, 1, 2, 3]"), `data[0]: expected a number, got a boolean`, false},
		{"too few values", tensor("[2, 4]", "FP64", "[1, 2, 3, 4, 1, 2, 3]"), "data: 7 values, shape [2,4] needs 8", false},
		{"too many values", tensor("[1, 4]", "FP64", "[1, 2, 3, 4, 5]"), "data: more than the 4 values its shape [1,4] holds", false},
		{"overflow stops the reading", tensor("[1, 4]", "FP64", "[0, 0, 0, 0, 0, 0, garbage"), "data: more than the 4 values", false},
		{"nested row too long", tensor("[2, 4]", "FP64", "[[1, 2, 3, 4, 5], [1, 2, 3, 4]]"), "data: more than 4 items at depth 1 of shape [2,4]", false},
		{"nested too many rows", tensor("[1, 4]", "FP64", "[[1, 2, 3, 4], [1, 2, 3, 4]]"), "data: more than 1 items at depth 0", false},
		{"nested row too short", tensor("[2, 4]", "FP64", "[[1, 2, 3], [1, 2, 3, 4, 5]]"), "data: 3 items at depth 1, shape [2,4] needs 4", false},
		{"nested deeper than the shape", tensor("[1, 4]", "FP64", "[[[1, 2, 3, 4]]]"), "data[0]: expected a number, got an array", false},
		{"nested deep, data first", `{"inputs": [{"data": ` + strings.Repeat("[", 9000) + strings.Repeat("]", 9000) + `, "name": "input", "shape": [1, 4], "datatype": "FP64"}]}`, "inputs[0].data: nested too deeply", false},
		{"mixed flat and nested", tensor("[2, 4]", "FP64", "[[1, 2, 3, 4], 1, 2, 3, 4]"), "expected an array", false},
		{"string value", tensor("[1, 4]", "FP64", `[1, "2", 3, 4]`), `input "input": data[1]: expected a number, got a string`, false},
		{"null value", tensor("[1, 4]", "FP64", `[1, null, 3, 4]`), "data[1]: expected a number, got null", false},
		{"NaN", tensor("[1, 4]", "FP64", `[1, NaN, 3, 4]`), "data[1]: NaN and Infinity are not numbers", false},
		{"FP64 overflow", tensor("[1, 4]", "FP64", `[1, 1e999, 3, 4]`), "data[1]: 1e999 is out of range for float64", false},
		{"FP32 overflow", tensor("[1, 4]", "FP32", `[1, 1e300, 3, 4]`), "data[1]: 1e+300 is out of range for FP32", false},
		{"data not an array", tensor("[1, 4]", "FP64", `{"a": 1}`), `input "input".data: expected an array, got an object`, false},
		{"feature twice", `{"inputs": [` + col("sepal_length", "[1]", "[1]") + `, ` + col("sepal_length", "[1]", "[1]") + `]}`, `input "sepal_length": given more than once`, false},
		{"feature missing", `{"inputs": [` + col("sepal_length", "[1]", "[1]") + `]}`, `input "sepal_width": missing`, false},
		{"feature rows differ", `{"inputs": [` + col("sepal_length", "[1]", "[1]") + `, ` + col("sepal_width", "[2]", "[1, 2]") + `]}`, "2 rows, the inputs before it have 1", false},
		{"feature shape", `{"inputs": [` + col("sepal_length", "[1, 2]", "[1, 2]") + `]}`, "shape [1,2] does not match [N] or [N, 1]", false},
		{"unknown feature after features", `{"inputs": [` + col("sepal_length", "[1]", "[1]") + `, ` + col("color", "[1]", "[1]") + `]}`, `input "color": unknown feature`, false},
		{"feature after a tensor", `{"inputs": [` + oneRow[12:len(oneRow)-2] + `, ` + col("sepal_length", "[1]", "[1]") + `]}`, `input "sepal_length": unknown feature`, false},
		{"two tensors", `{"inputs": [` + oneRow[12:len(oneRow)-2] + `, ` + oneRow[12:len(oneRow)-2] + `]}`, "a second tensor", false},
		{"unknown output", `{"outputs": [{"name": "logits"}], "inputs": []}`, `output "logits": unknown; this model has label, class_id, probabilities`, false},
		{"output twice", `{"outputs": [{"name": "label"}, {"name": "label"}]}`, `output "label": asked more than once`, false},
		{"output without a name", `{"outputs": [{}]}`, `outputs[0]: missing "name"`, false},
		{"long names are cut", `{"inputs": [{"name": "` + strings.Repeat("x", 5000) + `", "shape": [1]}]}`, `… (5000 bytes)`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sc Scratch
			_, err := m.DecodeInfer([]byte(tc.body), 10, &sc)
			ie, ok := err.(*InputError)
			if !ok {
				t.Fatalf("got %v (%T), want an *InputError", err, err)
			}
			if !strings.Contains(ie.Error(), tc.want) || ie.TooLarge != tc.tooLarge {
				t.Errorf("error %q (too large %v), want %q (%v)", ie, ie.TooLarge, tc.want, tc.tooLarge)
			}
			if len(ie.Error()) > 400 {
				t.Errorf("error of %d bytes", len(ie.Error()))
			}
		})
	}
}

// hostileBodies are requests built to cost a generic decoder far more
// than their size: values beyond the shape, nesting beyond it, shapes
// promising more than the body holds.
func hostileBodies() map[string][]byte {
	zeros := strings.TrimSuffix(strings.Repeat("0,", 4194204), ",")
	deep := strings.Repeat("[", 9000) + strings.Repeat("]", 9000)
	return map[string][]byte{
		"4M zeros for shape [1,4]":         []byte(`{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP64","data":[` + zeros + `]}]}`),
		"4M zeros before the shape":        []byte(`{"inputs":[{"name":"input","datatype":"FP64","data":[` + zeros + `],"shape":[1,4]}]}`),
		"arrays 9000 deep in data":         []byte(`{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP64","data":` + deep + `}]}`),
		"arrays 9000 deep before shape":    []byte(`{"inputs":[{"data":` + deep + `,"name":"input","shape":[1,4],"datatype":"FP64"}]}`),
		"arrays 9000 deep in parameters":   []byte(`{"parameters":{"p":` + deep + `},"inputs":[]}`),
		"shape of 10000 rows, no data":     []byte(`{"inputs":[{"name":"input","shape":[10000,4],"datatype":"FP64","data":[]}]}`),
		"4M zeros in one feature's column": []byte(`{"inputs":[{"name":"sepal_length","shape":[1],"datatype":"FP64","data":[` + zeros + `]}]}`),
	}
}

// TestHostileInferBodiesAreCheap is the regression test of the OIP memory
// amplification: an 8 MB body once took the predictor from 21 MB to
// 375 MB. Decoding any of these now allocates almost nothing beyond the
// body.
func TestHostileInferBodiesAreCheap(t *testing.T) {
	m := irisModel(t)
	for name, body := range hostileBodies() {
		t.Run(name, func(t *testing.T) {
			var sc Scratch
			allocated := allocatedBy(func() {
				if _, err := m.DecodeInfer(body, 10000, &sc); err == nil {
					t.Error("accepted")
				}
			})
			if allocated > 64<<10 {
				t.Errorf("decoding %d bytes allocated %d bytes", len(body), allocated)
			}
		})
	}
}

// allocatedBy is the bytes f allocates on the heap.
func allocatedBy(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestInferHotPathDoesNotAllocate(t *testing.T) {
	m := irisModel(t)
	for _, rows := range []int{1, 100} {
		body := inferBody(rows)
		var sc Scratch
		var ans Answers
		out := make([]byte, 0, 64<<10)
		allocs := testing.AllocsPerRun(100, func() {
			req, err := m.DecodeInfer(body, 1000, &sc)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.PredictRows(req.X, req.Rows, &ans); err != nil {
				t.Fatal(err)
			}
			out = m.AppendInfer(out[:0], req.ID, req.Outputs, &ans)
		})
		if allocs != 0 {
			t.Errorf("%d rows: decode + predict + encode allocates %v times per request", rows, allocs)
		}
	}
}

// inferBody is an OIP request of rows iris rows in one [N, 4] tensor.
func inferBody(rows int) []byte {
	return []byte(`{"id": "bench", "inputs": [{"name": "input", "shape": [` + strconv.Itoa(rows) + `, 4], "datatype": "FP64", "data": [` +
		strings.TrimSuffix(strings.Repeat("5.1, 3.5, 1.4, 0.2, ", rows), ", ") + `]}]}`)
}

func TestAppendInfer(t *testing.T) {
	m := irisModel(t)
	var sc Scratch
	req, err := m.DecodeInfer([]byte(`{"id": "7", "inputs": [{"name": "input", "shape": [2, 4], "datatype": "FP64", "data": [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3]}]}`), 10, &sc)
	if err != nil {
		t.Fatal(err)
	}
	var ans Answers
	if err := m.PredictRows(req.X, req.Rows, &ans); err != nil {
		t.Fatal(err)
	}
	var got struct {
		ModelName    string `json:"model_name"`
		ModelVersion string `json:"model_version"`
		ID           string `json:"id"`
		Outputs      []struct {
			Name     string          `json:"name"`
			Datatype string          `json:"datatype"`
			Shape    []int64         `json:"shape"`
			Data     json.RawMessage `json:"data"`
		} `json:"outputs"`
	}
	out := m.AppendInfer(nil, req.ID, req.Outputs, &ans)
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	if got.ModelName != "iris" || got.ModelVersion != m.Version || got.ID != "7" || len(got.Outputs) != 3 {
		t.Fatalf("answer %s", out)
	}
	want := []struct {
		name, datatype string
		shape          []int64
		data           string
	}{
		{"label", "BYTES", []int64{2}, `["setosa","virginica"]`},
		{"class_id", "INT64", []int64{2}, `[0,2]`},
		{"probabilities", "FP64", []int64{2, 3}, ""},
	}
	for i, o := range got.Outputs {
		if o.Name != want[i].name || o.Datatype != want[i].datatype || !slices.Equal(o.Shape, want[i].shape) {
			t.Errorf("output %d: %s %s %v", i, o.Name, o.Datatype, o.Shape)
		}
		if want[i].data != "" && string(o.Data) != want[i].data {
			t.Errorf("output %s: %s, want %s", o.Name, o.Data, want[i].data)
		}
	}
	var probs []float64
	if err := json.Unmarshal(got.Outputs[2].Data, &probs); err != nil || !slices.Equal(probs, ans.P) {
		t.Errorf("probabilities %v, want %v (%v)", probs, ans.P, err)
	}

	only := m.AppendInfer(nil, nil, []Output{OutputClassID}, &ans)
	if string(only) != `{"model_name":"iris","model_version":"`+m.Version+`","outputs":[{"name":"class_id","datatype":"INT64","shape":[2],"data":[0,2]}]}` {
		t.Errorf("one output asked: %s", only)
	}
}

// TestPlaceBoundaries pins the edges of the shape and size checks
// that gRPC requests meet through NewInputs.
func TestPlaceBoundaries(t *testing.T) {
	m := irisModel(t)
	for _, tc := range []struct {
		name      string
		maxValues int
		input     string
		shape     []int64
		want      string // "" means accepted
	}{
		{"rows × features exactly the values held", 8, "input", []int64{2, 4}, ""},
		{"one row more than the values held", 8, "input", []int64{3, 4}, "3 rows of 4 features need 12 values; the request holds at most 8"},
		{"feature of shape [N, 1]", 8, "sepal_length", []int64{2, 1}, ""},
		{"feature of three dimensions", 8, "sepal_length", []int64{2, 1, 1}, "shape [2,1,1] does not match [N] or [N, 1]"},
		{"feature of no dimensions", 8, "sepal_length", []int64{}, "does not match [N] or [N, 1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sc Scratch
			in := m.NewInputs(10, tc.maxValues, &sc)
			_, err := in.Place(0, tc.input, tc.shape, FP64)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("rejected: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDatatypeString(t *testing.T) {
	for _, tc := range []struct {
		dt   Datatype
		want string
	}{
		{FP32, "FP32"}, {BOOL, "BOOL"}, {BYTES, "BYTES"}, {0, "unknown"}, {BYTES + 1, "unknown"}, {255, "unknown"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.dt.String(); got != tc.want {
				t.Errorf("Datatype(%d).String() = %q, want %q", uint8(tc.dt), got, tc.want)
			}
		})
	}
}

// TestDecodeInferEscapes checks \u escapes in the strings the decoder
// reads (id) and in those it only skips (parameters): every hex digit
// class is accepted, anything short of four hex digits is malformed.
func TestDecodeInferEscapes(t *testing.T) {
	m := irisModel(t)
	inputs := oneRow[1 : len(oneRow)-1]
	for _, tc := range []struct {
		name, esc string
		ok        bool
	}{
		{"digits", `\u0039\u0030`, true},
		{"lower case", `\u00af\u00e9`, true},
		{"upper case", `\u00AF\u00E9`, true},
		{"every other escape", `\" \\ \/ \b \f \n \r \t`, true},
		{"not hex", `\u00zz`, false},
		{"hex then not", `\u0g00`, false},
		{"past f", `\u00fg`, false},
		{"past F", `\u00FG`, false},
		{"below 0", `\u00/0`, false},
		{"above 9", `\u00:0`, false},
		{"short", `\u00`, false},
	} {
		for _, where := range []string{`{"id": "%s", %s}`, `{"parameters": {"k": "%s"}, %s}`} {
			body := fmt.Sprintf(where, tc.esc, inputs)
			t.Run(tc.name+"/"+where[2:4], func(t *testing.T) {
				var sc Scratch
				_, err := m.DecodeInfer([]byte(body), 10, &sc)
				if tc.ok && err != nil {
					t.Fatalf("%s: %v", body, err)
				}
				if !tc.ok && (err == nil || !strings.Contains(err.Error(), "malformed JSON")) {
					t.Fatalf("%s: got %v, want malformed JSON", body, err)
				}
			})
		}
	}
}
