package logreg

import (
	"context"
	"errors"
	"math"

	"gonum.org/v1/gonum/mat"
)

// maxNewtonDim bounds the parameters for which Newton steps are taken; the
// Hessian grows with their square and L-BFGS serves beyond. With
// categorical inputs a row touches only its own levels, the Hessian costs
// far less per row (blockSparse), and Newton serves up to
// maxNewtonDimCategorical.
const (
	maxNewtonDim            = 256
	maxNewtonDimCategorical = 512
)

// newtonRows is how many rows the Hessian is estimated from, or 0 when
// Newton steps would cost more than L-BFGS's cheap ones. Small problems use
// every row; large ones about as many sampled rows as a quarter of a
// gradient pass pays for, and at least 64 per parameter: fewer let the
// estimate stray so far that steps stop shrinking the gradient.
func newtonRows(rows, features, kw int) int {
	return newtonRowsSparse(rows, features, features, kw, maxNewtonDim)
}

// newtonRowsSparse is newtonRows for rows of width coefficients of which
// nnz are nonzero, up to maxDim parameters.
func newtonRowsSparse(rows, width, nnz, kw, maxDim int) int {
	dim := kw * (width + 1)
	if dim > maxDim {
		return 0
	}
	hc, gc := hessianCost(nnz, kw), gradientCost(nnz, kw)
	if rows*hc <= 1<<24 {
		return rows
	}
	return min(rows, max(rows*gc/(4*hc), 64*dim))
}

// newton minimizes the objective from start with Newton steps on a
// Hessian from hessRows rows (sampled by curvature when fewer than all, see
// objective.pickScale) and a backtracking line search that keeps every
// step a decrease. On 1M rows × 20 features × 3 classes it needs about
// half the passes over the data that L-BFGS does, Hessians included.
func newton(ctx context.Context, o *objective, hessRows int, start []float64, opts Options) ([]float64, FitInfo, error) {
	dim := o.dim()
	hess := newHessian(o, hessRows)
	defer o.sampleRows(0)
	theta := start
	trial := make([]float64, dim)
	d := make([]float64, dim)
	g := make([]float64, dim)
	rhs := make([]float64, dim)
	o.eval(theta)
	f := o.lastF
	copy(g, o.lastG)
	info := FitInfo{Status: "IterationLimit"}
	for {
		gnorm := infNorm(g)
		if gnorm < opts.Tol {
			info.Status = "GradientThreshold"
			break
		}
		if info.Iterations >= opts.MaxIter {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, FitInfo{}, err
		}
		for i, v := range g {
			rhs[i] = -v
		}
		o.solve(hess.at(theta), rhs, d)
		gd := dot(g, d)
		if !(gd < 0) {
			copy(d, rhs) // not a descent direction after all: steepest descent
			gd = -dot(g, g)
		}
		step, accepted := 1.0, false
		for range 40 {
			for i := range trial {
				trial[i] = theta[i] + step*d[i]
			}
			o.eval(trial)
			ft := o.lastF
			// Near the optimum the decrease is lost in rounding: a
			// smaller gradient at no higher a loss is progress too.
			if (ft < f && ft <= f+1e-4*step*gd) || (ft <= f && infNorm(o.lastG) < gnorm) {
				accepted = true
				break
			}
			// Minimum of the quadratic through f, the slope and ft,
			// kept within [0.1, 0.5] of the last step.
			next := 0.5 * step
			if q := 2 * (ft - f - step*gd); q > 0 {
				next = -gd * step * step / q
			}
			step = min(max(next, 0.1*step), 0.5*step)
		}
		if !accepted {
			info.Status = "line search failed: no progress along the Newton direction"
			break
		}
		theta, trial = trial, theta
		f = o.lastF
		copy(g, o.lastG)
		info.Iterations++
		if opts.OnProgress != nil {
			opts.OnProgress(Progress{Iteration: info.Iterations, Loss: f * o.wsum, GradNorm: infNorm(g)})
		}
	}
	info.Evaluations = o.evals
	return theta, info, nil
}

// solve sets x to h⁻¹·b, or to b when h cannot be factorized.
//
// A multinomial model has flat directions: adding the same vector to every
// class's weights changes no probability, only the penalty, and the same
// constant to every intercept changes nothing. The gradient has no
// component along them (at a zero start, and so at every iterate), so the
// solution there is 0 whatever the curvature: each is given the curvature
// of its feature, which keeps h well conditioned however weak the penalty.
func (o *objective) solve(h, b, x []float64) {
	dim := len(b)
	if !o.binary {
		kw := o.weightRows()
		for a := 0; a <= o.width; a++ {
			c := 0.0
			for k := 0; k < kw; k++ {
				c += h[o.index(k, a)*dim+o.index(k, a)]
			}
			c /= float64(kw * kw)
			for k := 0; k < kw; k++ {
				for l := 0; l < kw; l++ {
					h[o.index(k, a)*dim+o.index(l, a)] += c
				}
			}
		}
	}
	var chol mat.Cholesky
	if chol.Factorize(mat.NewSymDense(dim, h)) {
		// A Condition error still comes with the solution: an
		// ill-conditioned step is checked by the line search.
		err := chol.SolveVecTo(mat.NewVecDense(dim, x), mat.NewVecDense(dim, b))
		var cond mat.Condition
		if err == nil || errors.As(err, &cond) {
			return
		}
	}
	copy(x, b)
}

func infNorm(v []float64) float64 {
	n := 0.0
	for _, x := range v {
		n = max(n, math.Abs(x))
	}
	return n
}
