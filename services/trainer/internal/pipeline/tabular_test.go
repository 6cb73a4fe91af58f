package pipeline

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/modelferry/modelferry/devstack/testkit/repo"
	"github.com/modelferry/modelferry/pkg/artifact"
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
// scikit-learn's Pipeline on the held-out table.
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
	tf, err := os.Open(dir + "/" + g.Test)
	if err != nil {
		t.Fatal(err)
	}
	defer tf.Close()
	table, err := tabular.ReadCSV(tf)
	if err != nil {
		t.Fatal(err)
	}
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
