package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"sort"

	"github.com/modelferry/modelferry/pkg/dataset"
	"github.com/modelferry/modelferry/pkg/modelstore/names"
	"github.com/modelferry/modelferry/pkg/tabular"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

// table is a table as it came, made ready to fit: the transform fitted on
// the training rows, and the test rows packed (dense features, then
// codes; see logreg.Packed).
type table struct {
	prep  *tabular.Prepared
	test  []float64
	testY []int32
	info  registry.DatasetInfo
	label string
}

// trainSet is the training rows packed, to evaluate on when there is no
// test set.
func (t *table) trainSet() ([]float64, []int32) {
	p := t.prep
	dense, nc := p.Encoder.Dense(), p.Encoder.Codes()
	w := dense + nc
	x := make([]float64, p.Rows*w)
	for i := range p.Rows {
		copy(x[i*w:], p.X[i*dense:(i+1)*dense])
		for j, c := range p.Codes[i*nc : (i+1)*nc] {
			x[i*w+dense+j] = float64(c)
		}
	}
	return x, p.Y
}

// loadTable reads src as a table as it comes (package tabular): three
// passes over the file, none holding more than a record beside the
// output: the labels for the split, then Prepare's two passes over the
// training rows, then the test rows.
func loadTable(ctx context.Context, store Datasets, src Source, label string, p registry.Params, lim Limits,
	report func(read, total int64)) (*table, error) {
	lim = lim.orDefaults()
	var (
		passes int
		sum    string
		size   int64
	)
	csvFile, err := tabular.OpenCSV(func() (io.ReadCloser, error) {
		r, n, err := open(ctx, store, src)
		if err != nil {
			return nil, err
		}
		passes++
		if passes != 2 {
			return readCloser{ctxReader{ctx, r}, r}, nil
		}
		// The first whole pass: hashed, and its progress shown.
		report(0, n)
		counted := &countingReader{r: r, total: n, report: report}
		rd := &hashingReader{r: ctxReader{ctx, counted}, h: sha256.New(), done: func(s string, n int64) { sum, size = s, n }}
		return readCloser{rd, r}, nil
	})
	if err != nil {
		return nil, tableError(ctx, err)
	}
	header := csvFile.Columns()
	if len(header)-1 > lim.MaxFeatures {
		return nil, limitError("the table has %d columns; the limit is %d feature columns and the label (TRAINER_MAX_FEATURES)", len(header), lim.MaxFeatures)
	}
	for _, h := range header {
		if len(h) > lim.MaxNameBytes {
			return nil, limitError("column name %s is %d bytes; the limit is %d", names.Quote(h), len(h), lim.MaxNameBytes)
		}
	}
	spec := p.Table.Spec(label, lim.MaxCategories)
	if err := spec.CheckColumns(header); err != nil {
		return nil, err
	}
	var isTest dataset.RowSet
	if p.TestFraction > 0 {
		if isTest, err = splitRows(csvFile, spec, p.TestFraction, p.Seed); err != nil {
			return nil, tableError(ctx, err)
		}
	}
	prep, err := tabular.Prepare(tabular.Rows(csvFile, func(i int) bool { return isTest == nil || !isTest.Has(i) }), spec)
	if err != nil {
		return nil, tableError(ctx, err)
	}
	t := &table{prep: prep}
	width := prep.Encoder.Dense()
	for _, l := range prep.Encoder.Levels() {
		width += l
	}
	kw := len(prep.Classes)
	if kw == 2 {
		kw = 1
	}
	switch {
	case len(prep.Classes) > lim.MaxClasses:
		return nil, limitError("the label has %d classes; the limit is %d (TRAINER_MAX_CLASSES)", len(prep.Classes), lim.MaxClasses)
	case (width+1)*kw > lim.MaxParameters:
		return nil, limitError("%d features and categories (+1 intercept) × %d coefficient rows = %d coefficients; the limit is %d (TRAINER_MAX_PARAMETERS): drop columns or group rare categories with max_categories",
			width, kw, (width+1)*kw, lim.MaxParameters)
	}
	for _, c := range prep.Classes {
		if len(c) > lim.MaxNameBytes {
			return nil, limitError("class label %s is %d bytes; the limit is %d", names.Quote(c), len(c), lim.MaxNameBytes)
		}
	}
	if isTest != nil {
		if err := t.encodeTest(csvFile, spec.Label, isTest); err != nil {
			return nil, tableError(ctx, err)
		}
	}
	if passes < 2 || sum == "" {
		return nil, fmt.Errorf("table read without a whole pass")
	}
	t.label = header[len(header)-1]
	if label != "" {
		t.label = label
	}
	t.info = registry.DatasetInfo{Filename: src.Name, SHA256: sum, Bytes: size, Rows: prep.Rows + len(t.testY),
		Features: columnNames(prep.Transform), Classes: prep.Classes}
	if src.Path == "" {
		key, err := store.DatasetKey(src.Ref)
		if err != nil {
			return nil, err
		}
		t.info.URI = store.DatasetURI(key)
	}
	return t, nil
}

// tableError keeps a cancellation a cancellation.
func tableError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// splitRows reads the labels and picks the test rows as dataset.Split
// does: stratified by class, rows without a label in neither part.
func splitRows(src tabular.Source, spec tabular.Spec, fraction float64, seed uint64) (dataset.RowSet, error) {
	header := src.Columns()
	col := len(header) - 1
	if spec.Label != "" {
		col = slices.Index(header, spec.Label)
		if col < 0 {
			return nil, &dataset.ParseError{Line: 1, Msg: fmt.Sprintf("no label column %s: name one of the columns", names.Quote(spec.Label))}
		}
	}
	na := spec.NAValues
	if na == nil {
		na = tabular.DefaultNAValues()
	}
	ids := map[string]int32{}
	var y []int32
	err := src.Scan(func(_ int, cells []string) error {
		v := cells[col]
		if slices.Contains(na, v) {
			y = append(y, -1)
			return nil
		}
		id, ok := ids[v]
		if !ok {
			if len(ids) > dataset.DefaultMaxClasses {
				return &dataset.ParseError{Msg: fmt.Sprintf("the label column %s has more than %d classes: name the label column with label", names.Quote(header[col]), dataset.DefaultMaxClasses)}
			}
			id = int32(len(ids))
			ids[v] = id
		}
		y = append(y, id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(ids) < 2 {
		return nil, nil // Prepare says what is wrong
	}
	// Class ids sorted as strings, as Prepare's.
	classes := make([]string, 0, len(ids))
	for c := range ids {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	order := make([]int32, len(classes))
	for k, c := range classes {
		order[ids[c]] = int32(k)
	}
	for i, v := range y {
		if v >= 0 {
			y[i] = order[v]
		}
	}
	rows, _, err := dataset.TestRows(y, classes, fraction, seed)
	return rows, err
}

// encodeTest packs the test rows with the fitted transform.
func (t *table) encodeTest(src tabular.Source, label string, isTest dataset.RowSet) error {
	p := t.prep
	header := src.Columns()
	col := len(header) - 1
	if label != "" {
		col = slices.Index(header, label)
	}
	pos, err := p.Encoder.Bind(header)
	if err != nil {
		return err
	}
	dense, nc := p.Encoder.Dense(), p.Encoder.Codes()
	x, codes := make([]float64, dense), make([]int32, nc)
	return tabular.Rows(src, isTest.Has).Scan(func(line int, cells []string) error {
		k, ok := slices.BinarySearch(p.Classes, cells[col])
		if !ok {
			return nil // a missing label: skipped, as in training
		}
		if err := p.Encoder.EncodeRecord(cells, pos, x, codes); err != nil {
			var pe *dataset.ParseError
			if errors.As(err, &pe) && pe.Line == 0 {
				pe.Line = line
			}
			return err
		}
		t.test = append(t.test, x...)
		for _, c := range codes {
			t.test = append(t.test, float64(c))
		}
		t.testY = append(t.testY, int32(k))
		return nil
	})
}

func columnNames(t *tabular.Transform) []string {
	n := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		n[i] = c.Name
	}
	return n
}

// schema is the run record's view of a transform.
func schema(t *tabular.Transform, dropped []string) *registry.Schema {
	s := &registry.Schema{Dropped: dropped}
	for _, c := range t.Columns {
		ci := registry.ColumnInfo{Name: c.Name, Type: string(c.Type), MissingShare: c.MissingShare}
		if c.Type == tabular.Numeric {
			v := c.Impute
			ci.Impute, ci.Indicator = &v, c.Indicator
		} else {
			idx := make([]int, len(c.Categories))
			for i := range idx {
				idx[i] = i
			}
			sort.SliceStable(idx, func(a, b int) bool { return c.Shares[idx[a]] > c.Shares[idx[b]] })
			for _, i := range idx[:min(len(idx), registry.MaxSchemaCategories)] {
				ci.Categories = append(ci.Categories, registry.CategoryShare{Value: c.Categories[i], Share: c.Shares[i]})
			}
			ci.CategoryCount = len(c.Categories)
			ci.Infrequent, ci.InfrequentShare = len(c.Infrequent), c.InfrequentShare
		}
		s.Columns = append(s.Columns, ci)
	}
	return s
}

// hashingReader hashes what it reads and reports the sum and length once
// it reaches the end.
type hashingReader struct {
	r    io.Reader
	h    hash.Hash
	n    int64
	done func(sum string, n int64)
}

func (r *hashingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.h.Write(p[:n])
	r.n += int64(n)
	if errors.Is(err, io.EOF) && r.done != nil {
		r.done(hex.EncodeToString(r.h.Sum(nil)), r.n)
		r.done = nil
	}
	return n, err
}

type readCloser struct {
	io.Reader
	io.Closer
}
