package serving

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/modelferry/modelferry/pkg/modelstore/names"
)

// The forms an inference request's inputs take.
const (
	formNone    = iota
	formTensor  // one input of shape [N, F]
	formColumns // one input per feature, of shape [N] or [N, 1]
)

// assembler checks each input's name and shape against the model and the
// inputs before it, and places its values in the scratch's X. Both
// protocols (JSON and protobuf) go through it.
type assembler struct {
	m       *Model
	sc      *Scratch
	maxRows int
	// maxValues bounds rows × features before anything is allocated:
	// what the request can hold at most.
	maxValues int
	form      int
	rows      int
}

// Target is where an input's values go: value i of N at X[Base+i*Stride].
// For an input of a tabular model's column, Set and SetText write them
// through the column transform.
type Target struct {
	Base, Stride, N int
	col             int   // the source column of a tabular model's input
	kind            uint8 // targetPlain, targetNumber or targetText
}

// inputRef names an input: by its name, or by its index before the name
// is known.
type inputRef struct {
	index int
	name  string
	named bool
}

// label names the input in errors; it is built only for them.
func (r inputRef) label() string {
	if r.named {
		return "input " + names.Quote(r.name)
	}
	return "inputs[" + strconv.Itoa(r.index) + "]"
}

// place takes an input of the given shape, allocating X with the first,
// and says where its values go.
func (a *assembler) place(in inputRef, shape []int64, dt Datatype) (Target, error) {
	if a.m.enc != nil {
		return a.placeColumn(in, shape, dt)
	}
	f := a.m.NumFeatures()
	name := in.name
	fail := func(format string, args ...any) (Target, error) {
		return Target{}, &InputError{Field: in.label(), Msg: fmt.Sprintf(format, args...)}
	}
	j, isFeature := a.m.index[name]
	switch {
	case isFeature && a.form == formTensor, !isFeature && a.form == formColumns:
		return fail("unknown feature; the model expects one tensor of shape [N, %d] or one input per feature (%s), not both",
			f, strings.Join(a.m.Features, ", "))
	case !isFeature && a.form == formTensor:
		return fail("a second tensor; send one tensor of shape [N, %d], or one input per feature", f)
	case isFeature:
		if err := a.column(in, shape, j, "feature"); err != nil {
			return Target{}, err
		}
		return Target{Base: j, Stride: f, N: a.rows}, nil
	}
	rows := int64(1) // shape [F]: one row
	switch {
	case len(shape) == 2 && shape[1] == int64(f):
		rows = shape[0]
	case len(shape) != 1 || shape[0] != int64(f):
		return fail("shape %s does not match [N, %d] or [%d] (features %s)", shapeString(shape), f, f, strings.Join(a.m.Features, ", "))
	}
	if err := a.alloc(in, rows); err != nil {
		return Target{}, err
	}
	a.form = formTensor
	return Target{Base: 0, Stride: 1, N: a.rows * f}, nil
}

// column takes the input of column j, of shape [N] or [N, 1]: the first
// sizes X, the others must have as many rows.
func (a *assembler) column(in inputRef, shape []int64, j int, what string) error {
	if len(shape) == 0 || len(shape) > 2 || len(shape) == 2 && shape[1] != 1 {
		return &InputError{Field: in.label(), Msg: fmt.Sprintf("shape %s does not match [N] or [N, 1] (one input per %s)", shapeString(shape), what)}
	}
	if a.form == formNone {
		if err := a.alloc(in, shape[0]); err != nil {
			return err
		}
		a.form = formColumns
	} else if shape[0] != int64(a.rows) {
		return &InputError{Field: in.label(), Msg: fmt.Sprintf("%d rows, the inputs before it have %d", shape[0], a.rows)}
	}
	if a.sc.seen[j] {
		return &InputError{Field: in.label(), Msg: "given more than once"}
	}
	a.sc.seen[j] = true
	return nil
}

// alloc checks the number of rows against the limits and sizes X.
func (a *assembler) alloc(in inputRef, rows int64) error {
	f := int64(a.m.NumFeatures())
	// A tabular model's request holds one value per column and row; its
	// packed rows are at most twice as wide (an indicator per column).
	perRow, unit := f, "features"
	if a.m.enc != nil {
		perRow, unit = int64(len(a.m.Features)), "columns"
	}
	switch {
	case rows < 1:
		return &InputError{Field: in.label(), Msg: "no rows: the first dimension of the shape must be at least 1"}
	case rows > int64(a.maxRows):
		return &InputError{Field: in.label(), Msg: fmt.Sprintf("%d rows exceed the limit of %d (PREDICTOR_MAX_BATCH)", rows, a.maxRows), TooLarge: true}
	case rows > int64(a.maxValues)/perRow:
		msg := fmt.Sprintf("%d rows of %d %s need %d values; the request holds at most %d", rows, perRow, unit, rows*perRow, a.maxValues)
		if a.m.enc != nil {
			msg += " (send " + a.m.InputsHint() + ")"
		}
		return &InputError{Field: in.label(), Msg: msg}
	}
	n := int(rows * f)
	if cap(a.sc.X) < n {
		a.sc.X = make([]float64, n)
	}
	a.sc.X = a.sc.X[:n]
	a.rows = int(rows)
	return nil
}

// finish checks that one input per feature gave every feature.
func (a *assembler) finish() error {
	if a.form != formColumns {
		return nil
	}
	for j, ok := range a.sc.seen {
		if !ok {
			return &InputError{Field: "input " + names.Quote(a.m.Features[j]), Msg: "missing"}
		}
	}
	return nil
}

// Inputs places the inputs of a request decoded elsewhere (gRPC) as
// DecodeInfer does: one tensor of shape [N, F] or [F], or one input per
// feature of shape [N] or [N, 1]; for a tabular model, one input per
// source column.
type Inputs struct{ a assembler }

// NewInputs starts placing a request's inputs in sc: at most maxRows
// rows, and rows × features at most maxValues (what the request holds).
func (m *Model) NewInputs(maxRows, maxValues int, sc *Scratch) Inputs {
	m.prepare(sc)
	return Inputs{assembler{m: m, sc: sc, maxRows: maxRows, maxValues: maxValues}}
}

// Place takes input i, of the given name, shape and datatype, and says
// where its values go in X.
func (in *Inputs) Place(i int, name string, shape []int64, dt Datatype) (Target, error) {
	return in.a.place(inputRef{index: i, name: name, named: true}, shape, dt)
}

// X holds the rows, row-major, once every input is placed and written.
func (in *Inputs) X() []float64 { return in.a.sc.X }

// Finish checks that the inputs gave every feature and returns the rows.
func (in *Inputs) Finish() (rows int, err error) { return in.a.rows, in.a.finish() }
