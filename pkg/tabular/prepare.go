package tabular

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/modelferry/modelferry/pkg/dataset"
	"github.com/modelferry/modelferry/pkg/drift"
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
	// Edges and Counts are each feature column's drift baseline (package
	// drift's quantile bins) over its training values, the missing ones
	// left out; nil for a categorical column, whose baseline is its
	// category shares.
	Edges  [][]float64
	Counts [][]uint64
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

// column is a feature column while Prepare reads it.
type column struct {
	src     int // index in the header
	typ     Type
	forced  bool
	missing int // training rows where it is missing
	slot    int // dense index (numeric) or code index (categorical)
	indSlot int // dense index of the indicator, -1 when none
	dict    map[string]int32
	values  []string // dict's keys by id
	counts  []int    // training count by id
	sum     float64  // of the present values, in row order
}

// Prepare reads src twice: first to choose the columns by s, infer their
// types (on every row, as pandas does), find the classes and count the
// missing cells; then to take the values of the rows whose label is
// present straight into the dense matrix and the codes, so memory holds
// little more than those. It then fits the transform: imputed values,
// indicators, categories and their grouping, class and sample weights.
// Errors about the table or the parameters wrap dataset.ErrInvalid and
// name the column and what to do.
func Prepare(src Source, s Spec) (*Prepared, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	header := src.Columns()
	if err := checkHeader(header); err != nil {
		return nil, err
	}
	plan, err := s.plan(header)
	if err != nil {
		return nil, err
	}
	na := newNASet(s.NAValues)
	cols := make([]*column, len(plan.features))
	for i, j := range plan.features {
		typ, forced := plan.forced[j]
		if !forced {
			typ = Numeric
		}
		cols[i] = &column{src: j, typ: typ, forced: forced, indSlot: -1}
	}

	// Pass 1: types, classes, missing counts.
	p := &Prepared{}
	classes := map[string]int32{}
	err = src.Scan(func(line int, cells []string) error {
		present := !na.missing(cells[plan.label])
		if present {
			if _, ok := classes[cells[plan.label]]; !ok {
				if len(classes) >= maxClasses {
					return specError("the label column %q has more than %d classes: is it a measurement? Name the label column with label", header[plan.label], maxClasses)
				}
				classes[strings.Clone(cells[plan.label])] = 0
			}
			p.Rows++
		} else {
			p.RowsSkipped++
		}
		for _, c := range cols {
			cell := cells[c.src]
			if na.missing(cell) {
				if present {
					c.missing++
				}
				continue
			}
			if c.typ != Numeric {
				continue
			}
			if _, ok := parseNumber(cell); !ok {
				if !c.forced {
					c.typ = Categorical
				} else if present {
					return &dataset.ParseError{Line: line, Column: header[c.src], Msg: fmt.Sprintf("%q is not a number: the column is forced numeric; fix the value, add it to na_values, or leave the column out of numeric", cell)}
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	label := header[plan.label]
	for c := range classes {
		p.Classes = append(p.Classes, c)
	}
	sort.Strings(p.Classes)
	switch len(p.Classes) {
	case 0:
		return nil, specError("the label column %q has no value in any row (%d rows skipped): fill the label or name another column", label, p.RowsSkipped)
	case 1:
		return nil, specError("the label column %q has a single class %q after skipping %d rows with a missing label: a model needs at least two classes", label, p.Classes[0], p.RowsSkipped)
	}
	for k, c := range p.Classes {
		classes[c] = int32(k)
	}

	// Layout: numeric columns, then indicators; categorical codes.
	kept := cols[:0]
	for _, c := range cols {
		if c.missing == p.Rows {
			p.Dropped = append(p.Dropped, header[c.src])
			continue
		}
		kept = append(kept, c)
	}
	cols = kept
	if len(cols) == 0 {
		return nil, specError("every feature column is missing in every row (%s): send values or choose other columns", strings.Join(p.Dropped, ", "))
	}
	dense, nc := 0, 0
	for _, c := range cols {
		if c.typ == Numeric {
			c.slot = dense
			dense++
		} else {
			c.slot = nc
			nc++
			c.dict = map[string]int32{}
		}
	}
	for _, c := range cols {
		if c.typ == Numeric && s.AddIndicator && c.missing > 0 {
			c.indSlot = dense
			dense++
		}
	}
	maxLevels := s.MaxLevels
	if maxLevels == 0 {
		maxLevels = DefaultMaxLevels
	}

	// Pass 2: the training rows' values.
	p.X = make([]float64, p.Rows*dense)
	p.Codes = make([]int32, p.Rows*nc)
	p.Y = make([]int32, p.Rows)
	var sw []float64
	if plan.weight >= 0 {
		sw = make([]float64, p.Rows)
	}
	i := 0
	err = src.Scan(func(line int, cells []string) error {
		if na.missing(cells[plan.label]) {
			return nil
		}
		if i >= p.Rows {
			return fmt.Errorf("the table changed between passes: more rows with a label")
		}
		y, ok := classes[cells[plan.label]]
		if !ok {
			return fmt.Errorf("the table changed between passes: new class")
		}
		p.Y[i] = y
		x := p.X[i*dense : i*dense+dense]
		codes := p.Codes[i*nc : i*nc+nc]
		for _, c := range cols {
			cell := cells[c.src]
			missing := na.missing(cell)
			if c.typ == Categorical {
				if missing {
					cell = MissingCategory
				}
				id, ok := c.dict[cell]
				if !ok {
					if len(c.values) >= maxLevels && s.MaxCategories == 0 && s.MinFrequency == 0 {
						return tooManyLevels(header[c.src], len(c.values)+1, maxLevels, true)
					}
					id = int32(len(c.values))
					cell = strings.Clone(cell)
					c.dict[cell] = id
					c.values = append(c.values, cell)
					c.counts = append(c.counts, 0)
				}
				c.counts[id]++
				codes[c.slot] = id
				continue
			}
			v := math.NaN()
			if !missing {
				v, _ = parseNumber(cell)
				if math.IsInf(v, 0) {
					return &dataset.ParseError{Line: line, Column: header[c.src], Msg: fmt.Sprintf("%q is not a finite number: replace it or leave the cell empty", cell)}
				}
				c.sum += v
			}
			x[c.slot] = v
			if c.indSlot >= 0 {
				x[c.indSlot] = b2f(missing)
			}
		}
		if sw != nil {
			w, err := sampleWeight(cells[plan.weight], na)
			if err != nil {
				return &dataset.ParseError{Line: line, Column: header[plan.weight], Msg: err.Error()}
			}
			sw[i] = w
		}
		i++
		return nil
	})
	if err != nil {
		return nil, err
	}
	if i != p.Rows {
		return nil, fmt.Errorf("the table changed between passes: %d rows with a label, then %d", p.Rows, i)
	}

	tr := &Transform{NAValues: s.NAValues}
	if tr.NAValues == nil {
		tr.NAValues = DefaultNAValues()
	}
	var buf []float64
	for _, c := range cols {
		col := Column{Name: header[c.src], Type: c.typ, MissingShare: float64(c.missing) / float64(p.Rows)}
		if c.typ == Numeric {
			col.Indicator = c.indSlot >= 0
			buf = buf[:0]
			for r := 0; r < p.Rows; r++ {
				if v := p.X[r*dense+c.slot]; !math.IsNaN(v) {
					buf = append(buf, v)
				}
			}
			col.Impute = impute(buf, s.Impute)
			edges := drift.Edges(buf, drift.DefaultBins)
			p.Edges = append(p.Edges, edges)
			p.Counts = append(p.Counts, drift.Counts(edges, buf))
			if c.missing > 0 {
				for r := 0; r < p.Rows; r++ {
					if x := &p.X[r*dense+c.slot]; math.IsNaN(*x) {
						*x = col.Impute
					}
				}
			}
		} else {
			p.Edges, p.Counts = append(p.Edges, nil), append(p.Counts, nil)
			remap := groupCategories(&col, c.values, c.counts, p.Rows, s)
			if col.Levels() > maxLevels {
				return nil, tooManyLevels(col.Name, col.Levels(), maxLevels, false)
			}
			for r := 0; r < p.Rows; r++ {
				x := &p.Codes[r*nc+c.slot]
				*x = remap[*x]
			}
			c.dict = nil
		}
		tr.Columns = append(tr.Columns, col)
	}
	if p.Encoder, err = tr.Encoder(); err != nil {
		return nil, err
	}
	p.Transform = tr
	if p.Weight, err = rowWeights(sw, p, s.ClassWeight, label); err != nil {
		return nil, err
	}
	return p, nil
}

// maxClasses bounds the label's classes, as dataset.DefaultMaxClasses.
const maxClasses = dataset.DefaultMaxClasses

func tooManyLevels(name string, n, limit int, atLeast bool) error {
	more := ""
	if atLeast {
		more = "more than "
		n = limit
	}
	return specError("column %q has %s%d categories, over the limit of %d: drop it (drop=%s) or group rare categories with max_categories", name, more, n, limit, name)
}

// sampleWeight reads a sample-weight cell.
func sampleWeight(cell string, na naSet) (float64, error) {
	if na.missing(cell) {
		return 0, fmt.Errorf("the sample weight is missing: give every row a weight >= 0")
	}
	v, ok := parseNumber(cell)
	switch {
	case !ok:
		return 0, fmt.Errorf("sample weight %q is not a number: give every row a weight >= 0", cell)
	case math.IsInf(v, 0):
		return 0, fmt.Errorf("sample weight %q is not finite: give every row a finite weight >= 0", cell)
	case v < 0:
		return 0, fmt.Errorf("sample weight %s is negative: give every row a weight >= 0", cell)
	}
	return v, nil
}

// rowWeights returns each training row's sample weight (sw, nil for 1)
// times its class weight, or nil when all are 1.
func rowWeights(sw []float64, p *Prepared, cw ClassWeight, label string) ([]float64, error) {
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
				return nil, specError("class_weight names class %q, which the label column %q does not have (classes: %s): use one of them", c, label, columnList(p.Classes))
			}
			classW[i] = w
		}
	case sw == nil:
		return nil, nil
	}
	w := sw
	if w == nil {
		w = make([]float64, p.Rows)
		for i := range w {
			w[i] = 1
		}
	}
	sum := 0.0
	for i, y := range p.Y {
		w[i] *= classW[y]
		sum += w[i]
	}
	if !(sum > 0) {
		return nil, specError("the sample and class weights sum to zero: give some rows a positive weight")
	}
	return w, nil
}
