// Package repo finds the repository's shared files from any test: the one
// data/iris.csv, the compose and Prometheus files.
package repo

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// Root returns the repository root: the nearest directory above the test's
// working directory that holds go.work.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.work above the working directory: run the tests inside the repository")
		}
		dir = parent
	}
}

// Path returns the path of a file of the repository, given relative to
// its root with slashes ("data/iris.csv").
func Path(t testing.TB, rel string) string {
	t.Helper()
	return filepath.Join(Root(t), filepath.FromSlash(rel))
}

// Iris is the path of the repository's iris data set, data/iris.csv.
func Iris(t testing.TB) string {
	t.Helper()
	return Path(t, "data/iris.csv")
}

// IrisData is data/iris.csv parsed: X row-major (rows x 4), Y the class
// ids in Classes' order.
type IrisData struct {
	X        []float64
	Y        []int32
	Rows     int
	Features []string
	Classes  []string
}

// LoadIris parses data/iris.csv with encoding/csv alone, so tests of the
// CSV and model packages can check themselves against it.
func LoadIris(t testing.TB) IrisData {
	t.Helper()
	f, err := os.Open(Iris(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	d := IrisData{Features: recs[0][:4], Classes: []string{"setosa", "versicolor", "virginica"}}
	ids := map[string]int32{"setosa": 0, "versicolor": 1, "virginica": 2}
	for _, r := range recs[1:] {
		for _, v := range r[:4] {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			d.X = append(d.X, x)
		}
		id, ok := ids[r[4]]
		if !ok {
			t.Fatalf("iris.csv: unknown species %q", r[4])
		}
		d.Y = append(d.Y, id)
		d.Rows++
	}
	return d
}
