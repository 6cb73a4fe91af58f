package serving

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"unsafe"

	"github.com/modelferry/modelferry/pkg/modelstore/names"
)

// An input's shape and data: the data is read flat or nested, as the
// shape says, and counted as it is read.

func (d *decoder) shape(in *inferInput) error {
	s := &d.s
	if s.peek() != '[' {
		return s.wrongKind(in.label()+".shape", "an array of integers")
	}
	s.i++
	if s.expect(']') {
		return nil
	}
	for {
		if in.rank == maxRank {
			return inputErr(in, "shape: more than %d dimensions", maxRank)
		}
		c := s.peek()
		start := s.i
		if c != '-' && (c < '0' || c > '9') {
			return s.wrongKind(in.label()+".shape", "an array of integers")
		}
		if !s.scanNumber() {
			return s.syntax()
		}
		dim, ok := parseDim(s.b[start:s.i])
		if !ok {
			return inputErr(in, "shape: %s is not a dimension (an integer ≥ 0)", names.Quote(string(s.b[start:s.i])))
		}
		in.shape[in.rank] = dim
		in.rank++
		if s.expect(',') {
			continue
		}
		if s.expect(']') {
			return nil
		}
		return s.syntax()
	}
}

// placeData makes room for an input and reads its data at the scanner.
func (d *decoder) placeData(a *assembler, in *inferInput) error {
	t, err := a.place(in.ref(), in.shape[:in.rank], in.dt)
	if err != nil {
		return err
	}
	s := &d.s
	if s.peek() != '[' {
		return s.wrongKind(in.label()+".data", "an array")
	}
	// The nested form opens with an array where the flat one has a value.
	open := s.i
	s.i++
	nested := in.rank > 1 && s.peek() == '['
	s.i = open
	if nested {
		n := 0
		return d.dim(in, t, 0, &n)
	}
	return d.flat(in, t)
}

// flat reads [v, v, ...]: exactly t.N values, the last of them before the
// first that overflows.
func (d *decoder) flat(in *inferInput, t Target) error {
	n := 0
	err := d.s.items(func(i int) error {
		if i == t.N {
			return inputErr(in, "data: more than the %d values its shape %s holds", t.N, in.shapeString())
		}
		if err := d.put(in, t, i); err != nil {
			return err
		}
		n = i + 1
		return nil
	})
	if err != nil {
		return err
	}
	if n != t.N {
		return inputErr(in, "data: %d values, shape %s needs %d", n, in.shapeString(), t.N)
	}
	return nil
}

// dim reads the nested form, one dimension per level: an array of
// exactly shape[depth] items, values at the last level. The recursion is
// as deep as the shape, at most maxRank.
func (d *decoder) dim(in *inferInput, t Target, depth int, n *int) error {
	s := &d.s
	if s.peek() != '[' {
		return s.wrongKind(fmt.Sprintf("%s.data (depth %d of shape %s)", in.label(), depth, in.shapeString()), "an array")
	}
	want := in.shape[depth]
	var items int64
	err := s.items(func(int) error {
		if items == want {
			return inputErr(in, "data: more than %d items at depth %d of shape %s", want, depth, in.shapeString())
		}
		if depth == in.rank-1 {
			if err := d.put(in, t, *n); err != nil {
				return err
			}
			*n++
		} else if err := d.dim(in, t, depth+1, n); err != nil {
			return err
		}
		items++
		return nil
	})
	if err != nil {
		return err
	}
	if items != want {
		return inputErr(in, "data: %d items at depth %d, shape %s needs %d", items, depth, in.shapeString(), want)
	}
	return nil
}

// put reads value i of an input's data and writes it where t says. A
// tabular model's column takes null for missing, and strings when
// categorical.
func (d *decoder) put(in *inferInput, t Target, i int) error {
	if t.kind == targetPlain {
		v, err := d.value(in, i)
		if err != nil {
			return err
		}
		d.sc.X[t.Base+i*t.Stride] = v
		return nil
	}
	s := &d.s
	if t.kind == targetText {
		switch s.peek() {
		case 'n':
			d.m.setText(d.sc.X, d.sc.codes, t, i, nil)
			return s.literal("null")
		case '"':
			raw, escaped, err := s.str()
			if err == nil && escaped {
				s.i -= len(raw) + 2
				raw, err = s.key()
			}
			if err != nil {
				return err
			}
			d.m.setText(d.sc.X, d.sc.codes, t, i, raw)
			return nil
		}
		return s.wrongKind(in.label()+": data["+strconv.Itoa(i)+"]", `a string (BYTES), "" or null for missing`)
	}
	v := math.NaN()
	if s.peek() == 'n' {
		if err := s.literal("null"); err != nil {
			return err
		}
	} else {
		var err error
		if v, err = d.value(in, i); err != nil {
			return err
		}
	}
	if err := d.m.setNumber(d.sc.X, t, i, v); err != nil {
		return fieldError(err, in.label())
	}
	return nil
}

// value reads value i of an input's data as its datatype says: numbers
// for FP32 and FP64, integer literals in range for the integer types,
// true or false for BOOL.
func (d *decoder) value(in *inferInput, i int) (float64, error) {
	s := &d.s
	field := func() string { return in.label() + ": data[" + strconv.Itoa(i) + "]" }
	switch in.dt {
	case FP32, FP64:
		v, err := d.number()
		if err != nil {
			return 0, fieldError(err, field())
		}
		if why := in.dt.Check(v); why != "" {
			return 0, &InputError{Field: field(), Msg: strconv.FormatFloat(v, 'g', -1, 64) + " " + why}
		}
		return v, nil
	case BOOL:
		switch s.peek() {
		case 't':
			return 1, s.literal("true")
		case 'f':
			return 0, s.literal("false")
		}
		return 0, s.wrongKind(field(), "true or false (BOOL)")
	}
	c := s.peek()
	if c != '-' && (c < '0' || c > '9') {
		return 0, s.wrongKind(field(), "an integer ("+in.dt.String()+")")
	}
	start := s.i
	if !s.scanNumber() {
		return 0, s.syntax()
	}
	raw := s.b[start:s.i]
	v, err := strconv.ParseInt(unsafe.String(&raw[0], len(raw)), 10, 64)
	lo, hi, _ := in.dt.Integer()
	if err != nil || v < int64(lo) || v > int64(hi) {
		why := "is out of range for " + in.dt.String()
		if bytes.ContainsAny(raw, ".eE") {
			why = "is not an integer literal (" + in.dt.String() + ")"
		} else if in.dt == INT64 || in.dt == UINT64 {
			why = "is out of the range a model reads exactly (integers up to 2^53)"
		}
		return 0, &InputError{Field: field(), Msg: names.Quote(string(raw)) + " " + why}
	}
	return float64(v), nil
}

// parseDim reads a JSON number that is an integer from 0 to 2^63-1.
func parseDim(b []byte) (int64, bool) {
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' || v > (math.MaxInt64-int64(c-'0'))/10 {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}
