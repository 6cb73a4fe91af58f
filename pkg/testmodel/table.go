package testmodel

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/modelferry/modelferry/devstack/testkit/repo"
	"github.com/modelferry/modelferry/pkg/artifact"
	"github.com/modelferry/modelferry/pkg/artifact/artifactpb"
	"github.com/modelferry/modelferry/pkg/logreg"
	"github.com/modelferry/modelferry/pkg/tabular"
)

// TableGolden is pkg/tabular's binary_basic case: a table with an ID
// column (dropped), two numeric and two text columns and empty cells,
// its held-out table, and scikit-learn's probabilities on it.
type TableGolden struct {
	Test    *tabular.Table
	Classes []string
	Proba   [][]float64
}

// Table fits binary_basic as the trainer does and returns the encoded
// artifact of model name at version, and the golden to hold it to.
func Table(t testing.TB, name, version string) ([]byte, TableGolden) {
	t.Helper()
	dir := repo.Path(t, "pkg/tabular/testdata")
	var g struct {
		Test    string
		Classes []string
		Proba   [][]float64
	}
	b, err := os.ReadFile(dir + "/binary_basic.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	read := func(file string) *tabular.Table {
		f, err := os.Open(dir + "/" + file)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		tb, err := tabular.ReadCSV(f)
		if err != nil {
			t.Fatal(err)
		}
		return tb
	}
	art := TableArtifact(t, read("binary_basic_train.csv"), tabular.Spec{Label: "label", Drop: []string{"id"}}, name, version)
	return art, TableGolden{Test: read(g.Test), Classes: g.Classes, Proba: g.Proba}
}

// TableArtifact fits a table as the trainer does and returns the encoded
// artifact of model name at version.
func TableArtifact(t testing.TB, train *tabular.Table, spec tabular.Spec, name, version string) []byte {
	t.Helper()
	p, err := tabular.Prepare(train, spec)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := logreg.Fit(context.Background(), p.Data(), logreg.Options{C: 1, Standardize: true})
	if err != nil {
		t.Fatal(err)
	}
	lin, scaler := artifact.LinearFromLogreg(m)
	var names []string
	for _, c := range p.Transform.Columns {
		names = append(names, c.Name)
	}
	art, err := artifact.Encode(&artifactpb.Model{
		FormatVersion: artifact.FormatVersion, Name: name, Version: version, RunId: version,
		FeatureNames: names, ClassNames: p.Classes, Linear: lin, Scaler: scaler,
		Params:  &artifactpb.TrainingParams{C: 1, MaxIter: 1000, Tol: logreg.DefaultTol, Standardize: true, Label: spec.Label},
		Metrics: &artifactpb.Metrics{MetricsOn: "train", Rows: uint64(p.Rows), Accuracy: 0.8},
		Tabular: artifact.TabularFrom(p.Transform, p.RowsSkipped, p.Dropped),
	})
	if err != nil {
		t.Fatal(err)
	}
	return art
}

// RawRecords are test's rows as a client sends them to /predict: numbers
// as numbers, text as strings, no ID or label column, and an empty cell
// as null in even columns or its key left out in odd ones (both mean
// missing).
func RawRecords(test *tabular.Table) []string {
	var records []string
	for _, rec := range test.Rows {
		var fields []string
		for j, h := range test.Header {
			v := rec[j]
			switch {
			case h == "id" || h == "label":
			case slices.Contains(tabular.DefaultNAValues(), v):
				if j%2 == 0 {
					fields = append(fields, `"`+h+`": null`)
				}
			case h == "age" || h == "income":
				fields = append(fields, `"`+h+`": `+v)
			default:
				q, _ := json.Marshal(v)
				fields = append(fields, `"`+h+`": `+string(q))
			}
		}
		records = append(records, "{"+strings.Join(fields, ", ")+"}")
	}
	return records
}
