package serving

import (
	"errors"
	"strings"
	"unsafe"

	"github.com/modelferry/modelferry/pkg/dataset"
)

// Raw records: the values of a tabular model's columns, decoded through
// its column transform into packed rows (dense features, then one code
// per categorical column).

// cell reads the value of column col at the scanner into row (its dense
// part) and the scratch codes: a number, a string, a boolean, or null for
// missing. It does not allocate, but for a string with escapes.
func (d *decoder) cell(col int, row []float64) error {
	s, enc := &d.s, d.m.enc
	x, codes := row[:enc.Dense()], d.sc.codes
	switch c := s.peek(); c {
	case 'n':
		if err := s.literal("null"); err != nil {
			return err
		}
		enc.Missing(col, x, codes)
		return nil
	case 't', 'f':
		word := "false"
		if c == 't' {
			word = "true"
		}
		if err := s.literal(word); err != nil {
			return err
		}
		enc.Bool(col, c == 't', x, codes)
		return nil
	case '"':
		raw, escaped, err := s.str()
		if err != nil {
			return err
		}
		if escaped {
			s.i -= len(raw) + 2
			if raw, err = s.key(); err != nil {
				return err
			}
		}
		var text string
		if len(raw) > 0 {
			text = unsafe.String(&raw[0], len(raw))
		}
		return d.cellError(col, enc.Text(col, text, x, codes))
	}
	v, err := d.number()
	if err != nil {
		if ie, ok := err.(*InputError); ok && strings.HasPrefix(ie.Msg, "expected a number") {
			ie.Msg = "expected a number, a string, a boolean or null, got " + kindName(s.peek())
		}
		return err
	}
	return d.cellError(col, enc.Number(col, v, x, codes))
}

// cellError turns the transform's error about a value into an InputError
// whose field the caller names.
func (d *decoder) cellError(col int, err error) error {
	if err == nil {
		return nil
	}
	var pe *dataset.ParseError
	if errors.As(err, &pe) {
		return &InputError{Msg: strings.TrimPrefix(pe.Msg, "column "+d.m.Features[col]+": ")}
	}
	return err
}

// pack writes the row's codes after its dense features.
func (d *decoder) pack(row []float64) {
	if d.m.enc == nil {
		return
	}
	dense := d.m.enc.Dense()
	for j, c := range d.sc.codes[:d.m.enc.Codes()] {
		row[dense+j] = float64(c)
	}
}
