// Package drift is the arithmetic of distribution drift: quantile bin
// edges of a training column, the bin of a value, and the population
// stability index between a baseline and live counts. It knows nothing of
// models or servers; the trainer records baselines with it and the
// predictor compares live traffic against them.
package drift

import (
	"math"
	"slices"
	"sort"
)

// DefaultBins is how many quantile bins a feature gets.
const DefaultBins = 10

// maxSample bounds the values sorted to find the edges: deciles of an
// even sample of 20k rows are within a fraction of a percent of the
// whole column's.
const maxSample = 20_000

// Edges returns up to bins-1 increasing inner edges that split values into
// bins of about equal counts. Repeated values make fewer, wider bins (a
// constant column has none: one bin). NaNs are ignored. It sorts a copy of
// at most maxSample values, evenly spaced.
func Edges(values []float64, bins int) []float64 {
	if len(values) == 0 {
		return nil
	}
	step := (len(values) + maxSample - 1) / maxSample
	sample := make([]float64, 0, (len(values)+step-1)/step)
	for i := 0; i < len(values); i += step {
		if v := values[i]; !math.IsNaN(v) {
			sample = append(sample, v)
		}
	}
	slices.Sort(sample)
	return SortedEdges(sample, bins)
}

// SortedEdges is Edges of values that are sorted and hold no NaN; it
// reads every one of them and copies none.
func SortedEdges(sorted []float64, bins int) []float64 {
	if len(sorted) == 0 || bins < 2 {
		return nil
	}
	var edges []float64
	for q := 1; q < bins; q++ {
		e := sorted[q*len(sorted)/bins]
		// An edge equal to the smallest value would leave the first bin
		// empty, and a repeated edge a bin empty for good.
		if e > sorted[0] && (len(edges) == 0 || e > edges[len(edges)-1]) {
			edges = append(edges, e)
		}
	}
	return edges
}

// Bin returns the bin of v for edges: the number of edges <= v, so that
// bin i holds edges[i-1] <= v < edges[i]. NaN goes to the last bin.
func Bin(edges []float64, v float64) int {
	if math.IsNaN(v) {
		return len(edges)
	}
	if len(edges) <= 16 {
		// Over so few edges counting them all beats a binary search or a
		// scan that stops early: the compiler makes the comparison a
		// conditional move, so random values cost no mispredicted branch.
		// This runs for every feature of every prediction.
		n := 0
		for _, e := range edges {
			if e <= v {
				n++
			}
		}
		return n
	}
	return sort.Search(len(edges), func(i int) bool { return edges[i] > v })
}

// Counts bins every value.
func Counts(edges []float64, values []float64) []uint64 {
	counts := make([]uint64, len(edges)+1)
	for _, v := range values {
		counts[Bin(edges, v)]++
	}
	return counts
}

// epsilon stands for an empty bin's share, so that PSI stays finite: the
// usual smoothing of monitoring tools.
const epsilon = 1e-4

// PSI is the population stability index of actual against expected
// counts over the same bins: sum (a - e) ln(a / e) over the bins' shares.
// Below 0.1 is commonly read as stable, above 0.2 as a significant shift.
// It is 0 when either side has no counts.
func PSI(expected, actual []uint64) float64 {
	var te float64
	for _, e := range expected {
		te += float64(e)
	}
	if te == 0 {
		return 0
	}
	return psi(len(expected), func(i int) float64 { return float64(expected[i]) / te }, actual)
}

// SharesPSI is PSI with the expected side given as shares (of a
// categorical column's training rows, summing to 1) rather than counts.
func SharesPSI(expected []float64, actual []uint64) float64 {
	return psi(len(expected), func(i int) float64 { return expected[i] }, actual)
}

func psi(bins int, expected func(int) float64, actual []uint64) float64 {
	var ta float64
	for _, a := range actual[:bins] {
		ta += float64(a)
	}
	if ta == 0 {
		return 0
	}
	psi := 0.0
	for i := range bins {
		e := max(expected(i), epsilon)
		a := max(float64(actual[i])/ta, epsilon)
		psi += (a - e) * math.Log(a/e)
	}
	return psi
}
