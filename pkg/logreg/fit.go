// Package logreg fits and serves logistic regression with exactly the
// objective of scikit-learn's LogisticRegression(solver="lbfgs"): multinomial
// (full K×F coefficients, symmetric softmax) for three or more classes,
// binomial (one weight vector) for two, an L2 penalty 1/(2C)·||W||² that leaves
// the intercept alone, and optional standardization with the population
// standard deviation.
//
// The package depends on gonum only; datasets, artifacts and storage live
// elsewhere. A fit gives the same bits on any number of cores.
package logreg

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/optimize"
)

// Defaults for Options fields left zero.
const (
	DefaultC       = 1.0
	DefaultMaxIter = 1000
	// DefaultTol bounds the infinity norm of the gradient of the mean-form
	// objective (the sum form divided by the row count). 1e-8 lands on the
	// optimum's probabilities to better than 1e-4 where scikit-learn's
	// default (1e-4 on the sum form) may not.
	DefaultTol = 1e-8
)

// Data is a training set: dense features and, optionally, categorical
// columns given as codes.
type Data struct {
	X        []float64 // Rows × Features, row-major
	Y        []int32   // class index per row, in [0, Classes)
	Rows     int
	Features int
	Classes  int

	// Codes holds Rows × len(Levels) category codes, row-major: code c of
	// categorical column j stands for a one-hot feature that is 1, the
	// coefficient Features + Levels[0] + … + Levels[j-1] + c of each
	// weight row. Codes lie in [0, Levels[j]). The one-hot features are
	// never standardized and never materialized: the kernels gather their
	// coefficients.
	Codes  []int32
	Levels []int
	// Unscaled, when set, marks the dense features standardization leaves
	// alone (mean 0, scale 1): missing-value indicators.
	Unscaled []bool
	// Weight, when set, weighs each row's loss: the objective becomes
	// sum_i Weight[i]·loss_i + ||W||²/(2C), scikit-learn's sample_weight
	// (with class_weight multiplied in).
	Weight []float64

	// Index, when set, restricts the fit to these rows of X (and of Y,
	// Codes and Weight), in this order: a cross-validation fold's
	// training part as a view, without copying the matrix. Rows stays the
	// row count of the whole table.
	Index []int
}

// used is the number of rows a fit reads: len(Index), or Rows.
func (d Data) used() int {
	if d.Index != nil {
		return len(d.Index)
	}
	return d.Rows
}

// row is the table row of the fit's i-th row.
func (d Data) row(i int) int {
	if d.Index != nil {
		return d.Index[i]
	}
	return i
}

// Width is the number of coefficients per weight row: the dense features
// and then every categorical level.
func (d Data) Width() int {
	w := d.Features
	for _, l := range d.Levels {
		w += l
	}
	return w
}

// Progress is what a fit reports after every iteration.
type Progress struct {
	Iteration int
	// Loss is the sum-form objective at the current iterate (rows
	// weighted by Data.Weight).
	Loss float64
	// GradNorm is the infinity norm of the mean-form gradient: the
	// sum form divided by the rows (or the sum of the row weights).
	GradNorm float64
}

// Options tunes a fit. Zero values take the defaults above.
type Options struct {
	C           float64
	MaxIter     int
	Tol         float64
	Standardize bool
	// Workers bounds the goroutines that sum the gradient; 0 means GOMAXPROCS.
	// The result does not depend on it.
	Workers int
	// OnProgress, when set, is called after every iteration from the
	// fitting goroutine.
	OnProgress func(Progress)
	// Start, when set, is the first iterate instead of zero: a model of
	// the same shape fitted on the same rows and scaler, typically at a
	// neighbouring C (a warm start along a regularization path). Its Mean
	// and Scale are ignored.
	Start *Model
}

func (o Options) withDefaults() Options {
	if o.C == 0 {
		o.C = DefaultC
	}
	if o.MaxIter == 0 {
		o.MaxIter = DefaultMaxIter
	}
	if o.Tol == 0 {
		o.Tol = DefaultTol
	}
	return o
}

// FitInfo describes how the solver ended.
type FitInfo struct {
	// Objective is the final sum-form objective.
	Objective   float64
	GradNorm    float64
	Iterations  int
	Evaluations int
	Converged   bool
	// Status is gonum's termination status, or the line search's reason
	// for stopping early.
	Status string
}

// ErrInvalidData reports training data the model cannot be fitted on.
var ErrInvalidData = errors.New("invalid training data")

// Fit minimizes the objective from a zero start (or opts.Start) and stops when the
// mean-form gradient's infinity norm falls below Tol, after MaxIter
// iterations, or when ctx is done (then it returns ctx's error). Up to
// maxNewtonDim parameters it takes Newton steps (see newton), beyond that
// gonum's L-BFGS.
func Fit(ctx context.Context, d Data, opts Options) (*Model, FitInfo, error) {
	opts = opts.withDefaults()
	if err := d.validate(); err != nil {
		return nil, FitInfo{}, err
	}
	if !(opts.C > 0) || math.IsInf(opts.C, 0) {
		return nil, FitInfo{}, fmt.Errorf("c must be a positive finite number, got %v", opts.C)
	}
	if opts.MaxIter < 0 {
		return nil, FitInfo{}, fmt.Errorf("max_iter must be positive, got %d", opts.MaxIter)
	}
	if !(opts.Tol > 0) {
		return nil, FitInfo{}, fmt.Errorf("tol must be positive, got %v", opts.Tol)
	}

	if err := d.validateStart(opts.Start); err != nil {
		return nil, FitInfo{}, err
	}
	var mean, scale []float64
	if opts.Standardize {
		mean, scale = meanScale(d)
	}
	obj := newObjective(d, mean, scale, opts.C, opts.Workers)
	var theta []float64
	var info FitInfo
	var err error
	start := make([]float64, obj.dim())
	if opts.Start != nil {
		obj.pack(opts.Start.Coef, opts.Start.Intercept, start)
	}
	rows := newtonRows(d.used(), d.Features, obj.weightRows())
	if obj.levels > 0 {
		rows = newtonRowsSparse(d.used(), obj.width, d.Features+len(d.Levels), obj.weightRows(), maxNewtonDimCategorical)
	}
	if rows > 0 {
		theta, info, err = newton(ctx, obj, rows, start, opts)
	} else {
		theta, info, err = lbfgs(ctx, obj, start, opts)
	}
	if err != nil {
		return nil, FitInfo{}, err
	}
	obj.eval(theta)
	info.GradNorm = infNorm(obj.lastG)
	info.Objective = obj.lastF * obj.wsum
	info.Converged = info.GradNorm < opts.Tol
	if !finite(info.Objective) || !finite(info.GradNorm) || !allFinite(theta) {
		return nil, info, fmt.Errorf("%w: the objective or its gradient is not finite: rescale the features or standardize them", ErrInvalidData)
	}
	coef, intercept := obj.unpack(theta)
	m := &Model{
		Features:  d.Features,
		Classes:   d.Classes,
		Levels:    append([]int(nil), d.Levels...),
		Coef:      coef,
		Intercept: intercept,
		Mean:      mean,
		Scale:     scale,
	}
	if len(m.Levels) == 0 {
		m.Levels = nil
	}
	return m, info, nil
}

func (d Data) validate() error {
	switch {
	case d.Rows < 1:
		return fmt.Errorf("%w: no rows", ErrInvalidData)
	case d.Features < 0 || d.Width() < 1:
		return fmt.Errorf("%w: no features", ErrInvalidData)
	case d.Classes < 2:
		return fmt.Errorf("%w: need at least two classes, got %d", ErrInvalidData, d.Classes)
	case len(d.X) != d.Rows*d.Features:
		return fmt.Errorf("%w: X has %d values, want %d×%d", ErrInvalidData, len(d.X), d.Rows, d.Features)
	case len(d.Y) != d.Rows:
		return fmt.Errorf("%w: Y has %d labels, want %d", ErrInvalidData, len(d.Y), d.Rows)
	}
	if d.Index != nil {
		if len(d.Index) < 1 {
			return fmt.Errorf("%w: the index selects no rows", ErrInvalidData)
		}
		for i, r := range d.Index {
			if r < 0 || r >= d.Rows {
				return fmt.Errorf("%w: index %d: row %d out of range [0, %d)", ErrInvalidData, i, r, d.Rows)
			}
		}
	}
	for i, y := range d.Y {
		if y < 0 || int(y) >= d.Classes {
			return fmt.Errorf("%w: row %d: class %d out of range [0, %d)", ErrInvalidData, i, y, d.Classes)
		}
	}
	for i, v := range d.X {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: row %d, feature %d is not finite", ErrInvalidData, i/d.Features, i%d.Features)
		}
	}
	return d.validateExtras()
}

// validateExtras checks the categorical codes, Unscaled and Weight.
func (d Data) validateExtras() error {
	nc := len(d.Levels)
	for j, l := range d.Levels {
		if l < 1 {
			return fmt.Errorf("%w: categorical column %d has %d levels", ErrInvalidData, j, l)
		}
	}
	if len(d.Codes) != d.Rows*nc {
		return fmt.Errorf("%w: Codes has %d values, want %d×%d", ErrInvalidData, len(d.Codes), d.Rows, nc)
	}
	for i, c := range d.Codes {
		if j := i % nc; c < 0 || int(c) >= d.Levels[j] {
			return fmt.Errorf("%w: row %d, categorical column %d: code %d out of range [0, %d)", ErrInvalidData, i/nc, j, c, d.Levels[j])
		}
	}
	if d.Unscaled != nil && len(d.Unscaled) != d.Features {
		return fmt.Errorf("%w: Unscaled has %d values, want %d", ErrInvalidData, len(d.Unscaled), d.Features)
	}
	if d.Weight == nil {
		return nil
	}
	if len(d.Weight) != d.Rows {
		return fmt.Errorf("%w: Weight has %d values, want %d", ErrInvalidData, len(d.Weight), d.Rows)
	}
	sum := 0.0
	for i, w := range d.Weight {
		if d.Index != nil {
			break // summed over the index below
		}
		if !(w >= 0) || math.IsInf(w, 0) {
			return fmt.Errorf("%w: row %d: weight %v is not a finite number >= 0", ErrInvalidData, i, w)
		}
		sum += w
	}
	for _, r := range d.Index {
		w := d.Weight[r]
		if !(w >= 0) || math.IsInf(w, 0) {
			return fmt.Errorf("%w: row %d: weight %v is not a finite number >= 0", ErrInvalidData, r, w)
		}
		sum += w
	}
	if !(sum > 0) || math.IsInf(sum, 0) {
		return fmt.Errorf("%w: the row weights sum to %v", ErrInvalidData, sum)
	}
	return nil
}

// lbfgs minimizes the objective from start with gonum's L-BFGS.
func lbfgs(ctx context.Context, obj *objective, start []float64, opts Options) ([]float64, FitInfo, error) {
	problem := optimize.Problem{Func: obj.Func, Grad: obj.Grad}
	rec := &recorder{ctx: ctx, rows: obj.wsum, onProgress: opts.OnProgress}
	settings := &optimize.Settings{
		GradientThreshold: opts.Tol,
		Converger:         optimize.NeverTerminate{},
		MajorIterations:   opts.MaxIter,
		Recorder:          rec,
	}
	method := &optimize.LBFGS{Store: 10, GradStopThreshold: math.NaN()}
	res, err := optimize.Minimize(problem, start, settings, method)
	status := ""
	switch {
	case err == nil:
		status = res.Status.String()
	case ctx.Err() != nil:
		return nil, FitInfo{}, ctx.Err()
	case errors.Is(err, optimize.ErrNoProgress), errors.Is(err, optimize.ErrLinesearcherFailure):
		// Floating point can stop the line search just short of the
		// tolerance; the best point found so far is the answer.
		status = err.Error()
	case res != nil && res.Status == optimize.IterationLimit:
		status = res.Status.String()
	case errors.As(err, new(optimize.ErrFunc)), errors.As(err, new(optimize.ErrGrad)):
		return nil, FitInfo{}, fmt.Errorf("%w: the objective or its gradient is not finite (%v): rescale the features or standardize them", ErrInvalidData, err)
	default:
		return nil, FitInfo{}, fmt.Errorf("minimize: %w", err)
	}
	info := FitInfo{Iterations: res.Stats.MajorIterations, Evaluations: res.Stats.FuncEvaluations, Status: status}
	// gonum does not record the iteration that ends the run.
	if opts.OnProgress != nil && rec.iter < info.Iterations {
		obj.eval(res.X)
		opts.OnProgress(Progress{Iteration: info.Iterations, Loss: obj.lastF * obj.wsum, GradNorm: infNorm(obj.lastG)})
	}
	return res.X, info, nil
}

// meanScale returns the column means and population standard deviations,
// with scale 1 for a constant column as scikit-learn's StandardScaler does,
// and mean 0, scale 1 for the columns d.Unscaled marks.
func meanScale(d Data) (mean, scale []float64) {
	f := d.Features
	mean = make([]float64, f)
	scale = make([]float64, f)
	for i := 0; i < d.used(); i++ {
		r := d.row(i)
		axpy(1, d.X[r*f:r*f+f], mean)
	}
	n := float64(d.used())
	for j := range mean {
		mean[j] /= n
	}
	for i := 0; i < d.used(); i++ {
		r := d.row(i)
		row := d.X[r*f : r*f+f]
		for j, v := range row {
			dv := v - mean[j]
			scale[j] += dv * dv
		}
	}
	for j := range scale {
		v := scale[j] / n
		// scikit-learn's _is_constant_feature: a variance within rounding
		// error of zero means a constant column, which keeps scale 1.
		bound := n*epsilon*v + (n*mean[j]*epsilon)*(n*mean[j]*epsilon)
		if v <= bound {
			scale[j] = 1
		} else {
			scale[j] = math.Sqrt(v)
		}
	}
	for j, u := range d.Unscaled {
		if u {
			mean[j], scale[j] = 0, 1
		}
	}
	return mean, scale
}

const epsilon = 2.220446049250313e-16

// recorder forwards iterations to the progress callback and stops the solver
// when the context is done.
type recorder struct {
	ctx        context.Context
	rows       float64
	iter       int
	onProgress func(Progress)
}

func (r *recorder) Init() error { return nil }

func (r *recorder) Record(loc *optimize.Location, op optimize.Operation, _ *optimize.Stats) error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	if op != optimize.MajorIteration {
		return nil
	}
	r.iter++
	if r.onProgress != nil {
		g := 0.0
		for _, v := range loc.Gradient {
			g = max(g, math.Abs(v))
		}
		r.onProgress(Progress{Iteration: r.iter, Loss: loc.F * r.rows, GradNorm: g})
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func allFinite(vs []float64) bool {
	for _, v := range vs {
		if !finite(v) {
			return false
		}
	}
	return true
}

// validateStart checks that a warm start has the shape of d's model.
func (d Data) validateStart(m *Model) error {
	if m == nil {
		return nil
	}
	kw := d.Classes
	if kw == 2 {
		kw = 1
	}
	if m.Features != d.Features || m.Classes != d.Classes || len(m.Coef) != kw*d.Width() || len(m.Intercept) != kw || !slices.Equal(m.Levels, d.Levels) {
		return fmt.Errorf("start: a model of %d features, %d classes and levels %v does not fit data of %d features, %d classes and levels %v",
			m.Features, m.Classes, m.Levels, d.Features, d.Classes, d.Levels)
	}
	if !allFinite(m.Coef) || !allFinite(m.Intercept) {
		return errors.New("start: the model has a coefficient that is not finite")
	}
	return nil
}
