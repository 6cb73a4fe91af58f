// Package testmodel fits and publishes small iris models for the
// predictor's tests, so they need no trainer.
package testmodel

import (
	"context"
	"encoding/csv"
	"errors"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/modelferry/modelferry/pkg/artifact"
	"github.com/modelferry/modelferry/pkg/artifact/artifactpb"
	"github.com/modelferry/modelferry/pkg/logreg"
	"github.com/modelferry/modelferry/pkg/modelstore"
)

// Features and Classes of iris.
var (
	Features = []string{"sepal_length", "sepal_width", "petal_length", "petal_width"}
	Classes  = []string{"setosa", "versicolor", "virginica"}
)

// Iris reads the repository's data/iris.csv; dataPath is relative to the
// calling test's directory.
func Iris(t testing.TB, dataPath string) logreg.Data {
	t.Helper()
	f, err := os.Open(dataPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{"setosa": 0, "versicolor": 1, "virginica": 2}
	d := logreg.Data{Features: 4, Classes: 3}
	for _, r := range recs[1:] {
		for _, v := range r[:4] {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			d.X = append(d.X, x)
		}
		d.Y = append(d.Y, ids[r[4]])
		d.Rows++
	}
	return d
}

// Artifact fits iris with the given C and returns the encoded artifact of
// model name at version.
func Artifact(t testing.TB, d logreg.Data, name, version string, c float64) []byte {
	t.Helper()
	m, info, err := logreg.Fit(context.Background(), d, logreg.Options{C: c, Standardize: true})
	if err != nil {
		t.Fatal(err)
	}
	lin, scaler := artifact.LinearFromLogreg(m)
	b, err := artifact.Encode(&artifactpb.Model{
		FormatVersion: artifact.FormatVersion, Name: name, Version: version, RunId: version,
		FeatureNames: Features, ClassNames: Classes, Linear: lin, Scaler: scaler,
		Params:  &artifactpb.TrainingParams{C: c, MaxIter: 1000, Tol: logreg.DefaultTol, Standardize: true, Label: "species"},
		Metrics: &artifactpb.Metrics{MetricsOn: "train", Rows: uint64(d.Rows), Accuracy: 0.97},
		Fit:     &artifactpb.FitInfo{Objective: info.Objective, Iterations: uint32(info.Iterations), Converged: info.Converged},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Publish fits, publishes and points alias at a new version of name.
func Publish(t testing.TB, store *modelstore.Store, d logreg.Data, name, alias string, c float64) modelstore.Ref {
	t.Helper()
	ctx := context.Background()
	v := modelstore.NewVersion(time.Now())
	ref, err := store.Publish(ctx, name, v, Artifact(t, d, name, v, c), []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	_, etag, err := store.GetAlias(ctx, name, alias)
	if err != nil && !errors.Is(err, modelstore.ErrNotFound) {
		t.Fatal(err)
	}
	if _, err := store.SetAlias(ctx, alias, ref, etag); err != nil {
		t.Fatal(err)
	}
	return ref
}
