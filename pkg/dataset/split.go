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
	// Rows grouped by class, in row order within a class: int32 and one
	// buffer, to keep the split's memory small next to the matrix's.
	n := len(d.Y)
	start := make([]int, len(d.Classes)+1)
	for _, y := range d.Y {
		start[y+1]++
	}
	for k := range d.Classes {
		start[k+1] += start[k]
	}
	idx := make([]int32, n)
	next := slices.Clone(start[:len(d.Classes)])
	for i, y := range d.Y {
		idx[next[y]] = int32(i)
		next[y]++
	}
	rng := rand.New(rand.NewPCG(seed, 0x6d6f64656c666572))
	isTest := newBitset(n)
	for k := range d.Classes {
		rows := idx[start[k]:start[k+1]]
		if len(rows) < 2 {
			return nil, nil, fmt.Errorf("%w: class %q has %d row(s); a train/test split needs at least 2 per class (or test_fraction 0)",
				ErrInvalid, d.Classes[k], len(rows))
		}
		rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		m := int(math.Round(testFraction * float64(len(rows))))
		m = min(max(m, 1), len(rows)-1)
		for _, r := range rows[:m] {
			isTest.set(int(r))
		}
	}
	// Train rows in row order, then test rows in row order.
	order := idx
	cut := 0
	for i := range n {
		if !isTest.get(i) {
			order[cut] = int32(i)
			cut++
		}
	}
	t := cut
	for i := range n {
		if isTest.get(i) {
			order[t] = int32(i)
			t++
		}
	}
	clear(isTest)
	d.reorder(order, isTest)
	nf := len(d.Features)
	train = &Dataset{Features: d.Features, Label: d.Label, Classes: d.Classes, X: d.X[: cut*nf : cut*nf], Y: d.Y[:cut:cut]}
	test = &Dataset{Features: d.Features, Label: d.Label, Classes: d.Classes, X: d.X[cut*nf:], Y: d.Y[cut:]}
	return train, test, nil
}

// reorder permutes rows in place so that new row p is old row order[p],
// following the permutation's cycles with one spare row. done is all clear.
func (d *Dataset) reorder(order []int32, done bitset) {
	nf := len(d.Features)
	tmp := make([]float64, nf)
	for start := range order {
		if done.get(start) || int(order[start]) == start {
			continue
		}
		copy(tmp, d.Row(start))
		ty := d.Y[start]
		p := start
		for {
			src := int(order[p])
			done.set(p)
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

// bitset is a set of row indexes.
type bitset []uint64

func newBitset(n int) bitset    { return make(bitset, (n+63)/64) }
func (b bitset) set(i int)      { b[i/64] |= 1 << (i % 64) }
func (b bitset) get(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }
