package logreg

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
)

// gather copies the rows of d that idx selects: the reference an index
// view must agree with.
func gather(d Data, idx []int) Data {
	out := Data{Rows: len(idx), Features: d.Features, Classes: d.Classes, Levels: d.Levels, Unscaled: d.Unscaled}
	nc := len(d.Levels)
	for _, r := range idx {
		out.X = append(out.X, d.X[r*d.Features:(r+1)*d.Features]...)
		out.Y = append(out.Y, d.Y[r])
		if nc > 0 {
			out.Codes = append(out.Codes, d.Codes[r*nc:(r+1)*nc]...)
		}
		if d.Weight != nil {
			out.Weight = append(out.Weight, d.Weight[r])
		}
	}
	return out
}

func TestFitOnIndexIsFitOnCopiedRows(t *testing.T) {
	cases := []struct {
		name string
		data Data
	}{
		{"dense multinomial", synthetic(3000, 4, 3, 0, 1)},
		{"dense binomial", synthetic(2000, 5, 2, 0, 2)},
		{"codes and weights", withCodes(synthetic(3000, 3, 3, 0, 3), []int{4, 3}, true, 3)},
		// Beyond chunkRows, several chunks; beyond the Newton budget,
		// sampled Hessian rows.
		{"sampled Hessian", synthetic(30000, 12, 4, 0, 4)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var idx []int
			for i := 0; i < tc.data.Rows; i++ {
				if i%5 != 2 {
					idx = append(idx, i)
				}
			}
			view := tc.data
			view.Index = idx
			opts := Options{C: 0.5, Standardize: true, Workers: 2}
			got, gi, err := Fit(context.Background(), view, opts)
			if err != nil {
				t.Fatal(err)
			}
			want, wi, err := Fit(context.Background(), gather(tc.data, idx), opts)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Coef, want.Coef) || !slices.Equal(got.Intercept, want.Intercept) ||
				!slices.Equal(got.Mean, want.Mean) || !slices.Equal(got.Scale, want.Scale) {
				t.Fatalf("index view differs from copied rows: coef %v vs %v", got.Coef[:3], want.Coef[:3])
			}
			if gi.Iterations != wi.Iterations || gi.Objective != wi.Objective {
				t.Fatalf("info %+v vs %+v", gi, wi)
			}
		})
	}
}

func TestFitFromStartReachesTheSameOptimumSooner(t *testing.T) {
	for _, classes := range []int{2, 3} {
		d := synthetic(2000, 6, classes, 0, 5)
		ctx := context.Background()
		prev, _, err := Fit(ctx, d, Options{C: 0.1, Standardize: true})
		if err != nil {
			t.Fatal(err)
		}
		cold, ci, err := Fit(ctx, d, Options{C: 0.3, Standardize: true})
		if err != nil {
			t.Fatal(err)
		}
		warm, wi, err := Fit(ctx, d, Options{C: 0.3, Standardize: true, Start: prev})
		if err != nil {
			t.Fatal(err)
		}
		if !wi.Converged || wi.Iterations >= ci.Iterations {
			t.Fatalf("classes %d: warm start took %d iterations (converged %v), cold %d", classes, wi.Iterations, wi.Converged, ci.Iterations)
		}
		for i := range cold.Coef {
			if math.Abs(cold.Coef[i]-warm.Coef[i]) > 1e-6 {
				t.Fatalf("classes %d: coef %d: warm %v, cold %v", classes, i, warm.Coef[i], cold.Coef[i])
			}
		}
		// A start at the optimum needs no step at all.
		_, si, err := Fit(ctx, d, Options{C: 0.3, Standardize: true, Start: cold})
		if err != nil || si.Iterations > 1 {
			t.Fatalf("classes %d: start at the optimum: %d iterations, %v", classes, si.Iterations, err)
		}
	}
}

func TestFitFromStartWithCodes(t *testing.T) {
	d := withCodes(synthetic(2000, 3, 3, 0, 6), []int{5, 2}, false, 6)
	ctx := context.Background()
	cold, _, err := Fit(ctx, d, Options{C: 2})
	if err != nil {
		t.Fatal(err)
	}
	_, si, err := Fit(ctx, d, Options{C: 2, Start: cold})
	if err != nil || si.Iterations > 1 {
		t.Fatalf("start at the optimum: %d iterations, %v", si.Iterations, err)
	}
}

func TestFitRejectsBadIndexAndStart(t *testing.T) {
	d := synthetic(100, 3, 3, 0, 7)
	other, _, err := Fit(context.Background(), synthetic(100, 4, 3, 0, 7), Options{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		idx  []int
		opts Options
		want string
	}{
		{"empty index", []int{}, Options{}, "selects no rows"},
		{"index out of range", []int{0, 100}, Options{}, "row 100 out of range"},
		{"negative index", []int{-1}, Options{}, "row -1 out of range"},
		{"start of another shape", nil, Options{Start: other}, "does not fit data of 3 features"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := d
			v.Index = tc.idx
			_, _, err := Fit(context.Background(), v, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
