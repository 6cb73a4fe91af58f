package search

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/modelferry/modelferry/pkg/logreg"
)

// goldens is testdata/goldens.json, written by testdata/gen_goldens.py
// from scikit-learn.
type goldens struct {
	Sklearn string `json:"sklearn"`
	Cases   []struct {
		Data        string      `json:"data"`
		Scoring     Scoring     `json:"scoring"`
		Folds       int         `json:"folds"`
		Standardize bool        `json:"standardize"`
		C           []float64   `json:"c"`
		TestFolds   []int       `json:"test_folds"`
		Scores      [][]float64 `json:"scores"` // per C, per fold
		BestIndex   int         `json:"best_index"`
	} `json:"cases"`
	FoldsOnly []struct {
		Y         []int32 `json:"y"`
		Folds     int     `json:"folds"`
		TestFolds []int   `json:"test_folds"`
	} `json:"folds_only"`
	Logspace []struct {
		Start, Stop float64
		N           int
		Values      []float64
	} `json:"logspace"`
}

func loadGoldens(t testing.TB) goldens {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "goldens.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g goldens
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// loadData reads testdata/<name>.csv: features, then an integer label.
func loadData(t testing.TB, name string) logreg.Data {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name+".csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	d := logreg.Data{Rows: len(recs), Features: len(recs[0]) - 1}
	for _, rec := range recs {
		for j, s := range rec {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatal(err)
			}
			if j < d.Features {
				d.X = append(d.X, v)
			} else {
				d.Y = append(d.Y, int32(v))
				d.Classes = max(d.Classes, int(v)+1)
			}
		}
	}
	return d
}

func TestStratifiedKFoldIsScikitLearns(t *testing.T) {
	g := loadGoldens(t)
	for i, c := range g.FoldsOnly {
		t.Run(fmt.Sprintf("labels %d k=%d", i, c.Folds), func(t *testing.T) {
			got, err := StratifiedKFold(c.Y, c.Folds)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, c.TestFolds) {
				t.Fatalf("test folds\n got %v\nwant %v", got, c.TestFolds)
			}
		})
	}
	for _, c := range g.Cases {
		t.Run(fmt.Sprintf("%s k=%d", c.Data, c.Folds), func(t *testing.T) {
			got, err := StratifiedKFold(loadData(t, c.Data).Y, c.Folds)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, c.TestFolds) {
				t.Fatalf("test folds\n got %v\nwant %v", got, c.TestFolds)
			}
		})
	}
}

func TestLogspaceIsNumpys(t *testing.T) {
	for _, c := range loadGoldens(t).Logspace {
		got, err := Logspace(c.Start, c.Stop, c.N)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range c.Values {
			if math.Abs(got[i]-v) > 4e-16*v {
				t.Fatalf("logspace(%v, %v, %d)[%d] = %v, want %v", c.Start, c.Stop, c.N, i, got[i], v)
			}
		}
	}
}

// TestSearchMatchesScikitLearn holds the parity of issue 26: the chosen C
// and every (C, fold) score within 1e-6 of scikit-learn's.
func TestSearchMatchesScikitLearn(t *testing.T) {
	g := loadGoldens(t)
	for _, c := range g.Cases {
		name := fmt.Sprintf("%s %s k=%d standardize=%v", c.Data, c.Scoring, c.Folds, c.Standardize)
		t.Run(name, func(t *testing.T) {
			d := loadData(t, c.Data)
			out, err := Run(context.Background(), d, Config{
				C: c.C, Folds: c.Folds, Scoring: c.Scoring,
				Fit: logreg.Options{Standardize: c.Standardize, Tol: 1e-10},
			})
			if err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for i, want := range c.Scores {
				for f, w := range want {
					diff := math.Abs(out.Results[i].FoldScores[f] - w)
					worst = max(worst, diff)
					if diff > 1e-6 {
						t.Errorf("C=%v fold %d: score %.12g, scikit-learn %.12g", c.C[i], f, out.Results[i].FoldScores[f], w)
					}
				}
			}
			if out.BestIndex != c.BestIndex {
				t.Errorf("best C %v (index %d), scikit-learn %v (index %d)", out.Best().C, out.BestIndex, c.C[c.BestIndex], c.BestIndex)
			}
			t.Logf("%s: best C %v, largest score difference %.2g", name, out.Best().C, worst)
		})
	}
}
