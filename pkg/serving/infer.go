package serving

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/modelferry/modelferry/pkg/modelstore/names"
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
	m.prepare(sc)
	// Every value takes at least two bytes ("0,"): a shape declaring
	// more than that is refused before anything is allocated for it.
	a := assembler{m: m, sc: sc, maxRows: maxRows, maxValues: (len(body) + 1) / 2}
	req, err := d.inferRequest(&a)
	req.X, req.Rows, req.Outputs = sc.X, a.rows, sc.outputs
	return req, err
}

// prepare empties sc for a request to m.
func (m *Model) prepare(sc *Scratch) {
	if cap(sc.seen) < len(m.Features) {
		sc.seen = make([]bool, len(m.Features))
	}
	sc.seen = sc.seen[:len(m.Features)]
	clear(sc.seen)
	if m.enc != nil && len(sc.codes) < m.enc.Codes() {
		sc.codes = make([]int32, m.enc.Codes())
	}
	sc.X = sc.X[:0]
	sc.outputs = sc.outputs[:0]
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
	var have uint8
	err := s.members(func(key []byte) error {
		bit := requestKey(key)
		switch {
		case bit == 0:
			return &InputError{Field: names.Quote(string(key)), Msg: "unknown field; an inference request has id, parameters, inputs and outputs"}
		case have&bit != 0:
			return &InputError{Field: names.Clip(string(key)), Msg: "given more than once"}
		}
		have |= bit
		switch bit {
		case keyID:
			return d.id(&req)
		case keyParameters:
			return d.parameters("parameters")
		case keyInputs:
			return d.inputs(a)
		}
		return d.outputs()
	})
	if err == nil {
		err = s.end()
	}
	if err != nil {
		return req, err
	}
	if have&keyInputs == 0 {
		return req, &InputError{Field: "inputs", Msg: "missing; send " + d.m.InputsHint()}
	}
	return req, a.finish()
}

// id reads the request's id, kept as sent for the answer to echo.
func (d *decoder) id(req *InferRequest) error {
	s := &d.s
	switch s.peek() {
	case '"':
		start := s.i
		_, _, err := s.str()
		req.ID = s.b[start:s.i]
		return err
	case 'n':
		return s.literal("null")
	}
	return s.wrongKind("id", "a string")
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
	}
	return s.wrongKind(field, "an object")
}

func (d *decoder) inputs(a *assembler) error {
	s := &d.s
	if s.peek() != '[' {
		return s.wrongKind("inputs", "an array")
	}
	n := 0
	err := s.items(func(i int) error {
		n++
		return d.input(a, i)
	})
	if err == nil && n == 0 {
		return &InputError{Field: "inputs", Msg: "empty; send " + d.m.InputsHint()}
	}
	return err
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
	err := s.members(func(key []byte) error {
		bit := inputKey(key)
		switch {
		case bit == 0:
			return inputErr(&in, "unknown field %s; an input has name, shape, datatype, parameters and data", names.Quote(string(key)))
		case in.have&bit != 0:
			return inputErr(&in, "%s given more than once", key)
		}
		var err error
		switch bit {
		case haveName:
			in.name, err = d.stringField(&in, "name")
		case haveShape:
			err = d.shape(&in)
		case haveDatatype:
			var dt []byte
			if dt, err = d.stringField(&in, "datatype"); err == nil {
				in.dt, err = d.m.parseDatatype(&in, dt)
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
		in.have |= bit
		return err
	})
	if err != nil {
		return err
	}
	for _, f := range [...]struct {
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
	err = d.placeData(a, &in)
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

func (d *decoder) outputs() error {
	s := &d.s
	switch s.peek() {
	case 'n':
		return s.literal("null")
	case '[':
		return s.items(d.output)
	}
	return s.wrongKind("outputs", "an array")
}

func (d *decoder) output(i int) error {
	s := &d.s
	field := func() string { return "outputs[" + strconv.Itoa(i) + "]" }
	if s.peek() != '{' {
		return s.wrongKind(field(), "an object")
	}
	var haveName, haveParams bool
	err := s.members(func(key []byte) error {
		switch string(key) {
		case "name":
			if haveName {
				return &InputError{Field: field(), Msg: "name given more than once"}
			}
			haveName = true
			if s.peek() != '"' {
				return s.wrongKind(field()+".name", "a string")
			}
			name, err := s.key()
			if err != nil {
				return err
			}
			return d.addOutput(string(name))
		case "parameters":
			if haveParams {
				return &InputError{Field: field(), Msg: "parameters given more than once"}
			}
			haveParams = true
			return d.parameters(field() + ".parameters")
		}
		return &InputError{Field: field(), Msg: "unknown field " + names.Quote(string(key)) + "; an output has name and parameters"}
	})
	if err == nil && !haveName {
		return &InputError{Field: field(), Msg: `missing "name"`}
	}
	return err
}

func (d *decoder) addOutput(name string) error {
	o, ok := OutputByName(name)
	if !ok {
		return &InputError{Field: "output " + names.Quote(name), Msg: "unknown; this model has " + strings.Join(outputNames[:], ", ")}
	}
	if slices.Contains(d.sc.outputs, o) {
		return &InputError{Field: "output " + names.Quote(name), Msg: "asked more than once"}
	}
	d.sc.outputs = append(d.sc.outputs, o)
	return nil
}
