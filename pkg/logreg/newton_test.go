package logreg

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

func TestHessianMatchesFiniteDifferences(t *testing.T) {
	for _, tc := range []struct {
		name        string
		classes     int
		standardize bool
	}{
		{"binomial raw", 2, false},
		{"binomial standardized", 2, true},
		{"multinomial raw", 3, false},
		{"multinomial standardized", 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := synthetic(2000, 4, tc.classes, 0, 1)
			var mean, scale []float64
			if tc.standardize {
				mean, scale = meanScale(d)
			}
			o := newObjective(d, mean, scale, 0.7, 2)
			r := rand.New(rand.NewPCG(5, 6))
			theta := make([]float64, o.dim())
			for i := range theta {
				theta[i] = 0.3 * r.NormFloat64()
			}
			dim := o.dim()
			h := newHessian(o, d.Rows).at(theta)
			gp, gm := make([]float64, dim), make([]float64, dim)
			for j := range theta {
				const step = 1e-5
				p := append([]float64(nil), theta...)
				p[j] += step
				o.Grad(gp, p)
				p[j] -= 2 * step
				o.Grad(gm, p)
				for i := range gp {
					num := (gp[i] - gm[i]) / (2 * step)
					if math.Abs(num-h[i*dim+j]) > 1e-6*max(1, math.Abs(num)) {
						t.Errorf("H[%d][%d]: analytic %.10g, numeric %.10g", i, j, h[i*dim+j], num)
					}
				}
			}
		})
	}
}

// With a weak penalty the multinomial Hessian is nearly singular along the
// directions that change no probability; the fit must still converge.
func TestFitConvergesWithWeakPenalty(t *testing.T) {
	d := synthetic(3000, 5, 3, 0, 8)
	_, info, err := Fit(context.Background(), d, Options{Standardize: true, C: 1e9})
	if err != nil {
		t.Fatal(err)
	}
	if !info.Converged {
		t.Errorf("not converged: %+v", info)
	}
}

// The Hessian of large data comes from a sample of rows weighted by their
// curvature. On nearly separable data few rows carry any: a uniform sample
// misses most of them and Newton's steps crawl (35 iterations on the
// binomial case below).
func TestSampledHessianNeedsFewIterations(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		rows, features, classes int
		maxIter                 int
	}{
		{"binomial, nearly separable", 40000, 40, 2, 20},
		{"multinomial", 40000, 20, 3, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := synthetic(tc.rows, tc.features, tc.classes, 0, 11)
			_, info, err := Fit(context.Background(), d, Options{Standardize: true})
			if err != nil {
				t.Fatal(err)
			}
			if !info.Converged || info.Iterations > tc.maxIter {
				t.Errorf("%d iterations, converged %v; want convergence within %d", info.Iterations, info.Converged, tc.maxIter)
			}
		})
	}
}
