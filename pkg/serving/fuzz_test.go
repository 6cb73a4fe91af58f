package serving

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"testing"
)

// contractRequest is a /predict body as the contract reads it.
type contractRequest struct {
	batch bool
	rows  [][]float64 // feature values in the model's order
}

// errTooLarge marks a batch over the row limit (413, not 400).
var errTooLarge = errors.New("too many rows")

// contractDecode reads a /predict body the slow, obvious way, with
// encoding/json, by the contract: valid JSON; an object holding only
// "instances", a non-empty array of at most maxRows rows, or else one row;
// a row is an object with each feature exactly once and nothing else, or
// an array of one value per feature in order; every value a JSON number
// that fits a float64. It is the fuzzer's oracle.
func contractDecode(body []byte, features []string, maxRows int) (contractRequest, error) {
	if !json.Valid(body) {
		return contractRequest{}, errors.New("not JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	v, err := readValue(dec)
	if err != nil {
		return contractRequest{}, err
	}
	top, ok := v.(members)
	if !ok {
		return contractRequest{}, errors.New("not an object")
	}
	switch i := slices.IndexFunc(top, func(m member) bool { return m.key == "instances" }); {
	case i < 0:
		row, err := objectRow(top, features)
		return contractRequest{rows: [][]float64{row}}, err
	case i > 0:
		return contractRequest{}, errors.New("a batch holds only instances")
	}
	// Errors in document order: the rows, then any key after them.
	items, ok := top[0].val.([]any)
	if !ok || len(items) == 0 {
		return contractRequest{}, errors.New("instances: not a non-empty array")
	}
	req := contractRequest{batch: true}
	for i, item := range items {
		if i == maxRows {
			return contractRequest{}, errTooLarge
		}
		var row []float64
		switch item := item.(type) {
		case members:
			row, err = objectRow(item, features)
		case []any:
			row, err = arrayRow(item, len(features))
		default:
			err = errors.New("a row is an object or an array")
		}
		if err != nil {
			return contractRequest{}, fmt.Errorf("instances[%d]: %w", i, err)
		}
		req.rows = append(req.rows, row)
	}
	if len(top) > 1 {
		return contractRequest{}, errors.New("a batch holds only instances")
	}
	return req, nil
}

// members is a JSON object with its keys in order, duplicates kept (which
// decoding into a map would hide).
type members []member

type member struct {
	key string
	val any
}

func readValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		var obj members
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := readValue(dec)
			if err != nil {
				return nil, err
			}
			obj = append(obj, member{k.(string), v})
		}
		_, err := dec.Token()
		return obj, err
	case json.Delim('['):
		arr := []any{}
		for dec.More() {
			v, err := readValue(dec)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err := dec.Token()
		return arr, err
	}
	return tok, nil
}

func value(v any) (float64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("%v is not a number", v)
	}
	return strconv.ParseFloat(string(n), 64)
}

func objectRow(obj members, features []string) ([]float64, error) {
	row := make([]float64, len(features))
	seen := make([]bool, len(features))
	for _, m := range obj {
		j := slices.Index(features, m.key)
		if j < 0 || seen[j] {
			return nil, fmt.Errorf("%q: unknown or repeated", m.key)
		}
		seen[j] = true
		var err error
		if row[j], err = value(m.val); err != nil {
			return nil, err
		}
	}
	if slices.Contains(seen, false) {
		return nil, errors.New("a feature is missing")
	}
	return row, nil
}

func arrayRow(arr []any, width int) ([]float64, error) {
	if len(arr) != width {
		return nil, fmt.Errorf("%d values, want %d", len(arr), width)
	}
	row := make([]float64, width)
	for j, v := range arr {
		var err error
		if row[j], err = value(v); err != nil {
			return nil, err
		}
	}
	return row, nil
}

// FuzzDecodePredict holds the specialised decoder to the contract, read
// with encoding/json (contractDecode), both ways: it accepts exactly the
// bodies the contract accepts, with the same values for every feature of
// every row, and it never panics. Interesting inputs found by fuzzing are
// kept in testdata/fuzz/FuzzDecodePredict, which plain `go test` replays.
func FuzzDecodePredict(f *testing.F) {
	m := irisModel(f)
	const maxRows = 3
	for _, body := range []string{
		seedBody,
		`{"instances": [[5.1, 3.5, 1.4, 0.2], {"sepal_length": 1, "sepal_width": 2, "petal_length": 3, "petal_width": 4}]}`,
		`{"sepal_length": 1e5, "sepal_width": -0.5E-3, "petal_length": 0, "petal_width": 12345678901234567890}`,
		`{"sepal\u005flength": 1, "sepal_width": 2, "petal_length": 3, "petal_width": "4"}`,
		`{"sepal_length": 1e308, "sepal_width": -1e308, "petal_length": 3, "petal_width": 4}`,
		// Numbers JSON does not allow, and some it does.
		`{"sepal_length": 1., "sepal_width": 2, "petal_length": 3, "petal_width": 4}`,
		`{"sepal_length": .5, "sepal_width": 2, "petal_length": 3, "petal_width": 4}`,
		`{"sepal_length": +1, "sepal_width": 2, "petal_length": 3, "petal_width": 4}`,
		`{"sepal_length": 1e, "sepal_width": 2, "petal_length": 3, "petal_width": 4}`,
		`{"sepal_length": 1.5e+3, "sepal_width": -0, "petal_length": 0.0e-0, "petal_width": 1e-400}`,
		`{"instances": [[1., 2, 3, 4]]}`,
		`{"instances": [[1, 2, 3, 1E400]]}`,
		// Keys missing, unknown, repeated, escaped.
		`{"sepal_length": 1, "sepal_width": 2, "petal_length": 3}`,
		`{"sepal_length": 1, "sepal_width": 2, "petal_length": 3, "petal_width": 4, "colour": 5}`,
		`{"sepal_length": 1, "sepal_width": 2, "petal_length": 3, "petal_width": 4, "petal_width": 5}`,
		`{"instances": [{"sepal_length": 1, "sepal_width": 2, "petal_length": 3}]}`,
		`{"instances": [{"sepal_length": 1, "sepal_width": 2, "petal_length": 3, "petal_width": 4, "x": 1}]}`,
		`{"instance\u0073": [[1, 2, 3, 4]]}`,
		`{"instances": [[1, 2, 3, 4]], "instances": [[1, 2, 3, 4]]}`,
		`{"sepal_length": 1, "instances": [[1, 2, 3, 4]]}`,
		// Batch shapes and limits.
		`{"instances": []}`,
		`{"instances": null}`,
		`{"instances": [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]}`,
		`{"instances": [[1, 2, 3], [1, 2, 3, 4, 5]]}`,
		`{"instances": [[[1, 2, 3, 4]]]}`,
		`{"instances": [[1, 2, 3, 4]]} x`,
		"\t{\"instances\" :\n[ [1,2,3,4] ,{\"petal_width\":4,\"petal_length\":3,\"sepal_width\":2,\"sepal_length\":1} ] }\r\n",
		// Bodies that end inside or right after a number.
		`{"sepal_length": 1`,
		`{"sepal_length": 1.5`,
		`{"sepal_length": 1.`,
		`{"sepal_length": 1e`,
		`{"sepal_length": 1e-`,
		`{"sepal_length": 2e5`,
		`{"instances": [[-`,
		`{"instances": [[], {}]}`,
	} {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var sc Scratch
		req, err := m.DecodePredict(body, maxRows, &sc)
		want, wantErr := contractDecode(body, m.Features, maxRows)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if wantErr == nil {
				t.Fatalf("rejected %q, which the contract accepts: %v", body, err)
			}
			// Past the row limit the decoder stops reading: a body broken
			// further on is too large before it is malformed.
			if tooLarge := errors.Is(wantErr, errTooLarge); ie.TooLarge != tooLarge && json.Valid(body) {
				t.Fatalf("%q: too large %v, the contract says %v (%v)", body, ie.TooLarge, tooLarge, err)
			}
			return
		}
		if wantErr != nil {
			t.Fatalf("accepted %q, which the contract rejects: %v", body, wantErr)
		}
		if req.Batch != want.batch || req.Rows != len(want.rows) || len(req.X) != req.Rows*len(m.Features) {
			t.Fatalf("%q decoded as batch %v, %d rows, %d values; the contract reads batch %v, %d rows",
				body, req.Batch, req.Rows, len(req.X), want.batch, len(want.rows))
		}
		for i, row := range want.rows {
			for j, v := range row {
				if got := req.X[i*len(row)+j]; math.Float64bits(got) != math.Float64bits(v) {
					t.Fatalf("%q: row %d, %s decoded as %v, the contract reads %v", body, i, m.Features[j], got, v)
				}
			}
		}
		// Whatever is accepted is answered with valid JSON or an input error.
		p := make([]float64, 3)
		if out, err := m.AppendBatch(nil, req.X, req.Rows, p); err == nil && !json.Valid(out) {
			t.Fatalf("%q answered with invalid JSON %s", body, out)
		} else if _, ok := err.(*InputError); err != nil && !ok {
			t.Fatalf("%q: error %T %v", body, err, err)
		}
	})
}
