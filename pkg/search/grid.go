package search

import (
	"fmt"
	"math"
)

// MaxPoints bounds the grid: C values times class-weight candidates.
const MaxPoints = 100

// Logspace returns n values from 10^start to 10^stop evenly spaced in
// log10, as numpy.logspace(start, stop, n): scikit-learn's Cs=10 is
// Logspace(-4, 4, 10).
func Logspace(start, stop float64, n int) ([]float64, error) {
	if n < 1 || n > MaxPoints {
		return nil, fmt.Errorf("%w: a logspace grid takes 1 to %d points, got %d", ErrInvalid, MaxPoints, n)
	}
	if math.IsNaN(start) || math.IsInf(start, 0) || math.IsNaN(stop) || math.IsInf(stop, 0) {
		return nil, fmt.Errorf("%w: logspace bounds must be finite, got [%v, %v]", ErrInvalid, start, stop)
	}
	out := make([]float64, n)
	if n == 1 {
		out[0] = math.Pow(10, start)
		return out, nil
	}
	// numpy.linspace: i·step + start, the last point exactly stop.
	step := (stop - start) / float64(n-1)
	for i := range out {
		e := float64(i)*step + start
		if i == n-1 {
			e = stop
		}
		out[i] = math.Pow(10, e)
	}
	return out, nil
}

// ClassWeight is one class-weight candidate: none (the zero value),
// "balanced" (n_rows / (classes · count of the class), over the rows a fit
// is given, as scikit-learn computes it inside a Pipeline), or a weight per
// class index.
type ClassWeight struct {
	Balanced bool
	// ByClass is the weight of each class index; nil means 1 for all.
	ByClass []float64
}

// String is the candidate as the run record shows it: "none",
// "balanced" or the weights by class index.
func (w ClassWeight) String() string {
	switch {
	case w.Balanced:
		return "balanced"
	case w.ByClass == nil:
		return "none"
	}
	return fmt.Sprint(w.ByClass)
}

// rowWeights returns the weight of each row of the table (len(base) or
// len(y)) for a fit on rows: the class weight times base (nil base
// weighs 1), or nil when neither weighs anything.
func (w ClassWeight) rowWeights(y []int32, classes int, rows []int, base []float64) []float64 {
	if !w.Balanced && w.ByClass == nil {
		return base
	}
	byClass := w.ByClass
	if w.Balanced {
		counts := make([]float64, classes)
		for _, r := range rows {
			counts[y[r]]++
		}
		byClass = make([]float64, classes)
		for c, n := range counts {
			if n > 0 {
				byClass[c] = float64(len(rows)) / (float64(classes) * n)
			}
		}
	}
	out := make([]float64, len(y))
	for _, r := range rows {
		out[r] = byClass[y[r]]
		if base != nil {
			out[r] *= base[r]
		}
	}
	return out
}

func (w ClassWeight) validate(classes int) error {
	if w.Balanced && w.ByClass != nil {
		return fmt.Errorf("%w: a class-weight candidate is either balanced or weights by class, not both", ErrInvalid)
	}
	if w.ByClass == nil {
		return nil
	}
	if len(w.ByClass) != classes {
		return fmt.Errorf("%w: class weights: %d values for %d classes", ErrInvalid, len(w.ByClass), classes)
	}
	for c, v := range w.ByClass {
		if !(v >= 0) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: class weight of class %d must be a finite number >= 0, got %v", ErrInvalid, c, v)
		}
	}
	return nil
}

// Weights returns the weight of every row of y for a fit on all of them
// ("balanced" counted over all rows) times base (nil weighs 1): base
// itself when the candidate is none.
func (w ClassWeight) Weights(y []int32, classes int, base []float64) []float64 {
	rows := make([]int, len(y))
	for i := range rows {
		rows[i] = i
	}
	return w.rowWeights(y, classes, rows, base)
}
