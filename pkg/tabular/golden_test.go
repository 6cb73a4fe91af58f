package tabular

import (
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

// golden is one case written by testdata/generate.py.
type golden struct {
	Train  string `json:"train"`
	Test   string `json:"test"`
	Label  string `json:"label"`
	Params struct {
		Features      []string `json:"features"`
		Drop          []string `json:"drop"`
		Categorical   []string `json:"categorical"`
		Numeric       []string `json:"numeric"`
		Impute        string   `json:"impute"`
		AddIndicator  bool     `json:"add_indicator"`
		MaxCategories int      `json:"max_categories"`
		MinFrequency  float64  `json:"min_frequency"`
		Weight        string   `json:"weight"`
		ClassWeight   any      `json:"class_weight"`
		C             float64  `json:"c"`
	} `json:"params"`
	Classes     []string `json:"classes"`
	Rows        int      `json:"rows"`
	RowsSkipped int      `json:"rows_skipped"`
	Dropped     []string `json:"dropped"`
	Columns     []struct {
		Name       string   `json:"name"`
		Type       Type     `json:"type"`
		Impute     float64  `json:"impute"`
		Mean       float64  `json:"mean"`
		Scale      float64  `json:"scale"`
		Indicator  bool     `json:"indicator"`
		Categories []string `json:"categories"`
		Infrequent []string `json:"infrequent"`
	} `json:"columns"`
	Proba [][]float64 `json:"proba"`
}

func (g *golden) spec() Spec {
	p := g.Params
	s := Spec{
		Label: g.Label, Features: p.Features, Drop: p.Drop, Categorical: p.Categorical, Numeric: p.Numeric,
		Impute: p.Impute, AddIndicator: p.AddIndicator, MaxCategories: p.MaxCategories,
		MinFrequency: p.MinFrequency, Weight: p.Weight,
	}
	switch cw := p.ClassWeight.(type) {
	case string:
		s.ClassWeight.Balanced = cw == "balanced"
	case map[string]any:
		s.ClassWeight.Weights = map[string]float64{}
		for k, v := range cw {
			s.ClassWeight.Weights[k] = v.(float64)
		}
	}
	return s
}

type goldenCase struct {
	name string
	g    *golden
}

func loadGoldens(t *testing.T) []goldenCase {
	t.Helper()
	files, err := filepath.Glob("testdata/*.golden.json")
	if err != nil || len(files) < 10 {
		t.Fatalf("goldens: %v, %d files", err, len(files))
	}
	var cases []goldenCase
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		g := &golden{}
		if err := json.Unmarshal(b, g); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		cases = append(cases, goldenCase{filepath.Base(f[:len(f)-len(".golden.json")]), g})
	}
	return cases
}

func readTable(t *testing.T, name string) *Table {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tab, err := ReadCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// prepareGolden prepares g's training table.
func prepareGolden(t *testing.T, g *golden) *Prepared {
	t.Helper()
	p, err := Prepare(readTable(t, g.Train), g.spec())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCSVFileMatchesTable: streaming the file through OpenCSV prepares
// what the table in memory does.
func TestCSVFileMatchesTable(t *testing.T) {
	for _, gc := range loadGoldens(t) {
		t.Run(gc.name, func(t *testing.T) {
			want := prepareGolden(t, gc.g)
			src, err := OpenCSV(func() (io.ReadCloser, error) { return os.Open(filepath.Join("testdata", gc.g.Train)) })
			if err != nil {
				t.Fatal(err)
			}
			got, err := Prepare(src, gc.g.spec())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("the file prepares differently from the table")
			}
		})
	}
}

// TestTransformMatchesScikitLearn checks the fitted transform against
// scikit-learn's: the columns and their types, the imputed values, the
// categories and the infrequent groups, the dropped columns and the
// skipped rows.
func TestTransformMatchesScikitLearn(t *testing.T) {
	for _, gc := range loadGoldens(t) {
		t.Run(gc.name, func(t *testing.T) {
			g := gc.g
			p := prepareGolden(t, g)
			if p.Rows != g.Rows || p.RowsSkipped != g.RowsSkipped {
				t.Errorf("rows %d, skipped %d; want %d, %d", p.Rows, p.RowsSkipped, g.Rows, g.RowsSkipped)
			}
			if !slices.Equal(p.Classes, g.Classes) {
				t.Errorf("classes %v, want %v", p.Classes, g.Classes)
			}
			if !slices.Equal(p.Dropped, g.Dropped) && len(p.Dropped)+len(g.Dropped) > 0 {
				t.Errorf("dropped %v, want %v", p.Dropped, g.Dropped)
			}
			// scikit-learn lists numeric columns first, then categorical.
			var got []Column
			for _, typ := range []Type{Numeric, Categorical} {
				for _, c := range p.Transform.Columns {
					if c.Type == typ {
						got = append(got, c)
					}
				}
			}
			if len(got) != len(g.Columns) {
				t.Fatalf("%d columns, want %d", len(got), len(g.Columns))
			}
			for i, want := range g.Columns {
				c := got[i]
				if c.Name != want.Name || c.Type != want.Type {
					t.Errorf("column %d: %s %s, want %s %s", i, c.Name, c.Type, want.Name, want.Type)
					continue
				}
				if c.Type == Numeric {
					if math.Abs(c.Impute-want.Impute) > 1e-9*max(1, math.Abs(want.Impute)) {
						t.Errorf("%s: imputed %v, want %v", c.Name, c.Impute, want.Impute)
					}
					if c.Indicator != want.Indicator {
						t.Errorf("%s: indicator %v, want %v", c.Name, c.Indicator, want.Indicator)
					}
					continue
				}
				if !slices.Equal(c.Categories, want.Categories) || !slices.Equal(c.Infrequent, want.Infrequent) && len(c.Infrequent)+len(want.Infrequent) > 0 {
					t.Errorf("%s: categories %v infrequent %v; want %v, %v", c.Name, c.Categories, c.Infrequent, want.Categories, want.Infrequent)
				}
				total := c.InfrequentShare
				for _, s := range c.Shares {
					total += s
				}
				if math.Abs(total-1) > 1e-12 {
					t.Errorf("%s: shares sum to %v", c.Name, total)
				}
			}
		})
	}
}

// TestRowsPreparesTheKeptRows: preparing a filtered source is preparing a
// table of the kept rows.
func TestRowsPreparesTheKeptRows(t *testing.T) {
	tab := readTable(t, "binary_basic_train.csv")
	even := func(i int) bool { return i%2 == 0 }
	var kept Table
	kept.Header = tab.Header
	for i, r := range tab.Rows {
		if even(i) {
			kept.Rows = append(kept.Rows, r)
			kept.Lines = append(kept.Lines, tab.Lines[i])
		}
	}
	spec := Spec{Drop: []string{"id"}}
	want, err := Prepare(&kept, spec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Prepare(Rows(tab, even), spec)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Error("the filtered source prepares differently from the table of its rows")
	}
	if got.Rows != 150 {
		t.Errorf("%d rows, want 150", got.Rows)
	}
}
