package search

import (
	"fmt"
	"slices"
)

// Fold is one cross-validation split: the positions (into the rows the
// folds were cut from) of its training part and of its test part, each
// ascending.
type Fold struct {
	Train []int
	Test  []int
}

// StratifiedKFold returns the test fold of each row exactly as
// scikit-learn's StratifiedKFold(n_splits=k, shuffle=False) (1.2) assigns
// them: classes are numbered by first appearance, the labels sorted by
// that number are dealt round robin to count each fold's share of every
// class, and each class's rows, in order, fill fold 0's share first, then
// fold 1's, and so on. k must lie in [2, the smallest class's count].
func StratifiedKFold(y []int32, k int) ([]int, error) {
	if k < 2 {
		return nil, fmt.Errorf("%w: folds must be at least 2, got %d", ErrInvalid, k)
	}
	order := map[int32]int{} // label -> number by first appearance
	var counts []int
	enc := make([]int, len(y))
	for i, v := range y {
		c, ok := order[v]
		if !ok {
			c = len(counts)
			order[v] = c
			counts = append(counts, 0)
		}
		enc[i] = c
		counts[c]++
	}
	if len(counts) < 2 {
		return nil, fmt.Errorf("%w: the training rows hold %d class, need at least 2", ErrInvalid, len(counts))
	}
	if smallest := slices.Min(counts); k > smallest {
		return nil, fmt.Errorf("%w: folds must not exceed the smallest class's count in the training rows (%d), got %d", ErrInvalid, smallest, k)
	}
	// allocation[f][c]: rows of class c in test fold f. Dealing the sorted
	// labels round robin gives fold f the positions f, f+k, … of the
	// sorted order; class c holds positions [start_c, start_c+counts_c).
	allocation := make([][]int, k)
	start := 0
	for f := range allocation {
		allocation[f] = make([]int, len(counts))
	}
	for c, n := range counts {
		for f := 0; f < k; f++ {
			allocation[f][c] = dealt(start, start+n, f, k)
		}
		start += n
	}
	test := make([]int, len(y))
	next := make([]int, len(counts)) // the fold class c's rows fill now
	used := make([]int, len(counts)) // rows of class c in that fold so far
	for i, c := range enc {
		for used[c] == allocation[next[c]][c] {
			next[c]++
			used[c] = 0
		}
		test[i] = next[c]
		used[c]++
	}
	return test, nil
}

// dealt counts the positions p in [lo, hi) with p ≡ f (mod k).
func dealt(lo, hi, f, k int) int {
	// Positions ≡ f below n: ceil((n - f) / k) for n > f.
	below := func(n int) int {
		if n <= f {
			return 0
		}
		return (n - f + k - 1) / k
	}
	return below(hi) - below(lo)
}

// Split turns test-fold numbers into k folds of ascending positions.
func Split(testFold []int, k int) []Fold {
	folds := make([]Fold, k)
	for i, f := range testFold {
		for g := range folds {
			if g == f {
				folds[g].Test = append(folds[g].Test, i)
			} else {
				folds[g].Train = append(folds[g].Train, i)
			}
		}
	}
	return folds
}
