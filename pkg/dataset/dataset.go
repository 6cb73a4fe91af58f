// Package dataset reads tabular CSV training data into a dense float64 matrix
// with integer class labels, and splits it into stratified train and test
// parts.
package dataset

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DefaultMaxClasses bounds the distinct labels a dataset may have; more
// usually means the label column is a measurement, not a class.
const DefaultMaxClasses = 1000

// Dataset is a parsed CSV: Rows × len(Features) values, row-major, and the
// class index of each row into Classes (sorted as strings).
type Dataset struct {
	Features []string
	Label    string
	Classes  []string
	X        []float64
	Y        []int
}

// Rows is the number of data rows.
func (d *Dataset) Rows() int { return len(d.Y) }

// Row returns the features of row i, aliased into X.
func (d *Dataset) Row(i int) []float64 {
	f := len(d.Features)
	return d.X[i*f : i*f+f : i*f+f]
}

// Options tunes parsing.
type Options struct {
	// Label names the label column; empty means the last column.
	Label string
	// MaxClasses bounds the distinct labels; 0 means DefaultMaxClasses.
	MaxClasses int
	// SizeHint is the input's size in bytes when known. It lets the parser
	// reserve the matrix once instead of growing it.
	SizeHint int64
}

// ErrInvalid is wrapped by every error about the content of the data, as
// opposed to an error reading it.
var ErrInvalid = errors.New("invalid dataset")

// ParseError locates a problem in the input.
type ParseError struct {
	Line   int    // 1-based line of the input; 0 when not about one line
	Column string // column name, when about one cell
	Msg    string
}

func (e *ParseError) Error() string {
	switch {
	case e.Line > 0 && e.Column != "":
		return fmt.Sprintf("line %d, column %s: %s", e.Line, e.Column, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// Unwrap makes every ParseError match ErrInvalid.
func (e *ParseError) Unwrap() error { return ErrInvalid }

// Parse reads a CSV with a header row. Every column but the label must be
// numeric. It reads the input once, streaming, and keeps only the matrix,
// the labels and the distinct class names.
func Parse(r io.Reader, opts Options) (*Dataset, error) {
	if opts.MaxClasses <= 0 {
		opts.MaxClasses = DefaultMaxClasses
	}
	br := bufio.NewReaderSize(r, 64<<10)
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	cr.FieldsPerRecord = -1 // checked below, with a clearer message

	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &ParseError{Msg: "the file is empty"}
	}
	if err != nil {
		return nil, csvError(err)
	}
	header = slices.Clone(header)
	label, err := checkHeader(header, opts.Label)
	if err != nil {
		return nil, err
	}
	d := &Dataset{Label: header[label]}
	for i, h := range header {
		if i != label {
			d.Features = append(d.Features, h)
		}
	}
	nf := len(d.Features)
	if nf == 0 {
		return nil, &ParseError{Line: 1, Msg: "no feature columns besides the label"}
	}

	classIDs := map[string]int{}
	var names []string
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			return nil, &ParseError{Line: line, Msg: fmt.Sprintf("%d fields, the header has %d", len(rec), len(header))}
		}
		if d.X == nil {
			d.reserve(opts.SizeHint, rec, nf)
		}
		for i, field := range rec {
			if i == label {
				continue
			}
			v, err := parseNumber(field)
			if err != nil {
				return nil, &ParseError{Line: line, Column: header[i], Msg: err.Error()}
			}
			d.X = append(d.X, v)
		}
		lv := rec[label]
		if lv == "" {
			return nil, &ParseError{Line: line, Column: header[label], Msg: "empty label"}
		}
		id, ok := classIDs[lv]
		if !ok {
			if !utf8.ValidString(lv) {
				return nil, &ParseError{Line: line, Column: header[label], Msg: "label is not valid UTF-8"}
			}
			if len(names) == opts.MaxClasses {
				return nil, &ParseError{Line: line, Column: header[label],
					Msg: fmt.Sprintf("more than %d distinct labels: is %s the class column?", opts.MaxClasses, header[label])}
			}
			id = len(names)
			classIDs[strings.Clone(lv)] = id
			names = append(names, strings.Clone(lv))
		}
		d.Y = append(d.Y, id)
	}
	if len(d.Y) == 0 {
		return nil, &ParseError{Msg: "no data rows after the header"}
	}
	if len(names) < 2 {
		return nil, &ParseError{Column: header[label], Msg: fmt.Sprintf("column %s has a single class %q; need at least two", header[label], names[0])}
	}
	d.Classes = slices.Clone(names)
	slices.Sort(d.Classes)
	remap := make([]int, len(names))
	for i, n := range names {
		remap[i], _ = slices.BinarySearch(d.Classes, n)
	}
	for i, y := range d.Y {
		d.Y[i] = remap[y]
	}
	return d, nil
}

// reserve sizes X and Y from the input size and the first row's length, so
// a large file is not copied as the slices grow.
func (d *Dataset) reserve(size int64, first []string, nf int) {
	if size <= 0 {
		return
	}
	rowLen := int64(len(first)) // separators and newline
	for _, f := range first {
		rowLen += int64(len(f))
	}
	rows := size/max(rowLen, 1) + 16
	rows += rows / 8 // rows vary in length
	const maxReserve = 1 << 28
	if rows*int64(nf) > maxReserve {
		return
	}
	d.X = make([]float64, 0, rows*int64(nf))
	d.Y = make([]int, 0, rows)
}

func checkHeader(header []string, want string) (int, error) {
	seen := make(map[string]int, len(header))
	for i, h := range header {
		if !utf8.ValidString(h) {
			return 0, &ParseError{Line: 1, Msg: fmt.Sprintf("column %d: name is not valid UTF-8", i+1)}
		}
		if strings.TrimSpace(h) == "" {
			return 0, &ParseError{Line: 1, Msg: fmt.Sprintf("column %d has an empty name", i+1)}
		}
		if j, dup := seen[h]; dup {
			return 0, &ParseError{Line: 1, Msg: fmt.Sprintf("duplicate column name %q (columns %d and %d)", h, j+1, i+1)}
		}
		seen[h] = i
	}
	if len(header) < 2 {
		return 0, &ParseError{Line: 1, Msg: "need at least one feature column and a label column"}
	}
	if want == "" {
		return len(header) - 1, nil
	}
	i, ok := seen[want]
	if !ok {
		return 0, &ParseError{Line: 1, Msg: fmt.Sprintf("no label column %q; columns are %s", want, strings.Join(header, ", "))}
	}
	return i, nil
}

func parseNumber(s string) (float64, error) {
	if s == "" {
		return 0, errors.New("empty value")
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		if !utf8.ValidString(s) {
			return 0, errors.New("value is not valid UTF-8")
		}
		if len(s) > 40 {
			s = s[:40] + "…"
			if !utf8.ValidString(s) {
				s = strings.ToValidUTF8(s, "")
			}
		}
		if err == nil {
			return 0, fmt.Errorf("%q is not a finite number", s)
		}
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("%q is out of range for float64", s)
		}
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return v, nil
}

// csvError turns encoding/csv's errors (ragged rows, bad quotes) into
// ParseErrors.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &ParseError{Line: pe.Line, Msg: pe.Err.Error()}
	}
	return fmt.Errorf("read csv: %w", err)
}
