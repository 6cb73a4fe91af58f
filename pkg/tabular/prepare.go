package tabular

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/modelferry/modelferry/pkg/dataset"
	"github.com/modelferry/modelferry/pkg/logreg"
)

// Prepared is a table made ready to fit: the transform fitted on the
// training rows and those rows encoded by it.
type Prepared struct {
	Transform *Transform
	Encoder   *Encoder
	// Classes are the label's classes, sorted as strings.
	Classes []string
	// X holds Rows × Encoder.Dense() dense features, row-major; Codes
	// holds Rows × Encoder.Codes() category codes.
	X     []float64
	Codes []int32
	Y     []int32
	// Weight is each row's sample weight times its class weight; nil when
	// every row weighs 1.
	Weight []float64
	Rows   int
	// RowsSkipped counts the rows skipped for a missing label.
	RowsSkipped int
	// Dropped names the feature columns missing in every training row.
	Dropped []string
}

// Data is the training set logreg fits: the dense features (indicators
// unscaled), the codes, the classes and the row weights. Fitted with
// Options.Standardize, the model is scikit-learn's Pipeline.
func (p *Prepared) Data() logreg.Data {
	d := logreg.Data{
		X:        p.X,
		Y:        p.Y,
		Rows:     p.Rows,
		Features: p.Encoder.Dense(),
		Classes:  len(p.Classes),
		Codes:    p.Codes,
		Levels:   p.Encoder.Levels(),
		Unscaled: p.Encoder.Unscaled(),
		Weight:   p.Weight,
	}
	if len(d.Levels) == 0 {
		d.Codes = nil
	}
	return d
}

// Prepare chooses t's columns by s, infers their types, fits the transform
// on the rows whose label is present and encodes them. Errors about the
// table or the parameters wrap dataset.ErrInvalid and name the column and
// what to do.
func Prepare(t *Table, s Spec) (*Prepared, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if err := checkHeader(t.Header); err != nil {
		return nil, err
	}
	for i, r := range t.Rows {
		if len(r) != len(t.Header) {
			return nil, &dataset.ParseError{Line: t.line(i), Msg: fmt.Sprintf("%d fields, the header has %d", len(r), len(t.Header))}
		}
	}
	plan, err := s.plan(t.Header)
	if err != nil {
		return nil, err
	}
	na := newNASet(s.NAValues)
	p := &Prepared{}

	// Rows with a label.
	var rows []int
	classIndex := map[string]int32{}
	for i, r := range t.Rows {
		if na.missing(r[plan.label]) {
			p.RowsSkipped++
			continue
		}
		rows = append(rows, i)
		classIndex[r[plan.label]] = 0
	}
	for c := range classIndex {
		p.Classes = append(p.Classes, c)
	}
	sort.Strings(p.Classes)
	label := t.Header[plan.label]
	switch len(p.Classes) {
	case 0:
		return nil, specError("the label column %q has no value in any row (%d rows skipped): fill the label or name another column", label, p.RowsSkipped)
	case 1:
		return nil, specError("the label column %q has a single class %q after skipping %d rows with a missing label: a model needs at least two classes", label, p.Classes[0], p.RowsSkipped)
	}
	for k, c := range p.Classes {
		classIndex[c] = int32(k)
	}
	p.Rows = len(rows)
	p.Y = make([]int32, len(rows))
	for i, r := range rows {
		p.Y[i] = classIndex[t.Rows[r][plan.label]]
	}

	tr := &Transform{NAValues: s.NAValues}
	if tr.NAValues == nil {
		tr.NAValues = DefaultNAValues()
	}
	for _, j := range plan.features {
		c, err := fitColumn(t, j, rows, plan.forced[j], na, s)
		if err != nil {
			return nil, err
		}
		if c == nil {
			p.Dropped = append(p.Dropped, t.Header[j])
			continue
		}
		tr.Columns = append(tr.Columns, *c)
	}
	if len(tr.Columns) == 0 {
		return nil, specError("every feature column is missing in every row (%v): send values or choose other columns", p.Dropped)
	}
	enc, err := tr.Encoder()
	if err != nil {
		return nil, err
	}
	p.Transform, p.Encoder = tr, enc

	pos := make([]int, len(tr.Columns))
	for i := range tr.Columns {
		pos[i] = slices.Index(t.Header, tr.Columns[i].Name)
	}
	d, nc := enc.Dense(), enc.Codes()
	p.X = make([]float64, p.Rows*d)
	p.Codes = make([]int32, p.Rows*nc)
	for i, r := range rows {
		if err := enc.EncodeRecord(t.Rows[r], pos, p.X[i*d:i*d+d], p.Codes[i*nc:i*nc+nc]); err != nil {
			if pe, ok := err.(*dataset.ParseError); ok {
				pe.Line = t.line(r)
			}
			return nil, err
		}
	}
	if p.Weight, err = weights(t, plan, rows, p, s.ClassWeight, na); err != nil {
		return nil, err
	}
	return p, nil
}

// fitColumn infers column j's type (on every row, as pandas does) and fits
// its transform on the training rows; it returns nil for a column missing
// in every training row.
func fitColumn(t *Table, j int, rows []int, forced Type, na naSet, s Spec) (*Column, error) {
	name := t.Header[j]
	typ := forced
	if typ == "" {
		typ = Numeric
		for _, r := range t.Rows {
			cell := r[j]
			if na.missing(cell) {
				continue
			}
			if _, ok := parseNumber(cell); !ok {
				typ = Categorical
				break
			}
		}
	}
	c := &Column{Name: name, Type: typ}
	n := float64(len(rows))
	if typ == Categorical {
		counts := map[string]int{}
		missing := 0
		for _, r := range rows {
			cell := t.Rows[r][j]
			if na.missing(cell) {
				missing++
				cell = MissingCategory
			}
			counts[cell]++
		}
		if missing == len(rows) {
			return nil, nil
		}
		c.MissingShare = float64(missing) / n
		groupCategories(c, counts, len(rows), s)
		maxLevels := s.MaxLevels
		if maxLevels == 0 {
			maxLevels = DefaultMaxLevels
		}
		if c.Levels() > maxLevels {
			return nil, specError("column %q has %d categories, over the limit of %d: drop it (drop=%s) or group rare categories with max_categories", name, c.Levels(), maxLevels, name)
		}
		return c, nil
	}

	vals := make([]float64, 0, len(rows))
	for _, r := range rows {
		cell := t.Rows[r][j]
		if na.missing(cell) {
			continue
		}
		v, ok := parseNumber(cell)
		if !ok {
			return nil, &dataset.ParseError{Line: t.line(r), Column: name, Msg: fmt.Sprintf("%q is not a number: the column is forced numeric; fix the value, add it to na_values, or leave the column out of numeric", cell)}
		}
		if math.IsInf(v, 0) {
			return nil, &dataset.ParseError{Line: t.line(r), Column: name, Msg: fmt.Sprintf("%q is not a finite number: replace it or leave the cell empty", cell)}
		}
		vals = append(vals, v)
	}
	if len(vals) == 0 {
		return nil, nil
	}
	missing := len(rows) - len(vals)
	c.MissingShare = float64(missing) / n
	c.Indicator = s.AddIndicator && missing > 0
	c.Impute = impute(vals, s.Impute)
	return c, nil
}

// impute returns SimpleImputer's statistic of vals (not empty). It sorts
// vals.
func impute(vals []float64, strategy string) float64 {
	switch strategy {
	case ImputeMedian:
		slices.Sort(vals)
		m := len(vals) / 2
		if len(vals)%2 == 1 {
			return vals[m]
		}
		return (vals[m-1] + vals[m]) / 2
	case ImputeMostFrequent:
		// The most frequent value; on a tie the smallest, as scipy's mode.
		slices.Sort(vals)
		best, bestN := vals[0], 0
		for i := 0; i < len(vals); {
			k := i
			for k < len(vals) && vals[k] == vals[i] {
				k++
			}
			if k-i > bestN {
				best, bestN = vals[i], k-i
			}
			i = k
		}
		return best
	default:
		sum := 0.0
		for _, v := range vals {
			sum += v
		}
		return sum / float64(len(vals))
	}
}

// groupCategories sets c's categories, shares and infrequent group from
// the training counts as OneHotEncoder(max_categories, min_frequency)
// does: categories sorted; those under min_frequency are infrequent; if
// more than max_categories (counting the infrequent group as one) remain,
// the least frequent are grouped too, ties broken by a stable sort, so
// the earlier category in sorted order is grouped first.
func groupCategories(c *Column, counts map[string]int, rows int, s Spec) {
	cats := make([]string, 0, len(counts))
	for v := range counts {
		cats = append(cats, v)
	}
	sort.Strings(cats)
	infrequent := make([]bool, len(cats))
	if m := s.MinFrequency; m > 0 {
		limit := m
		if m < 1 {
			limit = float64(rows) * m
		}
		for i, v := range cats {
			infrequent[i] = float64(counts[v]) < limit
		}
	}
	grouped := 0
	for _, b := range infrequent {
		if b {
			grouped++
		}
	}
	if mc := s.MaxCategories; mc > 0 && mc < len(cats)-grouped+1 {
		order := make([]int, len(cats))
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return counts[cats[order[a]]] < counts[cats[order[b]]] })
		for _, i := range order[:len(cats)-(mc-1)] {
			infrequent[i] = true
		}
	}
	n := float64(rows)
	for i, v := range cats {
		share := float64(counts[v]) / n
		if infrequent[i] {
			c.Infrequent = append(c.Infrequent, v)
			c.InfrequentShare += share
			continue
		}
		c.Categories = append(c.Categories, v)
		c.Shares = append(c.Shares, share)
	}
}

// weights returns each training row's sample weight times its class
// weight, or nil when all are 1.
func weights(t *Table, plan columnPlan, rows []int, p *Prepared, cw ClassWeight, na naSet) ([]float64, error) {
	k := len(p.Classes)
	classW := make([]float64, k)
	for i := range classW {
		classW[i] = 1
	}
	switch {
	case cw.Balanced:
		// n / (classes · count), on the unweighted counts.
		counts := make([]int, k)
		for _, y := range p.Y {
			counts[y]++
		}
		for i, c := range counts {
			classW[i] = float64(p.Rows) / (float64(k) * float64(c))
		}
	case len(cw.Weights) > 0:
		for c, w := range cw.Weights {
			i, ok := slices.BinarySearch(p.Classes, c)
			if !ok {
				return nil, specError("class_weight names class %q, which the label column %q does not have (classes: %s): use one of them", c, t.Header[plan.label], columnList(p.Classes))
			}
			classW[i] = w
		}
	}
	if plan.weight < 0 && !cw.Balanced && len(cw.Weights) == 0 {
		return nil, nil
	}
	w := make([]float64, len(rows))
	name := ""
	if plan.weight >= 0 {
		name = t.Header[plan.weight]
	}
	sum := 0.0
	for i, r := range rows {
		sw := 1.0
		if plan.weight >= 0 {
			cell := t.Rows[r][plan.weight]
			if na.missing(cell) {
				return nil, &dataset.ParseError{Line: t.line(r), Column: name, Msg: "the sample weight is missing: give every row a weight >= 0"}
			}
			v, ok := parseNumber(cell)
			switch {
			case !ok:
				return nil, &dataset.ParseError{Line: t.line(r), Column: name, Msg: fmt.Sprintf("sample weight %q is not a number: give every row a weight >= 0", cell)}
			case math.IsInf(v, 0):
				return nil, &dataset.ParseError{Line: t.line(r), Column: name, Msg: fmt.Sprintf("sample weight %q is not finite: give every row a finite weight >= 0", cell)}
			case v < 0:
				return nil, &dataset.ParseError{Line: t.line(r), Column: name, Msg: fmt.Sprintf("sample weight %s is negative: give every row a weight >= 0", cell)}
			}
			sw = v
		}
		w[i] = sw * classW[p.Y[i]]
		sum += w[i]
	}
	if !(sum > 0) {
		return nil, specError("the sample and class weights sum to zero: give some rows a positive weight")
	}
	return w, nil
}
