package serving

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unsafe"

	"github.com/modelferry/modelferry/pkg/httpserver"
)

// Output is one output tensor of an inference answer.
type Output uint8

// The outputs every model has.
const (
	OutputLabel Output = iota
	OutputClassID
	OutputProbabilities
	numOutputs
)

var outputNames = [numOutputs]string{"label", "class_id", "probabilities"}

func (o Output) String() string { return outputNames[o] }

// OutputByName finds an output by its name.
func OutputByName(name string) (Output, bool) {
	for i, n := range outputNames {
		if n == name {
			return Output(i), true
		}
	}
	return 0, false
}

// InferRequest is a decoded Open Inference Protocol inference request.
type InferRequest struct {
	// ID is the request's "id" as it was sent (a JSON string, quotes
	// included), nil without one. It aliases the body.
	ID   []byte
	Rows int
	// X holds Rows × NumFeatures values, row-major; it aliases the
	// scratch.
	X []float64
	// Outputs are the outputs asked for, in order; empty means all.
	Outputs []Output
}

// maxRank bounds the dimensions of a shape; the inputs a model takes
// have one or two.
const maxRank = 8

// inferInput is one request input as far as it has been read.
type inferInput struct {
	index int // in the request's inputs
	name  []byte
	shape [maxRank]int64
	rank  int
	dt    Datatype
	// have marks the fields read; dataAt is where data starts when it
	// came before the fields that say how to read it.
	have   uint8
	dataAt int
}

const (
	haveName uint8 = 1 << iota
	haveShape
	haveDatatype
	haveData
	haveParameters
)

func (in *inferInput) ready() bool {
	return in.have&(haveName|haveShape|haveDatatype) == haveName|haveShape|haveDatatype
}

// ref names the input; its name aliases the body, for the time of the
// request.
func (in *inferInput) ref() inputRef {
	r := inputRef{index: in.index, named: in.have&haveName != 0}
	if len(in.name) > 0 {
		r.name = unsafe.String(&in.name[0], len(in.name))
	}
	return r
}

// label names the input in errors.
func (in *inferInput) label() string { return in.ref().label() }

func (in *inferInput) shapeString() string { return shapeString(in.shape[:in.rank]) }

func shapeString(shape []int64) string {
	b := []byte{'['}
	for i, d := range shape {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, d, 10)
	}
	return string(append(b, ']'))
}

func inputErr(in *inferInput, format string, args ...any) *InputError {
	return &InputError{Field: in.label(), Msg: fmt.Sprintf(format, args...)}
}

// DecodeInfer parses an Open Inference Protocol REST inference request
// without encoding/json. The inputs are either one tensor of shape
// [N, F] in feature order, or one input per feature named after it, of
// shape [N] or [N, 1]. Each input's data is read flat or nested as its
// shape says and counted as it is read: a request never costs more than
// its declared shape, which must fit both maxRows and the body's length.
// X aliases sc.X, which grows as needed.
func (m *Model) DecodeInfer(body []byte, maxRows int, sc *Scratch) (InferRequest, error) {
	d := decoder{s: scanner{b: body}, m: m, sc: sc}
	if cap(sc.seen) < len(m.Features) {
		sc.seen = make([]bool, len(m.Features))
	}
	sc.seen = sc.seen[:len(m.Features)]
	clear(sc.seen)
	sc.X = sc.X[:0]
	sc.outputs = sc.outputs[:0]
	// Every value takes at least two bytes ("0,"): a shape declaring
	// more than that is refused before anything is allocated for it.
	a := assembler{m: m, sc: sc, maxRows: maxRows, maxValues: (len(body) + 1) / 2}
	req, err := d.inferRequest(&a)
	req.X, req.Rows, req.Outputs = sc.X, a.rows, sc.outputs
	return req, err
}

// Request keys, as bits, to refuse a key given twice.
const (
	keyID uint8 = 1 << iota
	keyParameters
	keyInputs
	keyOutputs
)

func requestKey(key []byte) uint8 {
	switch string(key) {
	case "id":
		return keyID
	case "parameters":
		return keyParameters
	case "inputs":
		return keyInputs
	case "outputs":
		return keyOutputs
	}
	return 0
}

func inputKey(key []byte) uint8 {
	switch string(key) {
	case "name":
		return haveName
	case "shape":
		return haveShape
	case "datatype":
		return haveDatatype
	case "parameters":
		return haveParameters
	case "data":
		return haveData
	}
	return 0
}

func (d *decoder) inferRequest(a *assembler) (InferRequest, error) {
	s := &d.s
	var req InferRequest
	s.ws()
	if s.i == len(s.b) {
		return req, &InputError{Msg: `empty body: send an inference request, {"inputs": [...]}`}
	}
	if s.b[s.i] != '{' {
		return req, &InputError{Msg: "body must be a JSON object, got " + kindName(s.b[s.i])}
	}
	s.i++
	var have uint8
	if !s.expect('}') {
		for {
			if s.peek() != '"' {
				return req, s.syntax()
			}
			key, err := s.key()
			if err != nil {
				return req, err
			}
			if !s.expect(':') {
				return req, s.syntax()
			}
			bit := requestKey(key)
			if bit == 0 {
				return req, &InputError{Field: httpserver.Quote(string(key)), Msg: "unknown field; an inference request has id, parameters, inputs and outputs"}
			}
			if have&bit != 0 {
				return req, &InputError{Field: string(key), Msg: "given more than once"}
			}
			switch bit {
			case keyID:
				switch s.peek() {
				case '"':
					start := s.i
					if _, _, err = s.strictStr(); err == nil {
						req.ID = s.b[start:s.i]
					}
				case 'n':
					err = s.literal("null")
				default:
					err = s.wrongKind("id", "a string")
				}
			case keyParameters:
				err = d.parameters("parameters")
			case keyInputs:
				err = d.inputs(a)
			case keyOutputs:
				err = d.outputs()
			}
			if err != nil {
				return req, err
			}
			have |= bit
			if s.expect(',') {
				continue
			}
			if s.expect('}') {
				break
			}
			return req, s.syntax()
		}
	}
	if err := s.end(); err != nil {
		return req, err
	}
	if have&keyInputs == 0 {
		return req, &InputError{Field: "inputs", Msg: fmt.Sprintf("missing; send one input of shape [N, %d]", d.m.NumFeatures())}
	}
	return req, a.finish()
}

// wrongKind reports a value of another kind than want at the scanner,
// or malformed JSON when there is no value there.
func (s *scanner) wrongKind(field, want string) error {
	c := s.peek()
	k := kindName(c)
	if c == 0 || k == "invalid JSON" {
		return s.syntax()
	}
	return &InputError{Field: field, Msg: "expected " + want + ", got " + k}
}

// parameters passes over a parameters object (or null): the protocol
// defines none that change an answer.
func (d *decoder) parameters(field string) error {
	s := &d.s
	switch s.peek() {
	case 'n':
		return s.literal("null")
	case '{':
		return fieldError(s.skip(maxSkipDepth), field)
	default:
		return s.wrongKind(field, "an object")
	}
}

func (d *decoder) inputs(a *assembler) error {
	s := &d.s
	if s.peek() != '[' {
		return s.wrongKind("inputs", "an array")
	}
	s.i++
	if s.expect(']') {
		return &InputError{Field: "inputs", Msg: fmt.Sprintf("empty; send one input of shape [N, %d]", d.m.NumFeatures())}
	}
	for i := 0; ; i++ {
		if err := d.input(a, i); err != nil {
			return err
		}
		if s.expect(',') {
			continue
		}
		if s.expect(']') {
			return nil
		}
		return s.syntax()
	}
}

// input reads one input object. Its data is decoded as soon as its name,
// shape and datatype are known; data sent before them is checked for
// syntax and read again once they are.
func (d *decoder) input(a *assembler, i int) error {
	s := &d.s
	in := inferInput{index: i, dataAt: -1}
	if s.peek() != '{' {
		return s.wrongKind(in.label(), "an object")
	}
	s.i++
	if !s.expect('}') {
		for {
			if s.peek() != '"' {
				return s.syntax()
			}
			key, err := s.key()
			if err != nil {
				return err
			}
			if !s.expect(':') {
				return s.syntax()
			}
			bit := inputKey(key)
			if bit == 0 {
				return inputErr(&in, "unknown field %s; an input has name, shape, datatype, parameters and data", httpserver.Quote(string(key)))
			}
			if in.have&bit != 0 {
				return inputErr(&in, "%s given more than once", key)
			}
			switch bit {
			case haveName:
				in.name, err = d.stringField(&in, "name")
			case haveShape:
				err = d.shape(&in)
			case haveDatatype:
				var dt []byte
				if dt, err = d.stringField(&in, "datatype"); err == nil {
					in.dt, err = parseDatatype(&in, dt)
				}
			case haveParameters:
				err = d.parameters(in.label() + ".parameters")
			case haveData:
				if in.ready() {
					err = d.placeData(a, &in)
					break
				}
				// Read once the fields that say how are known; nested
				// deeper than any shape allows is refused already.
				in.dataAt = s.i
				depth := 1
				if s.peek() == '[' {
					depth = maxRank
				}
				err = fieldError(s.skip(depth), in.label()+".data")
			}
			if err != nil {
				return err
			}
			in.have |= bit
			if s.expect(',') {
				continue
			}
			if s.expect('}') {
				break
			}
			return s.syntax()
		}
	}
	for _, f := range []struct {
		bit  uint8
		name string
	}{{haveName, "name"}, {haveShape, "shape"}, {haveDatatype, "datatype"}, {haveData, "data"}} {
		if in.have&f.bit == 0 {
			return inputErr(&in, "missing %q", f.name)
		}
	}
	if in.dataAt < 0 {
		return nil
	}
	end := s.i
	s.i = in.dataAt
	err := d.placeData(a, &in)
	s.i = end
	return err
}

// stringField reads a string value, unescaped.
func (d *decoder) stringField(in *inferInput, field string) ([]byte, error) {
	s := &d.s
	if s.peek() != '"' {
		return nil, s.wrongKind(in.label()+"."+field, "a string")
	}
	return s.key()
}

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
			return inputErr(in, "shape: %s is not a dimension (an integer ≥ 0)", httpserver.Quote(string(s.b[start:s.i])))
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
	t, err := a.place(in.ref(), in.shape[:in.rank])
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

// flat reads [v, v, ...]: exactly t.n values, the last of them before the
// first that overflows.
func (d *decoder) flat(in *inferInput, t target) error {
	s := &d.s
	x := d.sc.X
	s.i++ // '['
	n := 0
	if !s.expect(']') {
		for {
			if n == t.n {
				return inputErr(in, "data: more than the %d values its shape %s holds", t.n, in.shapeString())
			}
			v, err := d.value(in, n)
			if err != nil {
				return err
			}
			x[t.base+n*t.stride] = v
			n++
			if s.expect(',') {
				continue
			}
			if s.expect(']') {
				break
			}
			return s.syntax()
		}
	}
	if n != t.n {
		return inputErr(in, "data: %d values, shape %s needs %d", n, in.shapeString(), t.n)
	}
	return nil
}

// dim reads the nested form, one dimension per level: an array of
// exactly shape[depth] items, values at the last level. The recursion is
// as deep as the shape, at most maxRank.
func (d *decoder) dim(in *inferInput, t target, depth int, n *int) error {
	s := &d.s
	if s.peek() != '[' {
		return s.wrongKind(fmt.Sprintf("%s.data (depth %d of shape %s)", in.label(), depth, in.shapeString()), "an array")
	}
	s.i++
	want := in.shape[depth]
	var items int64
	if !s.expect(']') {
		for {
			if items == want {
				return inputErr(in, "data: more than %d items at depth %d of shape %s", want, depth, in.shapeString())
			}
			if depth == in.rank-1 {
				v, err := d.value(in, *n)
				if err != nil {
					return err
				}
				d.sc.X[t.base+*n*t.stride] = v
				*n++
			} else if err := d.dim(in, t, depth+1, n); err != nil {
				return err
			}
			items++
			if s.expect(',') {
				continue
			}
			if s.expect(']') {
				break
			}
			return s.syntax()
		}
	}
	if items != want {
		return inputErr(in, "data: %d items at depth %d, shape %s needs %d", items, depth, in.shapeString(), want)
	}
	return nil
}

// value reads value i of an input's data as its datatype says.
func (d *decoder) value(in *inferInput, i int) (float64, error) {
	v, err := d.number()
	if err != nil {
		if ie, ok := err.(*InputError); ok && !ie.syntax {
			ie.Field = in.label() + ": data[" + strconv.Itoa(i) + "]"
		}
		return 0, err
	}
	if in.dt == FP32 && math.Abs(v) > math.MaxFloat32 {
		return 0, inputErr(in, "data[%d]: %s is out of range for FP32", i, strconv.FormatFloat(v, 'g', -1, 64))
	}
	return v, nil
}

func (d *decoder) outputs() error {
	s := &d.s
	switch s.peek() {
	case 'n':
		return s.literal("null")
	case '[':
	default:
		return s.wrongKind("outputs", "an array")
	}
	s.i++
	if s.expect(']') {
		return nil
	}
	for i := 0; ; i++ {
		if err := d.output(i); err != nil {
			return err
		}
		if s.expect(',') {
			continue
		}
		if s.expect(']') {
			return nil
		}
		return s.syntax()
	}
}

func (d *decoder) output(i int) error {
	s := &d.s
	field := "outputs[" + strconv.Itoa(i) + "]"
	if s.peek() != '{' {
		return s.wrongKind(field, "an object")
	}
	s.i++
	var haveName, haveParams bool
	if !s.expect('}') {
		for {
			if s.peek() != '"' {
				return s.syntax()
			}
			key, err := s.key()
			if err != nil {
				return err
			}
			if !s.expect(':') {
				return s.syntax()
			}
			switch string(key) {
			case "name":
				if haveName {
					return &InputError{Field: field, Msg: "name given more than once"}
				}
				haveName = true
				if s.peek() != '"' {
					return s.wrongKind(field+".name", "a string")
				}
				name, err := s.key()
				if err != nil {
					return err
				}
				if err := d.addOutput(string(name)); err != nil {
					return err
				}
			case "parameters":
				if haveParams {
					return &InputError{Field: field, Msg: "parameters given more than once"}
				}
				haveParams = true
				if err := d.parameters(field + ".parameters"); err != nil {
					return err
				}
			default:
				return &InputError{Field: field, Msg: "unknown field " + httpserver.Quote(string(key)) + "; an output has name and parameters"}
			}
			if s.expect(',') {
				continue
			}
			if s.expect('}') {
				break
			}
			return s.syntax()
		}
	}
	if !haveName {
		return &InputError{Field: field, Msg: `missing "name"`}
	}
	return nil
}

func (d *decoder) addOutput(name string) error {
	o, ok := OutputByName(name)
	if !ok {
		return &InputError{Field: "output " + httpserver.Quote(name), Msg: "unknown; this model has " + strings.Join(outputNames[:], ", ")}
	}
	for _, have := range d.sc.outputs {
		if have == o {
			return &InputError{Field: "output " + httpserver.Quote(name), Msg: "asked more than once"}
		}
	}
	d.sc.outputs = append(d.sc.outputs, o)
	return nil
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
