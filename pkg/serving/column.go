package serving

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unsafe"

	"github.com/modelferry/modelferry/pkg/modelstore/names"
	"github.com/modelferry/modelferry/pkg/tabular"
)

// A tabular model's Open Inference Protocol inputs: one per source
// column, BYTES for a categorical column and any numeric datatype for a
// numeric one, each value written through the column transform into the
// packed rows /predict makes of the same records.

// The kinds of Target.
const (
	targetPlain  uint8 = iota // X[Base+i*Stride] = v
	targetNumber              // a numeric column: its dense slot and indicator
	targetText                // a categorical column: its code
)

// InputsHint says which inputs the model takes, for errors.
func (m *Model) InputsHint() string {
	if m.enc == nil {
		return fmt.Sprintf("one input of shape [N, %d]", m.NumFeatures())
	}
	return "one input per column (" + strings.Join(m.Features, ", ") + "), of shape [N]: BYTES for a categorical column, a numeric datatype for a numeric one"
}

// categorical reports whether source column j holds categories.
func (m *Model) categorical(j int) bool {
	return m.Meta.GetTabular().GetColumns()[j].GetType() == string(tabular.Categorical)
}

// placeColumn takes a tabular model's input named after a source column,
// of shape [N] or [N, 1] and the column's kind of datatype.
func (a *assembler) placeColumn(in inputRef, shape []int64, dt Datatype) (Target, error) {
	fail := func(format string, args ...any) (Target, error) {
		return Target{}, &InputError{Field: in.label(), Msg: fmt.Sprintf(format, args...)}
	}
	j, ok := a.m.index[in.name]
	if !ok {
		return fail("unknown input; the model takes %s", a.m.InputsHint())
	}
	cat := a.m.categorical(j)
	switch {
	case cat && dt != BYTES:
		return fail("column %s is categorical: send it as BYTES (strings, \"\" for missing), not %s", names.Quote(in.name), dt)
	case !cat && dt == BYTES:
		return fail("column %s is numeric: send it as FP64 or another numeric datatype (NaN or null for missing), not BYTES", names.Quote(in.name))
	}
	if err := a.column(in, shape, j, "column"); err != nil {
		return Target{}, err
	}
	if cat {
		at, _ := a.m.enc.Slots(j)
		return Target{Base: at, Stride: a.m.width, N: a.rows, col: j, kind: targetText}, nil
	}
	return Target{Stride: a.m.width, N: a.rows, col: j, kind: targetNumber}, nil
}

// Missing reports whether NaN is a missing value for the target (a
// tabular model's numeric column) rather than an error.
func (t Target) Missing() bool { return t.kind == targetNumber }

// setNumber writes value i of a numeric input: NaN is missing for a
// tabular model's column, which imputes it.
func (m *Model) setNumber(x []float64, t Target, i int, v float64) error {
	at := t.Base + i*t.Stride
	if t.kind == targetPlain {
		x[at] = v
		return nil
	}
	if math.IsInf(v, 0) {
		return &InputError{Msg: "value " + strconv.Itoa(i) + " is infinite: send a finite number, or NaN for missing"}
	}
	// A numeric column: Number leaves the codes alone, and fails only on
	// infinities.
	return m.enc.Number(t.col, v, x[at:at+m.enc.Dense()], nil)
}

// setText writes value i of a BYTES input: a category, or "" (nil) for
// missing, coded as /predict codes null; codes is scratch of the model's
// codes.
func (m *Model) setText(x []float64, codes []int32, t Target, i int, b []byte) {
	if len(b) == 0 {
		m.enc.Missing(t.col, nil, codes)
		x[t.Base+i*t.Stride] = float64(codes[t.Base-m.enc.Dense()])
		return
	}
	// Code keeps no reference to the cell.
	x[t.Base+i*t.Stride] = float64(m.enc.Code(t.col, unsafe.String(&b[0], len(b))))
}

// Set writes value i of a numeric input where t says.
func (in *Inputs) Set(t Target, i int, v float64) error { return in.a.m.setNumber(in.a.sc.X, t, i, v) }

// SetText writes value i of a BYTES input where t says.
func (in *Inputs) SetText(t Target, i int, b []byte) {
	in.a.m.setText(in.a.sc.X, in.a.sc.codes, t, i, b)
}
