package tabular

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/modelferry/modelferry/pkg/dataset"
)

func table(t *testing.T, csv string) *Table {
	t.Helper()
	tab, err := ReadCSV(strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

const small = `id,cyl,color,w,y
1,4,red,1,a
2,6,,2,b
3,8,blue,0.5,
4,4,red,1,b
5,x6,NA,1,a
`

// TestPrepareErrors holds the bad input this layer answers: each error
// names the column and says what to do.
func TestPrepareErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		csv  string
		spec Spec
		want []string
	}{
		{"forced numeric holds text", small, Spec{Numeric: []string{"cyl"}}, []string{"line 6", "column cyl", `"x6" is not a number`, "forced numeric"}},
		{"features names no column", small, Spec{Features: []string{"id", "colour"}}, []string{`features names "colour"`, "no column", "check the spelling"}},
		{"drop names no column", small, Spec{Drop: []string{"ID"}}, []string{`drop names "ID"`, "columns: id, cyl, color, w, y"}},
		{"categorical names no column", small, Spec{Categorical: []string{"cylinders"}}, []string{`categorical names "cylinders"`}},
		{"numeric names no column", small, Spec{Numeric: []string{"size"}}, []string{`numeric names "size"`}},
		{"weight names no column", small, Spec{Weight: "weight"}, []string{`weight names "weight"`}},
		{"label names no column", small, Spec{Label: "target"}, []string{`label names "target"`}},
		{"negative weight", strings.Replace(small, "2,6,,2,b", "2,6,,-2,b", 1), Spec{Weight: "w", Drop: []string{"cyl"}}, []string{"line 3", "column w", "-2 is negative", "weight >= 0"}},
		{"infinite weight", strings.Replace(small, "2,6,,2,b", "2,6,,inf,b", 1), Spec{Weight: "w", Drop: []string{"cyl"}}, []string{"line 3", "column w", "not finite"}},
		{"missing weight", strings.Replace(small, "2,6,,2,b", "2,6,,,b", 1), Spec{Weight: "w", Drop: []string{"cyl"}}, []string{"line 3", "column w", "missing"}},
		{"text weight", strings.Replace(small, "2,6,,2,b", "2,6,,heavy,b", 1), Spec{Weight: "w", Drop: []string{"cyl"}}, []string{"column w", `"heavy" is not a number`}},
		{"zero weights", strings.ReplaceAll(strings.ReplaceAll(small, ",1,", ",0,"), ",2,", ",0,"), Spec{Weight: "w", Drop: []string{"cyl"}, ClassWeight: ClassWeight{Weights: map[string]float64{"a": 0}}}, []string{"sum to zero"}},
		{"class_weight unknown class", small, Spec{ClassWeight: ClassWeight{Weights: map[string]float64{"c": 2}}}, []string{`class_weight names class "c"`, `label column "y"`, "classes: a, b"}},
		{"class_weight negative", small, Spec{ClassWeight: ClassWeight{Weights: map[string]float64{"a": -1}}}, []string{`class_weight for class "a"`, ">= 0"}},
		{"single class after skipping", "x,y\n1,a\n2,\n3,a\n4,NA\n", Spec{}, []string{`label column "y" has a single class "a"`, "skipping 2 rows", "at least two classes"}},
		{"no label at all", "x,y\n1,\n2,NA\n", Spec{}, []string{`label column "y" has no value`}},
		{"categorical and numeric", small, Spec{Categorical: []string{"cyl"}, Numeric: []string{"cyl"}}, []string{`column "cyl"`, "both categorical and numeric"}},
		{"features names the label", small, Spec{Features: []string{"y"}}, []string{`features names the label column "y"`}},
		{"drop names the label", small, Spec{Drop: []string{"y"}}, []string{`drop names the label column "y"`}},
		{"everything dropped", small, Spec{Drop: []string{"id", "cyl", "color", "w"}}, []string{"no feature column is left"}},
		{"too many categories", small, Spec{MaxLevels: 1, Drop: []string{"cyl"}}, []string{`column "color" has more than 1 categories`, "over the limit of 1", "drop=color", "max_categories"}},
		{"too many categories after grouping", small, Spec{MaxLevels: 1, MaxCategories: 2, Drop: []string{"cyl"}}, []string{`column "color" has 2 categories`, "over the limit of 1"}},
		{"bad impute", small, Spec{Impute: "mode"}, []string{`impute "mode"`, "mean, median or most_frequent"}},
		{"bad max_categories", small, Spec{MaxCategories: 1}, []string{"max_categories must be at least 2"}},
		{"bad min_frequency", small, Spec{MinFrequency: 2.5}, []string{"min_frequency must be"}},
		{"infinite number", "x,y\n1,a\ninf,b\n", Spec{}, []string{"line 3", "column x", `"inf" is not a finite number`}},
		{"ragged row", "x,y\n1,a\n2\n", Spec{}, []string{"line 3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab, err := ReadCSV(strings.NewReader(tc.csv))
			if err == nil {
				_, err = Prepare(tab, tc.spec)
			}
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, dataset.ErrInvalid) {
				t.Errorf("%v does not wrap dataset.ErrInvalid", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestPrepareChoosesColumns covers column choice, type inference, skipped
// rows and dropped columns on a small table.
func TestPrepareChoosesColumns(t *testing.T) {
	tab := table(t, `id,cyl,color,empty,w,y
1,4,red,,1,a
2,6,,NA,2,b
3,8,blue,,0.5,
4,4,red,null,1,b
5,6,NA,,1,a
`)
	p, err := Prepare(tab, Spec{Drop: []string{"id"}, Categorical: []string{"cyl"}, Weight: "w", ClassWeight: ClassWeight{Weights: map[string]float64{"b": 3}}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Rows != 4 || p.RowsSkipped != 1 {
		t.Errorf("rows %d skipped %d, want 4 and 1", p.Rows, p.RowsSkipped)
	}
	if strings.Join(p.Dropped, ",") != "empty" {
		t.Errorf("dropped %v, want [empty]", p.Dropped)
	}
	cols := p.Transform.Columns
	if len(cols) != 2 || cols[0].Name != "cyl" || cols[0].Type != Categorical || cols[1].Name != "color" || cols[1].Type != Categorical {
		t.Fatalf("columns %+v", cols)
	}
	if got := strings.Join(cols[1].Categories, ","); got != "missing_value,red" {
		t.Errorf("color categories %s, want missing_value,red (blue is in the skipped row)", got)
	}
	if cols[1].MissingShare != 0.5 {
		t.Errorf("color missing share %v, want 0.5", cols[1].MissingShare)
	}
	// Rows 1, 2, 4, 5: weights 1·1, 2·3, 1·3, 1·1.
	if want := []float64{1, 6, 3, 1}; !equalFloats(p.Weight, want) {
		t.Errorf("weights %v, want %v", p.Weight, want)
	}
	if want := []int32{0, 1, 1, 0, 0, 1, 1, 0}; !equalInts(p.Codes, want) {
		t.Errorf("codes %v, want %v", p.Codes, want)
	}
	if p.Encoder.Dense() != 0 || p.Encoder.Codes() != 2 {
		t.Errorf("dense %d codes %d, want 0 and 2", p.Encoder.Dense(), p.Encoder.Codes())
	}
}

func TestBalancedClassWeights(t *testing.T) {
	tab := table(t, "x,y\n1,a\n2,a\n3,a\n4,b\n")
	p, err := Prepare(tab, Spec{ClassWeight: ClassWeight{Balanced: true}})
	if err != nil {
		t.Fatal(err)
	}
	// n / (K · count): 4/(2·3) for a, 4/(2·1) for b.
	if want := []float64{4.0 / 6, 4.0 / 6, 4.0 / 6, 2}; !equalFloats(p.Weight, want) {
		t.Errorf("weights %v, want %v", p.Weight, want)
	}
}

func TestEncoderServesRecords(t *testing.T) {
	tab := table(t, "n,c,y\n1,u,a\n,v,b\n3,u,a\n")
	p, err := Prepare(tab, Spec{AddIndicator: true})
	if err != nil {
		t.Fatal(err)
	}
	enc := p.Encoder
	pos, err := enc.Bind([]string{"c", "n", "extra"})
	if err != nil {
		t.Fatal(err)
	}
	x, codes := make([]float64, enc.Dense()), make([]int32, enc.Codes())
	for _, tc := range []struct {
		rec   []string
		x     []float64
		codes []int32
	}{
		{[]string{"v", "5", ""}, []float64{5, 0}, []int32{1}},
		{[]string{"w", "NA", ""}, []float64{2, 1}, []int32{-1}}, // unseen category, imputed mean
		{[]string{"", " 7 ", ""}, []float64{7, 0}, []int32{-1}}, // missing never seen in training
	} {
		if err := enc.EncodeRecord(tc.rec, pos, x, codes); err != nil {
			t.Fatal(err)
		}
		if !equalFloats(x, tc.x) || !equalInts(codes, tc.codes) {
			t.Errorf("%q: x %v codes %v, want %v %v", tc.rec, x, codes, tc.x, tc.codes)
		}
	}
	if err := enc.EncodeRecord([]string{"u", "seven", ""}, pos, x, codes); err == nil || !strings.Contains(err.Error(), "column n") {
		t.Errorf("text in a numeric column: %v", err)
	}
	if _, err := enc.Bind([]string{"n"}); err == nil || !strings.Contains(err.Error(), "no column c") {
		t.Errorf("absent column: %v", err)
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if d := a[i] - b[i]; d > 1e-12 || d < -1e-12 {
			return false
		}
	}
	return true
}

func equalInts(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestEncoderTakesTypedValues: the setters a decoder of JSON records or
// tensors calls, without allocating.
func TestEncoderTakesTypedValues(t *testing.T) {
	tab := table(t, "n,cyl,y\n1,4,a\n,8,b\n3,0.5,a\n5,8,b\n")
	p, err := Prepare(tab, Spec{AddIndicator: true, Categorical: []string{"cyl"}})
	if err != nil {
		t.Fatal(err)
	}
	enc := p.Encoder
	x, codes := make([]float64, enc.Dense()), make([]int32, enc.Codes())
	cats := p.Transform.Columns[1].Categories // 0.5, 4, 8
	for _, tc := range []struct {
		name string
		set  func() error
		x    []float64
		code int32
	}{
		{"number in a numeric column", func() error { return enc.Number(0, 2.5, x, codes) }, []float64{2.5, 0}, -9},
		{"NaN is missing", func() error { return enc.Number(0, math.NaN(), x, codes) }, []float64{3, 1}, -9},
		{"text number", func() error { return enc.Text(0, "7", x, codes) }, []float64{7, 0}, -9},
		{"NA text", func() error { return enc.Text(0, "N/A", x, codes) }, []float64{3, 1}, -9},
		{"missing numeric", func() error { enc.Missing(0, x, codes); return nil }, []float64{3, 1}, -9},
		{"number as category", func() error { return enc.Number(1, 8, x, codes) }, []float64{9, 9}, int32(slices.Index(cats, "8"))},
		{"fraction as category", func() error { return enc.Number(1, 0.5, x, codes) }, nil, int32(slices.Index(cats, "0.5"))},
		{"unseen number", func() error { return enc.Number(1, 6, x, codes) }, nil, -1},
		{"text category", func() error { return enc.Text(1, "4", x, codes) }, nil, int32(slices.Index(cats, "4"))},
		{"missing category never seen", func() error { enc.Missing(1, x, codes); return nil }, nil, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := range x {
				x[i] = 9
			}
			codes[0] = -9
			if err := tc.set(); err != nil {
				t.Fatal(err)
			}
			if tc.x != nil && !equalFloats(x, tc.x) {
				t.Errorf("x %v, want %v", x, tc.x)
			}
			if codes[0] != tc.code {
				t.Errorf("code %d, want %d", codes[0], tc.code)
			}
		})
	}
	if err := enc.Text(0, "eight", x, codes); err == nil || !strings.Contains(err.Error(), "column n") {
		t.Errorf("text in a numeric column: %v", err)
	}
	if err := enc.Number(0, math.Inf(1), x, codes); err == nil || !strings.Contains(err.Error(), "column n") {
		t.Errorf("infinity: %v", err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		_ = enc.Number(1, 8, x, codes)
		_ = enc.Text(1, "4", x, codes)
		_ = enc.Number(0, 1.5, x, codes)
		enc.Missing(1, x, codes)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per row", allocs)
	}
}

func TestEncoderBool(t *testing.T) {
	tr := &Transform{NAValues: DefaultNAValues(), Columns: []Column{
		{Name: "n", Type: Numeric, Impute: 5, Indicator: true},
		{Name: "b", Type: Categorical, Categories: []string{"False", "True"}, Shares: []float64{0.5, 0.5}},
		{Name: "l", Type: Categorical, Categories: []string{"false", "true"}, Shares: []float64{0.5, 0.5}},
		{Name: "o", Type: Categorical, Categories: []string{"x"}, Shares: []float64{1}},
	}}
	e, err := tr.Encoder()
	if err != nil {
		t.Fatal(err)
	}
	x, codes := make([]float64, e.Dense()), make([]int32, e.Codes())
	e.Missing(0, x, codes)
	e.Bool(0, true, x, codes)
	e.Bool(1, true, x, codes)
	e.Bool(2, false, x, codes)
	e.Bool(3, true, x, codes)
	if x[0] != 1 || x[1] != 0 || codes[0] != 1 || codes[1] != 0 || codes[2] != -1 {
		t.Errorf("x %v codes %v, want [1 0] [1 0 -1]", x, codes)
	}
}
