package logreg

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// synthetic makes a seeded classification set: class-dependent means plus
// Gaussian noise, with the last `constant` features fixed at 3.
func synthetic(rows, features, classes, constant int, seed uint64) Data {
	r := rand.New(rand.NewPCG(seed, 7))
	centers := make([]float64, classes*features)
	for i := range centers {
		centers[i] = r.NormFloat64()
	}
	d := Data{X: make([]float64, rows*features), Y: make([]int32, rows), Rows: rows, Features: features, Classes: classes}
	for i := 0; i < rows; i++ {
		y := i % classes
		d.Y[i] = int32(y)
		for j := 0; j < features; j++ {
			v := 3.0
			if j < features-constant {
				v = centers[y*features+j] + 1.5*r.NormFloat64() + float64(j)
			}
			d.X[i*features+j] = v
		}
	}
	return d
}

func TestGradientMatchesFiniteDifferences(t *testing.T) {
	for _, tc := range []struct {
		name        string
		classes     int
		standardize bool
		// offset is added to feature 0: far from zero relative to its
		// spread, the column is centred row by row instead of folded.
		offset float64
	}{
		{"binomial raw", 2, false, 0},
		{"binomial standardized", 2, true, 0},
		{"multinomial raw", 4, false, 0},
		{"multinomial standardized", 4, true, 0},
		{"multinomial standardized, offset folded", 4, true, 100},
		{"multinomial standardized, offset centred", 4, true, 1e6},
		{"binomial standardized, offset centred", 2, true, 1e6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := synthetic(5000, 5, tc.classes, 1, 1)
			for i := 0; i < d.Rows; i++ {
				d.X[i*d.Features] += tc.offset
			}
			var mean, scale []float64
			if tc.standardize {
				mean, scale = meanScale(d)
			}
			o := newObjective(d, mean, scale, 0.7, 2)
			if centred := o.shift != nil; centred != (tc.offset > 1e3) {
				t.Fatalf("column 0 centred row by row: %v", centred)
			}
			r := rand.New(rand.NewPCG(3, 4))
			theta := make([]float64, o.dim())
			for i := range theta {
				theta[i] = 0.3 * r.NormFloat64()
			}
			grad := make([]float64, len(theta))
			o.Grad(grad, theta)
			for i := range theta {
				h := 1e-6
				p := append([]float64(nil), theta...)
				p[i] += h
				fp := o.Func(p)
				p[i] -= 2 * h
				fm := o.Func(p)
				num := (fp - fm) / (2 * h)
				if math.Abs(num-grad[i]) > 1e-6*max(1, math.Abs(num)) {
					t.Errorf("d/dθ[%d]: analytic %.10g, numeric %.10g", i, grad[i], num)
				}
			}
		})
	}
}

func TestDefaultToleranceReachesOptimum(t *testing.T) {
	for _, tc := range []struct {
		name                              string
		rows, features, classes, constant int
		standardize                       bool
	}{
		{"64 features 10 classes standardized", 3000, 64, 10, 4, true},
		{"8 features 3 classes raw", 3000, 8, 3, 1, false},
		{"binomial 30 features", 3000, 30, 2, 2, true},
		// Enough rows that the Hessian comes from a sample of them.
		{"sampled Hessian", 40000, 20, 3, 1, true},
		{"sampled Hessian binomial", 40000, 40, 2, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := synthetic(tc.rows, tc.features, tc.classes, tc.constant, 11)
			if tc.rows > 3000 {
				if hr := newtonRows(d.Rows, d.Features, newObjective(d, nil, nil, 1, 1).weightRows()); hr == 0 || hr >= d.Rows {
					t.Fatalf("the Hessian uses %d of %d rows; the case is meant to sample them", hr, d.Rows)
				}
			}
			m, info, err := Fit(context.Background(), d, Options{Standardize: tc.standardize})
			if err != nil {
				t.Fatal(err)
			}
			if !info.Converged {
				t.Errorf("default fit did not converge: %+v", info)
			}
			ref, refInfo, err := Fit(context.Background(), d, Options{Standardize: tc.standardize, Tol: 1e-12, MaxIter: 20000})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("default: %d iterations, objective %.12g; reference: %d iterations, objective %.12g, grad %.2g",
				info.Iterations, info.Objective, refInfo.Iterations, refInfo.Objective, refInfo.GradNorm)
			if diff := maxProbaDiff(t, m, ref, d); diff > 1e-4 {
				t.Errorf("max |p - p_opt| = %.3g > 1e-4", diff)
			}
			if rel := (info.Objective - refInfo.Objective) / refInfo.Objective; rel > 1e-6 {
				t.Errorf("objective %.12g is %.3g above the optimum %.12g", info.Objective, rel, refInfo.Objective)
			}
		})
	}
}

// A column far from zero relative to its spread standardizes to the same
// values as the column less its offset: the fit must not notice. (Folding
// that column's mean into the intercept would lose the fit in rounding.)
func TestFitIgnoresColumnOffset(t *testing.T) {
	const offset = 1e10
	for _, classes := range []int{2, 3} {
		t.Run(fmt.Sprint(classes, " classes"), func(t *testing.T) {
			far := synthetic(20000, 6, classes, 0, 3)
			near := far
			near.X = append([]float64(nil), far.X...)
			for i := 0; i < far.Rows; i++ {
				far.X[i*far.Features+2] += offset
				// Exact: both are multiples of far's rounding step.
				near.X[i*far.Features+2] = far.X[i*far.Features+2] - offset
			}
			m, info, err := Fit(context.Background(), near, Options{Standardize: true})
			if err != nil {
				t.Fatal(err)
			}
			mf, infoFar, err := Fit(context.Background(), far, Options{Standardize: true})
			if err != nil {
				t.Fatal(err)
			}
			if !infoFar.Converged {
				t.Errorf("offset fit did not converge: %+v", infoFar)
			}
			if rel := math.Abs(infoFar.Objective-info.Objective) / info.Objective; rel > 1e-9 {
				t.Errorf("objective %.12g with the offset, %.12g without", infoFar.Objective, info.Objective)
			}
			for i := range m.Coef {
				if math.Abs(m.Coef[i]-mf.Coef[i]) > 1e-6 {
					t.Errorf("coef[%d] = %v with the offset, %v without", i, mf.Coef[i], m.Coef[i])
				}
			}
		})
	}
}

func maxProbaDiff(t *testing.T, a, b *Model, d Data) float64 {
	t.Helper()
	ca, err := a.Compile()
	if err != nil {
		t.Fatal(err)
	}
	cb, err := b.Compile()
	if err != nil {
		t.Fatal(err)
	}
	pa, pb := make([]float64, d.Classes), make([]float64, d.Classes)
	worst := 0.0
	for i := 0; i < d.Rows; i++ {
		x := d.X[i*d.Features : (i+1)*d.Features]
		ca.PredictProba(x, pa)
		cb.PredictProba(x, pb)
		for k := range pa {
			worst = max(worst, math.Abs(pa[k]-pb[k]))
		}
	}
	return worst
}

func TestFitIsIndependentOfWorkers(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		rows, features, classes int
	}{
		{"exact Hessian", 3*chunkRows + 17, 6, 3},
		{"sampled Hessian", 10*chunkRows + 17, 20, 3},
		{"sampled Hessian binomial", 10*chunkRows + 17, 40, 2},
		{"L-BFGS", 3*chunkRows + 17, 30, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := synthetic(tc.rows, tc.features, tc.classes, 0, 5)
			m1, i1, err := Fit(context.Background(), d, Options{Standardize: true, Workers: 1})
			if err != nil {
				t.Fatal(err)
			}
			m4, i4, err := Fit(context.Background(), d, Options{Standardize: true, Workers: 4})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d and %d iterations", i1.Iterations, i4.Iterations)
			for i := range m1.Coef {
				if m1.Coef[i] != m4.Coef[i] {
					t.Fatalf("coef[%d]: %v with 1 worker, %v with 4", i, m1.Coef[i], m4.Coef[i])
				}
			}
		})
	}
}

func TestFitReportsProgressAndStopsOnCancel(t *testing.T) {
	d := synthetic(2000, 8, 3, 0, 9)
	var seen []Progress
	_, info, err := Fit(context.Background(), d, Options{OnProgress: func(p Progress) { seen = append(seen, p) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != info.Iterations {
		t.Errorf("%d progress reports for %d iterations", len(seen), info.Iterations)
	}
	for i, p := range seen {
		if p.Iteration != i+1 {
			t.Errorf("report %d has iteration %d", i, p.Iteration)
		}
		if i > 0 && p.Loss > seen[i-1].Loss {
			t.Errorf("loss rose at iteration %d: %v -> %v", p.Iteration, seen[i-1].Loss, p.Loss)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	_, _, err = Fit(ctx, d, Options{OnProgress: func(p Progress) {
		if p.Iteration == 3 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled fit returned %v, want context.Canceled", err)
	}
}

func TestFitMaxIterStopsUnconverged(t *testing.T) {
	d := synthetic(500, 8, 3, 0, 9)
	var seen []int
	_, info, err := Fit(context.Background(), d, Options{MaxIter: 2, OnProgress: func(p Progress) { seen = append(seen, p.Iteration) }})
	if err != nil {
		t.Fatal(err)
	}
	if info.Converged || info.Iterations != 2 {
		t.Errorf("got %+v, want 2 iterations, not converged", info)
	}
	if !slices.Equal(seen, []int{1, 2}) {
		t.Errorf("progress reported iterations %v, want [1 2]", seen)
	}
}

func TestFitOneFeature(t *testing.T) {
	d := Data{X: []float64{0, 1, 2, 3, 4, 5}, Y: []int32{0, 0, 1, 0, 1, 1}, Rows: 6, Features: 1, Classes: 2}
	m, _, err := Fit(context.Background(), d, Options{Standardize: true})
	if err != nil {
		t.Fatal(err)
	}
	if m.Features != 1 || len(m.Coef) != 1 || !(m.Coef[0] > 0) {
		t.Errorf("model %+v: want one positive weight", m)
	}
	if _, err := m.Compile(); err != nil {
		t.Errorf("a one-feature model does not compile: %v", err)
	}
}

func TestFitRejectsBadInput(t *testing.T) {
	good := synthetic(10, 2, 2, 0, 1)
	for _, tc := range []struct {
		name string
		d    Data
		opts Options
		// Bad data is ErrInvalidData; a bad option names itself.
		invalidData bool
		msg         string
	}{
		{"no rows", Data{Features: 2, Classes: 2}, Options{}, true, "no rows"},
		{"no features", Data{X: []float64{}, Y: []int32{0}, Rows: 1, Classes: 2}, Options{}, true, "no features"},
		{"one class", Data{X: []float64{1, 2}, Y: []int32{0}, Rows: 1, Features: 2, Classes: 1}, Options{}, true, "need at least two classes, got 1"},
		{"label out of range", Data{X: []float64{1, 2}, Y: []int32{5}, Rows: 1, Features: 2, Classes: 2}, Options{}, true, "row 0: class 5 out of range [0, 2)"},
		{"label one past the last class", Data{X: []float64{1, 2, 3, 4}, Y: []int32{1, 2}, Rows: 2, Features: 2, Classes: 2}, Options{}, true, "row 1: class 2 out of range [0, 2)"},
		{"negative label", Data{X: []float64{1, 2, 3, 4}, Y: []int32{0, -1}, Rows: 2, Features: 2, Classes: 2}, Options{}, true, "row 1: class -1 out of range"},
		{"short X", Data{X: []float64{1}, Y: []int32{0}, Rows: 1, Features: 2, Classes: 2}, Options{}, true, "X has 1 values, want 1×2"},
		{"short Y", Data{X: []float64{1, 2, 3, 4}, Y: []int32{0}, Rows: 2, Features: 2, Classes: 2}, Options{}, true, "Y has 1 labels, want 2"},
		{"NaN feature", Data{X: []float64{1, 2, 3, math.NaN()}, Y: []int32{0, 1}, Rows: 2, Features: 2, Classes: 2}, Options{}, true, "row 1, feature 1 is not finite"},
		{"infinite feature", Data{X: []float64{1, math.Inf(-1), 3, 4}, Y: []int32{0, 1}, Rows: 2, Features: 2, Classes: 2}, Options{}, true, "row 0, feature 1 is not finite"},
		{"negative C", good, Options{C: -1}, false, "c must be a positive finite number, got -1"},
		{"NaN C", good, Options{C: math.NaN()}, false, "c must be a positive finite number, got NaN"},
		{"infinite C", good, Options{C: math.Inf(1)}, false, "c must be a positive finite number, got +Inf"},
		{"negative tol", good, Options{Tol: -1}, false, "tol must be positive, got -1"},
		{"NaN tol", good, Options{Tol: math.NaN()}, false, "tol must be positive, got NaN"},
		{"negative max_iter", good, Options{MaxIter: -3}, false, "max_iter must be positive, got -3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Fit(context.Background(), tc.d, tc.opts)
			if err == nil {
				t.Fatal("Fit succeeded, want an error")
			}
			if errors.Is(err, ErrInvalidData) != tc.invalidData || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q (ErrInvalidData: %v), want %q (%v)", err, errors.Is(err, ErrInvalidData), tc.msg, tc.invalidData)
			}
		})
	}
}

func TestConstantFeatureKeepsUnitScale(t *testing.T) {
	d := synthetic(100, 3, 2, 1, 1)
	mean, scale := meanScale(d)
	if scale[2] != 1 || mean[2] != 3 {
		t.Errorf("constant column: mean %v scale %v, want 3 and 1", mean[2], scale[2])
	}
	// Columns: all zeros; 0.1, whose mean carries rounding error; and one
	// that varies by a hair, which is not constant.
	const rows = 100
	d = Data{X: make([]float64, 0, rows*3), Rows: rows, Features: 3}
	for i := range rows {
		d.X = append(d.X, 0, 0.1, 1+float64(i%2)*1e-9)
	}
	_, scale = meanScale(d)
	if scale[0] != 1 || scale[1] != 1 {
		t.Errorf("constant columns scaled by %v and %v, want 1", scale[0], scale[1])
	}
	if want := 0.5e-9; math.Abs(scale[2]-want) > 1e-12 {
		t.Errorf("a column varying by 1e-9 scaled by %v, want %v", scale[2], want)
	}
}

func TestPredictProbaDoesNotAllocate(t *testing.T) {
	d, c := compiledIris(t)
	out := make([]float64, 3)
	if n := testing.AllocsPerRun(100, func() { c.PredictProba(d.X[:4], out) }); n != 0 {
		t.Errorf("PredictProba allocates %v times per row", n)
	}
}

// compiledIris is iris and the model fitted on it, compiled.
func compiledIris(t *testing.T) (Data, *Compiled) {
	t.Helper()
	d := loadIris(t)
	m, _, err := Fit(context.Background(), d, Options{Standardize: true})
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.Compile()
	if err != nil {
		t.Fatal(err)
	}
	return d, c
}

// Predict picks the class PredictProba returns, on every row.
func TestPredictIsPredictProbasClass(t *testing.T) {
	d, c := compiledIris(t)
	out, seen := make([]float64, 3), make([]bool, 3)
	for i := range d.Rows {
		x := d.X[i*4 : i*4+4]
		k := c.PredictProba(x, out)
		if got := c.Predict(x); got != k {
			t.Fatalf("row %d: Predict %d, PredictProba %d", i, got, k)
		}
		seen[k] = true
	}
	if !seen[0] || !seen[1] || !seen[2] {
		t.Errorf("classes predicted: %v", seen)
	}
	if n := testing.AllocsPerRun(100, func() { c.Predict(d.X[:4]) }); n != 0 {
		t.Errorf("Predict allocates %v times per row", n)
	}
}

func TestCompiledBinomialMatchesSigmoid(t *testing.T) {
	m := &Model{Features: 2, Classes: 2, Coef: []float64{1.5, -2}, Intercept: []float64{0.25},
		Mean: []float64{1, 2}, Scale: []float64{2, 4}}
	c, err := m.Compile()
	if err != nil {
		t.Fatal(err)
	}
	x := []float64{3, -1}
	z := 0.25 + 1.5*(3-1)/2.0 - 2*(-1-2)/4.0
	p := make([]float64, 2)
	c.PredictProba(x, p)
	if want := 1 / (1 + math.Exp(-z)); math.Abs(p[1]-want) > 1e-15 || math.Abs(p[0]+p[1]-1) > 1e-15 {
		t.Errorf("p = %v, want [%v %v]", p, 1-want, want)
	}
}

func TestModelValidate(t *testing.T) {
	ok := Model{Features: 2, Classes: 3, Coef: make([]float64, 6), Intercept: make([]float64, 3)}
	for _, tc := range []struct {
		name   string
		mutate func(*Model)
		msg    string
	}{
		{"no features", func(m *Model) { m.Features = 0 }, "model has 0 features"},
		{"short coef", func(m *Model) { m.Coef = m.Coef[:5] }, "coefficients: 5 values, want 3×2"},
		{"short intercept", func(m *Model) { m.Intercept = m.Intercept[:2] }, "intercepts: 2 values, want 3"},
		{"NaN intercept", func(m *Model) { m.Intercept = []float64{0, math.NaN(), 0} }, "intercepts[1] is not finite"},
		{"infinite coef", func(m *Model) { m.Coef[5] = math.Inf(1) }, "coefficients[5] is not finite"},
		{"infinite mean", func(m *Model) { m.Mean, m.Scale = []float64{0, math.Inf(-1)}, []float64{1, 1} }, "scaler mean[1] is not finite"},
		{"mean without scale", func(m *Model) { m.Mean = []float64{0, 0} }, "scaler: mean and scale must come together"},
		{"short scaler", func(m *Model) { m.Mean, m.Scale = []float64{0}, []float64{1} }, "scaler: 1 means and 1 scales, want 2 each"},
		{"short scale", func(m *Model) { m.Mean, m.Scale = []float64{0, 0}, []float64{1} }, "scaler: 2 means and 1 scales, want 2 each"},
		{"zero scale", func(m *Model) { m.Mean, m.Scale = []float64{0, 0}, []float64{1, 0} }, "scaler scale[1] = 0, must be positive"},
		{"negative scale", func(m *Model) { m.Mean, m.Scale = []float64{0, 0}, []float64{-1, 1} }, "scaler scale[0] = -1, must be positive"},
		{"one class", func(m *Model) { m.Classes = 1 }, "model has 1 classes, need at least 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := ok
			m.Coef = append([]float64(nil), ok.Coef...)
			tc.mutate(&m)
			if err := m.Validate(); err == nil || err.Error() != tc.msg {
				t.Errorf("Validate: %v, want %q", err, tc.msg)
			}
		})
	}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid model rejected: %v", err)
	}
	scaled := ok
	scaled.Mean, scaled.Scale = []float64{1, 2}, []float64{0.5, 3}
	if err := scaled.Validate(); err != nil {
		t.Errorf("valid scaled model rejected: %v", err)
	}
}

func TestCompileRefusesAnOverflowingFold(t *testing.T) {
	for name, m := range map[string]*Model{
		"weight":    {Features: 1, Classes: 2, Coef: []float64{1e10}, Intercept: []float64{0}, Mean: []float64{0}, Scale: []float64{1e-300}},
		"intercept": {Features: 1, Classes: 2, Coef: []float64{1e300}, Intercept: []float64{0}, Mean: []float64{1e300}, Scale: []float64{1}},
	} {
		if _, err := m.Compile(); err == nil || err.Error() != "folding the scaler overflows" {
			t.Errorf("%s: Compile %v, want the overflow refused", name, err)
		}
	}
}

// Logits far beyond exp's range still give probabilities: the softmax
// subtracts the largest logit first.
func TestPredictProbaWithHugeLogits(t *testing.T) {
	m := &Model{Features: 1, Classes: 3, Coef: []float64{0, 0, 0}, Intercept: []float64{1000, 999, -1000}}
	c, err := m.Compile()
	if err != nil {
		t.Fatal(err)
	}
	p := make([]float64, 3)
	k := c.PredictProba([]float64{0}, p)
	want := []float64{1 / (1 + math.Exp(-1)), 1 / (1 + math.Exp(1)), 0}
	for i := range p {
		if !(math.Abs(p[i]-want[i]) <= 1e-15) { // NaN fails too
			t.Fatalf("p = %v, want %v", p, want)
		}
	}
	if k != 0 {
		t.Errorf("class %d, want 0", k)
	}
}

// The intercepts are not penalized, so at the optimum their gradient is
// zero: the mean predicted probability of each class equals its share of
// the rows. Imbalanced classes keep the intercepts far from zero.
func TestInterceptsAreNotPenalized(t *testing.T) {
	for _, classes := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d classes", classes), func(t *testing.T) {
			d := synthetic(600, 3, classes, 0, 5)
			for i := range d.Y {
				if i%4 != 0 {
					d.Y[i] = 0 // three rows in four
				}
			}
			m, _, err := Fit(context.Background(), d, Options{C: 0.01, Standardize: true})
			if err != nil {
				t.Fatal(err)
			}
			c, err := m.Compile()
			if err != nil {
				t.Fatal(err)
			}
			meanP, share := make([]float64, classes), make([]float64, classes)
			p := make([]float64, classes)
			for i := range d.Rows {
				c.PredictProba(d.X[i*d.Features:(i+1)*d.Features], p)
				for k := range p {
					meanP[k] += p[k] / float64(d.Rows)
				}
				share[d.Y[i]] += 1 / float64(d.Rows)
			}
			for k := range meanP {
				if math.Abs(meanP[k]-share[k]) > 1e-6 {
					t.Errorf("class %d: mean probability %.9f, share of rows %.9f", k, meanP[k], share[k])
				}
			}
		})
	}
}

// TestObjectiveMatchesADirectSum checks the chunked, parallel objective
// against the formula summed row by row, on more rows than one chunk.
func TestObjectiveMatchesADirectSum(t *testing.T) {
	for _, classes := range []int{2, 4} {
		t.Run(fmt.Sprintf("%d classes", classes), func(t *testing.T) {
			d := synthetic(2*chunkRows+123, 5, classes, 1, 2)
			mean, scale := meanScale(d)
			const c = 0.7
			r := rand.New(rand.NewPCG(5, 6))
			o := newObjective(d, mean, scale, c, 3)
			theta := make([]float64, o.dim())
			for i := range theta {
				theta[i] = 0.3 * r.NormFloat64()
			}
			wantF, wantG := directObjective(d, mean, scale, c, theta)
			grad := make([]float64, len(theta))
			o.Grad(grad, theta)
			if f := o.Func(theta); math.Abs(f-wantF) > 1e-12*wantF {
				t.Errorf("objective %.15g, summed directly %.15g", f, wantF)
			}
			for i := range grad {
				if math.Abs(grad[i]-wantG[i]) > 1e-12 {
					t.Errorf("gradient[%d] %.15g, summed directly %.15g", i, grad[i], wantG[i])
				}
			}
		})
	}
}

// directObjective is the mean-form objective and gradient, one row at a
// time: softmax cross-entropy over K weight rows, or for two classes the
// logistic loss of one, plus ||W||^2 / (2 C n).
func directObjective(d Data, mean, scale []float64, c float64, theta []float64) (float64, []float64) {
	f, n := d.Features, float64(d.Rows)
	kw := d.Classes
	if kw == 2 {
		kw = 1
	}
	w, b := theta[:kw*f], theta[kw*f:]
	grad := make([]float64, len(theta))
	x := make([]float64, f)
	loss := 0.0
	for i := range d.Rows {
		for j := range f {
			x[j] = (d.X[i*f+j] - mean[j]) / scale[j]
		}
		z := make([]float64, kw)
		for k := range kw {
			z[k] = b[k]
			for j := range f {
				z[k] += w[k*f+j] * x[j]
			}
		}
		// r[k] is the derivative of the row's loss by z[k].
		r := make([]float64, kw)
		if kw == 1 {
			y := float64(d.Y[i])
			loss += math.Log1p(math.Exp(z[0])) - y*z[0]
			r[0] = 1/(1+math.Exp(-z[0])) - y
		} else {
			sum := 0.0
			for k := range kw {
				sum += math.Exp(z[k])
			}
			loss += math.Log(sum) - z[d.Y[i]]
			for k := range kw {
				r[k] = math.Exp(z[k]) / sum
			}
			r[d.Y[i]]--
		}
		for k := range kw {
			for j := range f {
				grad[k*f+j] += r[k] * x[j] / n
			}
			grad[kw*f+k] += r[k] / n
		}
	}
	penalty := 0.0
	for i, v := range w {
		penalty += v * v
		grad[i] += v / (c * n)
	}
	return loss/n + penalty/(2*c*n), grad
}

// Among equally probable classes the first wins, as numpy's argmax picks.
func TestPredictProbaTieGoesToTheFirstClass(t *testing.T) {
	m := &Model{Features: 1, Classes: 3, Coef: []float64{0, 1, 1}, Intercept: []float64{0, 0, 0}}
	c, err := m.Compile()
	if err != nil {
		t.Fatal(err)
	}
	p := make([]float64, 3)
	for x, want := range map[float64]int{0: 0, 1: 1, -1: 0} {
		if k := c.PredictProba([]float64{x}, p); k != want {
			t.Errorf("x = %v: class %d (p = %v), want %d", x, k, p, want)
		}
	}
}

func TestNonFiniteObjectiveIsInvalidData(t *testing.T) {
	// Finite values whose gradient sums overflow.
	d := Data{X: []float64{-1e308, 1e308, -1e308, 1e308}, Y: []int32{0, 1, 0, 1}, Rows: 4, Features: 1, Classes: 2}
	for _, standardize := range []bool{false, true} {
		_, _, err := Fit(context.Background(), d, Options{Standardize: standardize})
		if !errors.Is(err, ErrInvalidData) {
			t.Errorf("standardize=%v: %v, want ErrInvalidData", standardize, err)
		}
	}
}
