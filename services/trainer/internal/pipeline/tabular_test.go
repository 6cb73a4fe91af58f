package pipeline

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/modelferry/modelferry/devstack/testkit/repo"
	"github.com/modelferry/modelferry/pkg/artifact"
	"github.com/modelferry/modelferry/pkg/artifact/artifactpb"
	"github.com/modelferry/modelferry/pkg/drift"
	"github.com/modelferry/modelferry/pkg/logreg"
	"github.com/modelferry/modelferry/pkg/tabular"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

// golden is the part of a pkg/tabular golden the pipeline is held to.
type golden struct {
	Test        string      `json:"test"`
	Classes     []string    `json:"classes"`
	RowsSkipped int         `json:"rows_skipped"`
	Proba       [][]float64 `json:"proba"`
}

// TestTableAsItComes trains on a table with an ID column (dropped), text
// columns and empty cells, and holds the published model to
// scikit-learn's Pipeline on the held-out table, and its drift baseline
// to a count of the training table.
func TestTableAsItComes(t *testing.T) {
	dir := repo.Path(t, "pkg/tabular/testdata")
	var g golden
	b, err := os.ReadFile(dir + "/binary_basic.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	f := newFixture()
	p := registry.DefaultParams()
	p.TestFraction = 0
	p.Drop = []string{"id"}
	run, err := f.train(t, p, Source{Path: dir + "/binary_basic_train.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if run.Schema == nil || len(run.Schema.Columns) != 4 || run.Schema.Columns[2].Type != "categorical" {
		t.Fatalf("schema %+v", run.Schema)
	}
	if run.MetricsOn != "train" || run.Dataset.Rows != 300 {
		t.Errorf("metrics on %s, %d rows", run.MetricsOn, run.Dataset.Rows)
	}
	raw, err := f.store.ReadArtifact(context.Background(), run.Model, run.Version, "")
	if err != nil {
		t.Fatal(err)
	}
	m, err := artifact.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if m.Tabular == nil || strings.Join(m.FeatureNames, ",") != "age,income,color,city" {
		t.Fatalf("inputs %v, tabular %v", m.FeatureNames, m.Tabular != nil)
	}
	c, err := artifact.Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := artifact.Transform(m).Encoder()
	if err != nil {
		t.Fatal(err)
	}
	checkTableBaseline(t, m, c, enc, readCSV(t, dir+"/binary_basic_train.csv"))
	table := readCSV(t, dir+"/"+g.Test)
	pos, err := enc.Bind(table.Header)
	if err != nil {
		t.Fatal(err)
	}
	x, codes, out := make([]float64, enc.Dense()), make([]int32, enc.Codes()), make([]float64, len(g.Classes))
	worst := 0.0
	for i, rec := range table.Rows {
		if err := enc.EncodeRecord(rec, pos, x, codes); err != nil {
			t.Fatal(err)
		}
		c.PredictProbaCodes(x, codes, out)
		for k := range out {
			worst = max(worst, math.Abs(out[k]-g.Proba[i][k]))
		}
	}
	if worst > 1e-4 {
		t.Errorf("max |Δp| = %g against scikit-learn, want ≤ 1e-4", worst)
	}
	t.Logf("max |Δp| = %.2g over %d rows", worst, len(table.Rows))
}

func readCSV(t *testing.T, path string) *tabular.Table {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	table, err := tabular.ReadCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	return table
}

// checkTableBaseline holds a tabular model's drift baseline to a count
// of its training table: each numeric column's values over its bins with
// the missing cells left out, no bins for a categorical column (its
// shares are the transform's), every row's prediction.
func checkTableBaseline(t *testing.T, m *artifactpb.Model, c *logreg.Compiled, enc *tabular.Encoder, table *tabular.Table) {
	t.Helper()
	b := m.Baseline
	if b == nil || len(b.Features) != len(m.FeatureNames) {
		t.Fatalf("baseline %v for inputs %v", b, m.FeatureNames)
	}
	pos, err := enc.Bind(table.Header)
	if err != nil {
		t.Fatal(err)
	}
	counts := make([][]uint64, len(m.FeatureNames))
	for j, fb := range b.Features {
		if m.Tabular.Columns[j].Type == "numeric" {
			if len(fb.Edges) == 0 {
				t.Errorf("numeric %s has no bins", m.FeatureNames[j])
			}
			counts[j] = make([]uint64, len(fb.Edges)+1)
		} else if len(fb.Edges)+len(fb.Counts) > 0 {
			t.Errorf("categorical %s has bins %v %v", m.FeatureNames[j], fb.Edges, fb.Counts)
		}
	}
	x, codes, out := make([]float64, enc.Dense()), make([]int32, enc.Codes()), make([]float64, len(m.ClassNames))
	preds, missing := make([]uint64, len(m.ClassNames)), 0
	for _, rec := range table.Rows {
		if err := enc.EncodeRecord(rec, pos, x, codes); err != nil {
			t.Fatal(err)
		}
		for j := range counts {
			at, _ := enc.Slots(j)
			if counts[j] == nil {
				continue
			}
			if cell := rec[pos[j]]; cell == "" || slices.Contains(m.Tabular.NaValues, cell) {
				missing++
				continue
			}
			counts[j][drift.Bin(b.Features[j].Edges, x[at])]++
		}
		preds[c.PredictProbaCodes(x, codes, out)]++
	}
	if missing == 0 {
		t.Fatal("no missing numeric cell in the table: the test shows nothing")
	}
	for j := range counts {
		if counts[j] != nil && !slices.Equal(b.Features[j].Counts, counts[j]) {
			t.Errorf("%s: counts %v, want %v", m.FeatureNames[j], b.Features[j].Counts, counts[j])
		}
	}
	if !slices.Equal(b.PredictionCounts, preds) || b.Rows != uint64(len(table.Rows)) {
		t.Errorf("predictions %v over %d rows, want %v over %d", b.PredictionCounts, b.Rows, preds, len(table.Rows))
	}
}

// TestTableSplitsAndEvaluates takes the tabular path on its own when a
// column is text, splits as the fast path does and scores the test rows.
func TestTableSplitsAndEvaluates(t *testing.T) {
	dir := repo.Path(t, "pkg/tabular/testdata")
	f := newFixture()
	run, err := f.train(t, registry.DefaultParams(), Source{Path: dir + "/binary_basic_train.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if run.Schema == nil || run.MetricsOn != "test" || run.Dataset.TestRows != 60 || run.Dataset.TrainRows != 240 {
		t.Fatalf("run %+v", run.Dataset)
	}
	if run.Metrics == nil || run.Metrics.Rows != 60 || run.Metrics.Accuracy < 0.6 {
		t.Errorf("metrics %+v", run.Metrics)
	}
}
