// Package tabular turns a table as it comes — numbers and text, empty cells,
// an ID column — into what logreg fits: the transform of scikit-learn's
//
//	ColumnTransformer([
//	    numeric:     SimpleImputer(strategy) → StandardScaler(),
//	    indicators:  MissingIndicator(features="missing-only"), unscaled,
//	    categorical: SimpleImputer(strategy="constant") →
//	                 OneHotEncoder(handle_unknown="ignore", max_categories, min_frequency),
//	])
//
// with class and sample weights. Numeric columns stay dense float64 and
// categorical ones int32 codes; the one-hot matrix is never built: the
// kernels in logreg gather one coefficient per code.
//
// Prepare reads a Source twice (a Table in memory, or a CSVFile streamed
// from disk so that memory holds only the float64 numerics and the int32
// codes), chooses the columns, infers their types, fits the transform on
// the training rows and returns the logreg.Data to fit; Transform.Encoder
// maps records to the same dense values and codes at prediction time.
// The goldens in testdata come from scikit-learn (testdata/generate.py).
package tabular

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/modelferry/modelferry/pkg/dataset"
)

// DefaultNAValues returns pandas' default missing-value strings (the
// pandas 2 list): a cell equal to one of them is missing.
func DefaultNAValues() []string {
	return []string{"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
		"1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
}

// MissingCategory is the category a missing categorical cell becomes, as
// SimpleImputer(strategy="constant") fills text columns.
const MissingCategory = "missing_value"

// MissingCode is the code of a missing cell in a categorical column that
// had no missing cell in training: like an unseen category (-1) it
// contributes nothing to the scores, but drift monitoring tells the two
// apart.
const MissingCode int32 = -2

// Table is a header and rows of cells as they were read.
type Table struct {
	Header []string
	Rows   [][]string
	// Lines holds the 1-based input line of each row, for error messages;
	// nil means row i is on line i+2.
	Lines []int
}

// line is the input line of row i.
func (t *Table) line(i int) int {
	if t.Lines != nil {
		return t.Lines[i]
	}
	return i + 2
}

// ReadCSV reads a CSV table with a header line, keeping every cell as it
// is written (no trimming: " red" and "red" are different categories, as
// in pandas). Rows must have as many fields as the header.
func ReadCSV(r io.Reader) (*Table, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &dataset.ParseError{Msg: "the table is empty: send a header line and rows"}
	}
	if err != nil {
		return nil, csvError(err)
	}
	if err := checkHeader(header); err != nil {
		return nil, err
	}
	t := &Table{Header: header}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		line, _ := cr.FieldPos(0)
		t.Rows = append(t.Rows, rec)
		t.Lines = append(t.Lines, line)
	}
	return t, nil
}

func checkHeader(header []string) error {
	seen := make(map[string]int, len(header))
	for i, h := range header {
		if strings.TrimSpace(h) == "" {
			return &dataset.ParseError{Line: 1, Msg: fmt.Sprintf("column %d has an empty name: name every column in the header", i+1)}
		}
		if j, dup := seen[h]; dup {
			return &dataset.ParseError{Line: 1, Msg: fmt.Sprintf("duplicate column name %q (columns %d and %d): rename one", h, j+1, i+1)}
		}
		seen[h] = i
	}
	return nil
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &dataset.ParseError{Line: pe.Line, Msg: pe.Err.Error()}
	}
	return fmt.Errorf("read csv: %w", err)
}

// naSet tells missing cells.
type naSet map[string]struct{}

func newNASet(values []string) naSet {
	if values == nil {
		values = DefaultNAValues()
	}
	s := make(naSet, len(values))
	for _, v := range values {
		s[v] = struct{}{}
	}
	return s
}

func (s naSet) missing(cell string) bool {
	_, ok := s[cell]
	return ok
}

// parseNumber reads a cell as pandas reads a number: a decimal or
// exponent form, surrounding spaces allowed; "inf" and "Infinity" parse
// (and are rejected later as not finite). Hexadecimal forms and
// underscores, which strconv would take, are not numbers here.
func parseNumber(cell string) (float64, bool) {
	s := strings.TrimSpace(cell)
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '_', 'x', 'X', 'p', 'P':
			return 0, false
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return v, true // ±Inf or 0: a number out of float64's range
		}
		return 0, false
	}
	return v, true
}
