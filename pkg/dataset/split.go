package dataset

import (
	"fmt"
	"math"
	"math/rand/v2"
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
	isTest, tests, err := TestRows(d.Y, d.Classes, testFraction, seed)
	if err != nil {
		return nil, nil, err
	}
	cut := len(d.Y) - tests
	d.partition(isTest, cut)
	nf := len(d.Features)
	train = &Dataset{Features: d.Features, Label: d.Label, Classes: d.Classes, X: d.X[: cut*nf : cut*nf], Y: d.Y[:cut:cut]}
	test = &Dataset{Features: d.Features, Label: d.Label, Classes: d.Classes, X: d.X[cut*nf:], Y: d.Y[cut:]}
	return train, test, nil
}

// partition moves the rows in isTest behind the first cut rows: each test
// row before the cut trades places with the next training row after it.
// Both scans go in row order, and only the rows on the wrong side move
// (a fifth of the rows for a 0.2 split, against nearly all for a stable
// partition, which follows the permutation's cycles in random order).
func (d *Dataset) partition(isTest RowSet, cut int) {
	tmp := make([]float64, len(d.Features))
	j := cut
	for i := range cut {
		if !isTest.Has(i) {
			continue
		}
		for isTest.Has(j) {
			j++
		}
		a, b := d.Row(i), d.Row(j)
		copy(tmp, a)
		copy(a, b)
		copy(b, tmp)
		d.Y[i], d.Y[j] = d.Y[j], d.Y[i]
		j++
	}
}

// TestRows picks the test rows of a stratified split of the labels y
// (class ids into classes), as Split does, and returns them and their
// count. A negative label (a row without one) is never picked nor
// counted.
func TestRows(y []int32, classes []string, testFraction float64, seed uint64) (RowSet, int, error) {
	rows := make([]int, len(classes)) // per class
	for _, c := range y {
		if c >= 0 {
			rows[c]++
		}
	}
	want := make([]int, len(classes)) // test rows still to pick, per class
	tests := 0
	for k, n := range rows {
		if n < 2 {
			return nil, 0, fmt.Errorf("%w: class %q has %d row(s); a train/test split needs at least 2 per class (or test_fraction 0)",
				ErrInvalid, classes[k], n)
		}
		m := int(math.Round(testFraction * float64(n)))
		want[k] = min(max(m, 1), n-1)
		tests += want[k]
	}
	// Selection sampling (Knuth's algorithm S) within each class, in one
	// pass: a row is picked with probability (still wanted) / (still to
	// see), which picks exactly want[k] rows, every subset alike. Only a
	// bit per row is kept beside the matrix.
	rng := rand.New(rand.NewPCG(seed, 0x6d6f64656c666572))
	isTest := newBitset(len(y))
	for i, c := range y {
		if c < 0 {
			continue
		}
		if rng.IntN(rows[c]) < want[c] {
			isTest.set(i)
			want[c]--
		}
		rows[c]--
	}
	return RowSet(isTest), tests, nil
}

// RowSet is a set of row indexes.
type RowSet []uint64

// Has reports whether row i is in the set.
func (s RowSet) Has(i int) bool { return bitset(s).get(i) }

// bitset is a set of row indexes.
type bitset []uint64

func newBitset(n int) bitset    { return make(bitset, (n+63)/64) }
func (b bitset) set(i int)      { b[i/64] |= 1 << (i % 64) }
func (b bitset) get(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }
