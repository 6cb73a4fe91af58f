package dataset

import (
	"os"
	"slices"
	"testing"
)

// The datasets data/ ships, which the README's examples and `make run`'s
// default training use, parse as their sources publish them: UCI's Iris and
// Wine (data/generate_wine.py writes wine.csv from UCI's values).
func TestShippedDatasets(t *testing.T) {
	for _, tc := range []struct {
		file     string
		label    string
		features int
		classes  map[string]int
		firstRow []float64
	}{
		{"iris.csv", "species", 4, map[string]int{"setosa": 50, "versicolor": 50, "virginica": 50}, []float64{5.1, 3.5, 1.4, 0.2}},
		{"wine.csv", "class", 13, map[string]int{"1": 59, "2": 71, "3": 48},
			[]float64{14.23, 1.71, 2.43, 15.6, 127, 2.8, 3.06, 0.28, 2.29, 5.64, 1.04, 3.92, 1065}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open("../../data/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			d, err := Parse(f, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if d.Label != tc.label || len(d.Features) != tc.features {
				t.Errorf("label %q, %d features; want %q, %d", d.Label, len(d.Features), tc.label, tc.features)
			}
			counts := map[string]int{}
			for _, y := range d.Y {
				counts[d.Classes[y]]++
			}
			for c, n := range tc.classes {
				if counts[c] != n {
					t.Errorf("class %s: %d rows, want %d", c, counts[c], n)
				}
			}
			if len(counts) != len(tc.classes) {
				t.Errorf("classes %v, want %v", counts, tc.classes)
			}
			if !slices.Equal(d.Row(0), tc.firstRow) {
				t.Errorf("first row %v, want %v", d.Row(0), tc.firstRow)
			}
		})
	}
}
