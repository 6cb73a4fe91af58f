package dataset

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Split divides d into a stratified train and test part: every class keeps
// about testFraction of its rows for testing, at least one on each side.
// The same seed gives the same split. It reorders d's rows in place (train
// rows first) and returns two views into d. With testFraction 0 the train
// part is d itself and test is nil.
func Split(d *Dataset, testFraction float64, seed uint64) (train, test *Dataset, err error) {
	if !(testFraction >= 0 && testFraction < 1) {
		return nil, nil, fmt.Errorf("%w: test fraction %v is outside [0, 1)", ErrInvalid, testFraction)
	}
	if testFraction == 0 {
		return d, nil, nil
	}
	byClass := make([][]int, len(d.Classes))
	for i, y := range d.Y {
		byClass[y] = append(byClass[y], i)
	}
	rng := rand.New(rand.NewPCG(seed, 0x6d6f64656c666572))
	var trainIdx, testIdx []int
	for k, rows := range byClass {
		if len(rows) < 2 {
			return nil, nil, fmt.Errorf("%w: class %q has %d row(s); a train/test split needs at least 2 per class (or test_fraction 0)",
				ErrInvalid, d.Classes[k], len(rows))
		}
		rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		n := int(math.Round(testFraction * float64(len(rows))))
		n = min(max(n, 1), len(rows)-1)
		testIdx = append(testIdx, rows[:n]...)
		trainIdx = append(trainIdx, rows[n:]...)
	}
	slices.Sort(trainIdx)
	slices.Sort(testIdx)
	d.reorder(append(trainIdx, testIdx...))
	nf := len(d.Features)
	cut := len(trainIdx)
	train = &Dataset{Features: d.Features, Label: d.Label, Classes: d.Classes, X: d.X[: cut*nf : cut*nf], Y: d.Y[:cut:cut]}
	test = &Dataset{Features: d.Features, Label: d.Label, Classes: d.Classes, X: d.X[cut*nf:], Y: d.Y[cut:]}
	return train, test, nil
}

// reorder permutes rows in place so that new row p is old row order[p],
// following the permutation's cycles with one spare row.
func (d *Dataset) reorder(order []int) {
	nf := len(d.Features)
	done := make([]bool, len(order))
	tmp := make([]float64, nf)
	for start := range order {
		if done[start] || order[start] == start {
			done[start] = true
			continue
		}
		copy(tmp, d.Row(start))
		ty := d.Y[start]
		p := start
		for {
			src := order[p]
			done[p] = true
			if src == start {
				copy(d.Row(p), tmp)
				d.Y[p] = ty
				break
			}
			copy(d.Row(p), d.Row(src))
			d.Y[p] = d.Y[src]
			p = src
		}
	}
}
