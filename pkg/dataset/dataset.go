// Package dataset reads tabular CSV training data into a dense float64 matrix
// with integer class labels, and splits it into stratified train and test
// parts.
//
// Parsing reads the input once, in blocks cut at row boundaries that
// several goroutines parse straight into the matrix; the result is the same
// as encoding/csv's reading (with TrimLeadingSpace) and strconv.ParseFloat's
// numbers, bit for bit.
package dataset

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// DefaultMaxClasses bounds the distinct labels a dataset may have; more
// usually means the label column is a measurement, not a class.
const DefaultMaxClasses = 1000

// DefaultMaxNameBytes bounds a column name or a label.
const DefaultMaxNameBytes = 256

// Dataset is a parsed CSV: Rows × len(Features) values, row-major, and the
// class index of each row into Classes (sorted as strings).
type Dataset struct {
	Features []string
	Label    string
	Classes  []string
	X        []float64
	Y        []int32
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
	// MaxNameBytes bounds every name: each column name and each label,
	// checked as it is read, however many classes there are; 0 means
	// DefaultMaxNameBytes.
	MaxNameBytes int
	// SizeHint is the input's size in bytes when known. It lets the parser
	// reserve the matrix once instead of growing it, and is the total that
	// OnProgress reports.
	SizeHint int64
	// Workers bounds the goroutines that parse; 0 means GOMAXPROCS. The
	// result does not depend on it.
	Workers int
	// Digest, when set, is written every byte of the input, in order, as
	// it is read: a sha256.New() there hashes the file in the same pass.
	Digest io.Writer
	// OnProgress, when set, is called from Parse's goroutine after every
	// block read, with the bytes read so far and SizeHint.
	OnProgress func(read, total int64)

	// blockSize is the bytes read at a time; tests make it small to cross
	// many block boundaries.
	blockSize int
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

func checkHeader(header []string, want string, maxName int) (int, error) {
	seen := make(map[string]int, len(header))
	for i, h := range header {
		if len(h) > maxName {
			return 0, &ParseError{Line: 1, Msg: fmt.Sprintf("column %d: name is %d bytes; the limit is %d", i+1, len(h), maxName)}
		}
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

// csvError turns encoding/csv's errors (ragged rows, bad quotes) into
// ParseErrors.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &ParseError{Line: pe.Line, Msg: pe.Err.Error()}
	}
	return fmt.Errorf("read csv: %w", err)
}
