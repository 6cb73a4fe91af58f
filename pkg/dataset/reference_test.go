package dataset

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"unicode/utf8"
)

// referenceParse is the parser before parallel parsing: encoding/csv and
// strconv.ParseFloat, one row after another. Parse must give the same
// result and the same errors.
func referenceParse(r io.Reader, opts Options) (*Dataset, error) {
	if opts.MaxClasses <= 0 {
		opts.MaxClasses = DefaultMaxClasses
	}
	if opts.MaxNameBytes <= 0 {
		opts.MaxNameBytes = DefaultMaxNameBytes
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
	label, err := checkHeader(header, opts.Label, opts.MaxNameBytes)
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
		for i, field := range rec {
			if i == label {
				continue
			}
			v, err := parseNumberSlow(field)
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
			if len(lv) > opts.MaxNameBytes {
				return nil, &ParseError{Line: line, Column: header[label],
					Msg: fmt.Sprintf("label is %d bytes; the limit is %d", len(lv), opts.MaxNameBytes)}
			}
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
		d.Y = append(d.Y, int32(id))
	}
	if len(d.Y) == 0 {
		return nil, &ParseError{Msg: "no data rows after the header"}
	}
	if len(names) < 2 {
		return nil, &ParseError{Column: header[label], Msg: fmt.Sprintf("column %s has a single class %q; need at least two", header[label], names[0])}
	}
	d.Classes = sortClasses(names, d.Y)
	return d, nil
}

// referenceSplit is Split before it kept its indexes small: Split must give
// the same rows in the same order.
func referenceSplit(d *Dataset, testFraction float64, seed uint64) (train, test *Dataset, err error) {
	if !(testFraction >= 0 && testFraction < 1) {
		return nil, nil, fmt.Errorf("%w: test fraction %v is outside [0, 1)", ErrInvalid, testFraction)
	}
	if testFraction == 0 {
		return d, nil, nil
	}
	seen := make([]int, len(d.Classes))
	for _, y := range d.Y {
		seen[y]++
	}
	picks := make([]int, len(d.Classes))
	for k, n := range seen {
		if n < 2 {
			return nil, nil, fmt.Errorf("%w: class %q has %d row(s); a train/test split needs at least 2 per class (or test_fraction 0)",
				ErrInvalid, d.Classes[k], n)
		}
		picks[k] = min(max(int(math.Round(testFraction*float64(n))), 1), n-1)
	}
	// Algorithm S: row i of class y is picked with probability
	// picks left / rows of y left.
	rng := rand.New(rand.NewPCG(seed, 0x6d6f64656c666572))
	isTest := make([]bool, d.Rows())
	tests := 0
	for i, y := range d.Y {
		if rng.IntN(seen[y]) < picks[y] {
			isTest[i] = true
			picks[y]--
			tests++
		}
		seen[y]--
	}
	// Test rows before the cut and training rows after it trade places,
	// the k-th with the k-th.
	cut := d.Rows() - tests
	var frontTests, backTrains []int
	for i, t := range isTest {
		if t && i < cut {
			frontTests = append(frontTests, i)
		}
		if !t && i >= cut {
			backTrains = append(backTrains, i)
		}
	}
	order := make([]int, d.Rows())
	for i := range order {
		order[i] = i
	}
	for k := range frontTests {
		order[frontTests[k]], order[backTrains[k]] = backTrains[k], frontTests[k]
	}
	d.referenceReorder(order)
	nf := len(d.Features)
	train = &Dataset{Features: d.Features, Label: d.Label, Classes: d.Classes, X: d.X[: cut*nf : cut*nf], Y: d.Y[:cut:cut]}
	test = &Dataset{Features: d.Features, Label: d.Label, Classes: d.Classes, X: d.X[cut*nf:], Y: d.Y[cut:]}
	return train, test, nil
}

// reorder permutes rows in place so that new row p is old row order[p],
// following the permutation's cycles with one spare row.
func (d *Dataset) referenceReorder(order []int) {
	nf := len(d.Features)
	done := make([]bool, len(order))
	tmp := make([]float64, nf)
	for start := range order {
		if done[start] || order[start] == start {
			done[start] = true
			continue
		}
		copy(tmp, d.Row(start))
		ty := d.Y[start]
		p := start
		for {
			src := order[p]
			done[p] = true
			if src == start {
				copy(d.Row(p), tmp)
				d.Y[p] = ty
				break
			}
			copy(d.Row(p), d.Row(src))
			d.Y[p] = d.Y[src]
			p = src
		}
	}
}
