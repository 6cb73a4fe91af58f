package logreg

import (
	"math"
	"testing"
)

func TestExpShiftedMatchesMathExp(t *testing.T) {
	worst := 0.0
	z := make([]float64, 1)
	for x := -760.0; x <= 0; x += 0.0001234567 {
		z[0] = x
		sum := expShifted(z, 0)
		want := math.Exp(x)
		if sum != z[0] {
			t.Fatalf("sum %v of one value %v", sum, z[0])
		}
		if want == 0 {
			if z[0] != 0 {
				t.Fatalf("e^%v = %v, want 0", x, z[0])
			}
			continue
		}
		worst = max(worst, math.Abs(z[0]-want)/want)
	}
	// 2 ulp of a result in [1, 2).
	if worst > 4.5e-16 {
		t.Errorf("largest relative error %.3g", worst)
	}
	z = []float64{3, 1, 3}
	if sum := expShifted(z, 3); z[0] != 1 || z[2] != 1 || sum != 2+math.Exp(-2) {
		t.Errorf("got %v, sum %v", z, sum)
	}
}

func TestLogitsAndAddOuter(t *testing.T) {
	for classes := 1; classes <= 9; classes++ {
		for _, f := range []int{1, 2, 5, 8} {
			w := make([]float64, classes*f)
			b := make([]float64, classes)
			x := make([]float64, f)
			for i := range w {
				w[i] = float64(i%7) - 2.5
			}
			for i := range b {
				b[i] = float64(i) / 3
			}
			for i := range x {
				x[i] = 0.5 * float64(i+1)
			}
			z := make([]float64, classes)
			logits(w, b, x, z)
			g := make([]float64, classes*f)
			addOuter(g, z, x)
			for k := range z {
				want := b[k]
				for j := range x {
					want += w[k*f+j] * x[j]
				}
				if math.Abs(z[k]-want) > 1e-12 {
					t.Errorf("%d classes, %d features: z[%d] = %v, want %v", classes, f, k, z[k], want)
				}
				for j := range x {
					if g[k*f+j] != z[k]*x[j] {
						t.Errorf("%d classes, %d features: g[%d][%d] = %v, want %v", classes, f, k, j, g[k*f+j], z[k]*x[j])
					}
				}
			}
		}
	}
}

// The multinomial Hessian is singular along the directions that change no
// probability; solve must still return h⁻¹·b for a b without a component
// along them.
func TestSolveFlatDirections(t *testing.T) {
	o := &objective{features: 1, width: 1, classes: 3}
	// Weights 0..2, then intercepts 3..5; each block is the same
	// singular matrix, null along (1, 1, 1).
	lap := [3][3]float64{{2, -1, -1}, {-1, 2, -1}, {-1, -1, 2}}
	h := make([]float64, 36)
	for k := 0; k < 3; k++ {
		for l := 0; l < 3; l++ {
			h[k*6+l] = lap[k][l]
			h[(3+k)*6+3+l] = 3 * lap[k][l]
		}
	}
	orig := append([]float64(nil), h...)
	b := []float64{1, -2, 1, 0.5, 0.5, -1}
	x := make([]float64, 6)
	o.solve(h, b, x)
	for i := 0; i < 6; i++ {
		got := 0.0
		for j := 0; j < 6; j++ {
			got += orig[i*6+j] * x[j]
		}
		if math.Abs(got-b[i]) > 1e-12 {
			t.Errorf("(h·x)[%d] = %v, want %v (x = %v)", i, got, b[i], x)
		}
	}
}
