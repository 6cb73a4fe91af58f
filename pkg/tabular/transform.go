package tabular

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/modelferry/modelferry/pkg/dataset"
)

// Type is a column's kind.
type Type string

// Column types.
const (
	Numeric     Type = "numeric"
	Categorical Type = "categorical"
)

// Column is one source column of the transform as fitted on the training
// rows.
type Column struct {
	Name string
	Type Type
	// MissingShare is the share of training rows where the column was
	// missing.
	MissingShare float64

	// Impute is the value a missing numeric cell takes.
	Impute float64
	// Indicator is set when the column had missing values in training and
	// the transform adds a 0/1 "was missing" feature for it.
	Indicator bool

	// Categories are the frequent categories, sorted; the code of
	// Categories[i] is i. A missing cell is the category MissingCategory.
	Categories []string
	// Shares are the training shares of Categories.
	Shares []float64
	// Infrequent are the categories grouped into one, sorted; their code
	// is len(Categories).
	Infrequent      []string
	InfrequentShare float64
}

// Levels is the number of one-hot levels of a categorical column.
func (c *Column) Levels() int {
	if len(c.Infrequent) > 0 {
		return len(c.Categories) + 1
	}
	return len(c.Categories)
}

// Transform maps a record of source columns to the dense features and
// category codes the model reads.
type Transform struct {
	// Columns are the feature columns, in the order of Spec.Features
	// (or the table's).
	Columns []Column
	// NAValues are the strings read as missing.
	NAValues []string
}

// Encoder is the compiled form of a Transform. The dense features are the
// numeric columns in order, then the indicators in order; the codes are
// the categorical columns in order. It is immutable and safe for
// concurrent use.
type Encoder struct {
	na    naSet
	cols  []encColumn
	dense int
	codes int
}

type encColumn struct {
	*Column
	slot      int // dense index (numeric) or code index (categorical)
	indicator int // dense index of the indicator, -1 when none
	index     map[string]int32
}

// Encoder compiles t.
func (t *Transform) Encoder() (*Encoder, error) {
	e := &Encoder{na: newNASet(t.NAValues)}
	nums := 0
	for i := range t.Columns {
		if t.Columns[i].Type == Numeric {
			nums++
		}
	}
	e.dense = nums
	nums = 0
	for i := range t.Columns {
		c := &t.Columns[i]
		ec := encColumn{Column: c, indicator: -1}
		switch c.Type {
		case Numeric:
			if math.IsNaN(c.Impute) || math.IsInf(c.Impute, 0) {
				return nil, fmt.Errorf("column %s: imputed value %v is not finite", c.Name, c.Impute)
			}
			ec.slot = nums
			nums++
			if c.Indicator {
				ec.indicator = e.dense
				e.dense++
			}
		case Categorical:
			ec.slot = e.codes
			e.codes++
			ec.index = make(map[string]int32, len(c.Categories)+len(c.Infrequent))
			for k, v := range c.Categories {
				ec.index[v] = int32(k)
			}
			for _, v := range c.Infrequent {
				ec.index[v] = int32(len(c.Categories))
			}
			if len(ec.index) != len(c.Categories)+len(c.Infrequent) {
				return nil, fmt.Errorf("column %s: a category is listed twice", c.Name)
			}
		default:
			return nil, fmt.Errorf("column %s: unknown type %q", c.Name, c.Type)
		}
		e.cols = append(e.cols, ec)
	}
	return e, nil
}

// Dense is the number of dense features: numeric columns, then indicators.
func (e *Encoder) Dense() int { return e.dense }

// Codes is the number of categorical columns.
func (e *Encoder) Codes() int { return e.codes }

// Levels returns the one-hot levels of each categorical column, in code
// order.
func (e *Encoder) Levels() []int {
	var l []int
	for _, c := range e.cols {
		if c.Type == Categorical {
			l = append(l, c.Levels())
		}
	}
	return l
}

// Unscaled marks the dense features that standardization leaves alone:
// the indicators.
func (e *Encoder) Unscaled() []bool {
	u := make([]bool, e.dense)
	for _, c := range e.cols {
		if c.indicator >= 0 {
			u[c.indicator] = true
		}
	}
	return u
}

// Code returns the code of a categorical cell of column col (an index
// into Transform.Columns): its category's, the infrequent code for a
// grouped category, or -1 for a category unseen in training, which
// contributes nothing. A missing cell is MissingCategory.
func (e *Encoder) Code(col int, cell string) int32 {
	c := &e.cols[col]
	if e.na.missing(cell) {
		cell = MissingCategory
	}
	if k, ok := c.index[cell]; ok {
		return k
	}
	return -1
}

// Bind returns the position in header of every column of the transform.
func (e *Encoder) Bind(header []string) ([]int, error) {
	index := make(map[string]int, len(header))
	for i, h := range header {
		index[h] = i
	}
	pos := make([]int, len(e.cols))
	var absent []string
	for i, c := range e.cols {
		p, ok := index[c.Name]
		if !ok {
			absent = append(absent, c.Name)
		}
		pos[i] = p
	}
	if len(absent) > 0 {
		return nil, &dataset.ParseError{Line: 1, Msg: fmt.Sprintf("the table has no column %s: the model reads %s", strings.Join(absent, ", "), e.names())}
	}
	return pos, nil
}

func (e *Encoder) names() string {
	n := make([]string, len(e.cols))
	for i, c := range e.cols {
		n[i] = c.Name
	}
	return strings.Join(slices.Clip(n), ", ")
}

// EncodeRecord writes the dense features of rec into x (len Dense) and its
// codes into codes (len Codes); pos comes from Bind. A numeric cell that is
// neither missing nor a finite number is an error naming the column.
func (e *Encoder) EncodeRecord(rec []string, pos []int, x []float64, codes []int32) error {
	x = x[:e.dense]
	codes = codes[:e.codes]
	for i := range e.cols {
		if err := e.Text(i, rec[pos[i]], x, codes); err != nil {
			return err
		}
	}
	return nil
}

// The value setters below fill one column of a row for a decoder of typed
// values (JSON records, tensors): col indexes Transform.Columns, x and
// codes are the row's (len Dense and Codes). None allocates.

// Text sets column col from a string: a category, or for a numeric column
// a number or an NA string. Text that is neither in a numeric column is an
// error naming the column.
func (e *Encoder) Text(col int, s string, x []float64, codes []int32) error {
	c := &e.cols[col]
	if c.Type == Categorical {
		codes[c.slot] = e.Code(col, s)
		return nil
	}
	if e.na.missing(s) {
		e.Missing(col, x, codes)
		return nil
	}
	v, ok := parseNumber(s)
	if !ok {
		return &dataset.ParseError{Msg: fmt.Sprintf("column %s: %q is not a number: the column is numeric; send a number or leave the cell empty", c.Name, s)}
	}
	return e.Number(col, v, x, codes)
}

// Number sets column col from a number; NaN is missing. A categorical
// column takes the category written as the number's shortest decimal text
// (8 → "8", 0.5 → "0.5"), as a CSV would hold it. An infinite number is an
// error naming the column.
func (e *Encoder) Number(col int, v float64, x []float64, codes []int32) error {
	c := &e.cols[col]
	if math.IsNaN(v) {
		e.Missing(col, x, codes)
		return nil
	}
	if math.IsInf(v, 0) {
		return &dataset.ParseError{Msg: fmt.Sprintf("column %s: %v is not a finite number: send a finite number or leave the value out", c.Name, v)}
	}
	if c.Type == Categorical {
		var buf [32]byte
		text := strconv.AppendFloat(buf[:0], v, 'f', -1, 64)
		if len(text) > 24 { // beyond 1e21: the exponent form
			text = strconv.AppendFloat(buf[:0], v, 'g', -1, 64)
		}
		codes[c.slot] = -1
		if k, ok := c.index[string(text)]; ok {
			codes[c.slot] = k
		}
		return nil
	}
	x[c.slot] = v
	if c.indicator >= 0 {
		x[c.indicator] = 0
	}
	return nil
}

// Bool sets column col from a boolean: 1 or 0 in a numeric column; in a
// categorical one the category written "True" or "true" ("False",
// "false"), as pandas and most exports write booleans, else unseen.
func (e *Encoder) Bool(col int, b bool, x []float64, codes []int32) {
	c := &e.cols[col]
	if c.Type == Numeric {
		_ = e.Number(col, b2f(b), x, codes)
		return
	}
	names := [2]string{"False", "false"}
	if b {
		names = [2]string{"True", "true"}
	}
	codes[c.slot] = -1
	for _, n := range names {
		if k, ok := c.index[n]; ok {
			codes[c.slot] = k
			return
		}
	}
}

// Missing sets column col missing: the imputed value and the indicator
// for a numeric column, MissingCategory for a categorical one.
func (e *Encoder) Missing(col int, x []float64, codes []int32) {
	c := &e.cols[col]
	if c.Type == Categorical {
		codes[c.slot] = -1
		if k, ok := c.index[MissingCategory]; ok {
			codes[c.slot] = k
		}
		return
	}
	x[c.slot] = c.Impute
	if c.indicator >= 0 {
		x[c.indicator] = 1
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
