// Package testmodel fits and publishes small iris models for the
// predictor's and the serving package's tests, so they need no trainer.
package testmodel

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/modelferry/modelferry/devstack/testkit/repo"
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

// Iris is the repository's data/iris.csv as logreg data.
func Iris(t testing.TB) logreg.Data {
	t.Helper()
	d := repo.LoadIris(t)
	return logreg.Data{X: d.X, Y: d.Y, Rows: d.Rows, Features: 4, Classes: 3}
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
	if _, err := store.SetAlias(ctx, alias, ref, modelstore.SetAliasOptions{IfMatch: etag}); err != nil {
		t.Fatal(err)
	}
	return ref
}
