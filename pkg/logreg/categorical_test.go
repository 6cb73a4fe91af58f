package logreg

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

// withCodes adds categorical columns to d: codes drawn with a class
// effect, so the levels matter, and a weight per row when weighted.
func withCodes(d Data, levels []int, weighted bool, seed uint64) Data {
	r := rand.New(rand.NewPCG(seed, 11))
	d.Levels = levels
	d.Codes = make([]int32, d.Rows*len(levels))
	for i := 0; i < d.Rows; i++ {
		for j, l := range levels {
			c := r.IntN(l)
			if r.Float64() < 0.4 {
				c = int(d.Y[i]) % l
			}
			d.Codes[i*len(levels)+j] = int32(c)
		}
	}
	if weighted {
		d.Weight = make([]float64, d.Rows)
		for i := range d.Weight {
			d.Weight[i] = 0.25 + 2*r.Float64()
		}
	}
	return d
}

// oneHot materializes d's codes as dense unscaled columns after d's
// features: the reference the gathering kernels must agree with.
func oneHot(d Data) Data {
	w := d.Width()
	out := Data{X: make([]float64, d.Rows*w), Y: d.Y, Rows: d.Rows, Features: w, Classes: d.Classes, Weight: d.Weight}
	out.Unscaled = make([]bool, w)
	for j := d.Features; j < w; j++ {
		out.Unscaled[j] = true
	}
	copy(out.Unscaled, d.Unscaled)
	nc := len(d.Levels)
	for i := 0; i < d.Rows; i++ {
		copy(out.X[i*w:], d.X[i*d.Features:(i+1)*d.Features])
		off := d.Features
		for j, l := range d.Levels {
			out.X[i*w+off+int(d.Codes[i*nc+j])] = 1
			off += l
		}
	}
	return out
}

// TestCodesFitAsOneHot fits with categorical codes and with the same
// levels materialized as one-hot columns: the models agree, on the Newton
// path and on L-BFGS's, binomial and multinomial, with and without row
// weights.
func TestCodesFitAsOneHot(t *testing.T) {
	for _, tc := range []struct {
		name     string
		classes  int
		features int
		levels   []int
		weighted bool
	}{
		{"binomial newton", 2, 3, []int{3, 4}, false},
		{"multinomial newton weighted", 3, 2, []int{2, 5}, true},
		{"binomial lbfgs weighted", 2, 4, []int{150, 120}, true},
		{"multinomial lbfgs", 4, 3, []int{40, 30}, false},
		{"categorical only", 3, 0, []int{4, 3}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := withCodes(synthetic(3000, tc.features, tc.classes, 0, 5), tc.levels, tc.weighted, 9)
			if tc.features > 0 {
				d.Unscaled = make([]bool, tc.features)
				d.Unscaled[0] = true // an indicator-like column kept as is
			}
			opts := Options{Standardize: true, C: 0.5}
			m, info, err := Fit(context.Background(), d, opts)
			if err != nil {
				t.Fatal(err)
			}
			ref, refInfo, err := Fit(context.Background(), oneHot(d), opts)
			if err != nil {
				t.Fatal(err)
			}
			if !info.Converged || !refInfo.Converged {
				t.Fatalf("converged %v and %v (%s, %s)", info.Converged, refInfo.Converged, info.Status, refInfo.Status)
			}
			if rel := math.Abs(info.Objective-refInfo.Objective) / refInfo.Objective; rel > 1e-9 {
				t.Errorf("objective %v, one-hot %v", info.Objective, refInfo.Objective)
			}
			if len(m.Coef) != len(ref.Coef) {
				t.Fatalf("%d coefficients, one-hot %d", len(m.Coef), len(ref.Coef))
			}
			for i := range m.Coef {
				if math.Abs(m.Coef[i]-ref.Coef[i]) > 1e-5 {
					t.Fatalf("coef[%d] = %v, one-hot %v", i, m.Coef[i], ref.Coef[i])
				}
			}
			for j, u := range ref.Mean[:d.Features] {
				if u != m.Mean[j] || ref.Scale[j] != m.Scale[j] {
					t.Fatalf("scaler %d: %v/%v, one-hot %v/%v", j, m.Mean[j], m.Scale[j], u, ref.Scale[j])
				}
			}
			if d.Features > 0 && (m.Mean[0] != 0 || m.Scale[0] != 1) {
				t.Errorf("unscaled column has mean %v scale %v, want 0 and 1", m.Mean[0], m.Scale[0])
			}
			c, err := m.Compile()
			if err != nil {
				t.Fatal(err)
			}
			rc, err := ref.Compile()
			if err != nil {
				t.Fatal(err)
			}
			oh := oneHot(d)
			p, q := make([]float64, d.Classes), make([]float64, d.Classes)
			nc := len(d.Levels)
			for i := 0; i < 50; i++ {
				c.PredictProbaCodes(d.X[i*d.Features:(i+1)*d.Features], d.Codes[i*nc:(i+1)*nc], p)
				rc.PredictProba(oh.X[i*oh.Features:(i+1)*oh.Features], q)
				for k := range p {
					if math.Abs(p[k]-q[k]) > 1e-6 {
						t.Fatalf("row %d: p %v, one-hot %v", i, p, q)
					}
				}
			}
		})
	}
}

// TestWeightsAreRepeatedRows: a row of integer weight w counts as w copies
// of itself, as scikit-learn's sample_weight does.
func TestWeightsAreRepeatedRows(t *testing.T) {
	for _, classes := range []int{2, 3} {
		d := withCodes(synthetic(500, 3, classes, 0, 3), []int{3}, false, 4)
		d.Weight = make([]float64, d.Rows)
		rep := Data{Features: d.Features, Classes: classes, Levels: d.Levels}
		for i := 0; i < d.Rows; i++ {
			d.Weight[i] = float64(i % 3) // 0, 1 and 2 copies
			for range i % 3 {
				rep.X = append(rep.X, d.X[i*3:i*3+3]...)
				rep.Y = append(rep.Y, d.Y[i])
				rep.Codes = append(rep.Codes, d.Codes[i])
				rep.Rows++
			}
		}
		// Standardization would see different rows; compare raw fits.
		m, info, err := Fit(context.Background(), d, Options{})
		if err != nil {
			t.Fatal(err)
		}
		r, rinfo, err := Fit(context.Background(), rep, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(info.Objective-rinfo.Objective) > 1e-8*rinfo.Objective {
			t.Errorf("%d classes: objective %v, repeated rows %v", classes, info.Objective, rinfo.Objective)
		}
		for i := range m.Coef {
			if math.Abs(m.Coef[i]-r.Coef[i]) > 1e-5 {
				t.Fatalf("%d classes: coef[%d] = %v, repeated rows %v", classes, i, m.Coef[i], r.Coef[i])
			}
		}
	}
}

func TestInvalidCodesAndWeights(t *testing.T) {
	base := withCodes(synthetic(20, 2, 2, 0, 1), []int{3}, false, 1)
	for _, tc := range []struct {
		name   string
		mutate func(d *Data)
	}{
		{"code out of range", func(d *Data) { d.Codes[5] = 3 }},
		{"negative code", func(d *Data) { d.Codes[5] = -1 }},
		{"codes too short", func(d *Data) { d.Codes = d.Codes[:10] }},
		{"zero levels", func(d *Data) { d.Levels = []int{0} }},
		{"negative weight", func(d *Data) { d.Weight = make([]float64, 20); d.Weight[3] = -1 }},
		{"NaN weight", func(d *Data) { d.Weight = make([]float64, 20); d.Weight[3] = math.NaN() }},
		{"zero weights", func(d *Data) { d.Weight = make([]float64, 20) }},
		{"unscaled length", func(d *Data) { d.Unscaled = []bool{true} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := base
			d.Codes = append([]int32(nil), base.Codes...)
			tc.mutate(&d)
			if _, _, err := Fit(context.Background(), d, Options{}); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

// TestHessianWithCodesMatchesOneHot: the Hessian summed over the rows'
// nonzeros (blockSparse) equals the dense one of the materialized one-hot
// columns, entry by entry, binomial and multinomial, weighted.
func TestHessianWithCodesMatchesOneHot(t *testing.T) {
	for _, classes := range []int{2, 3} {
		d := withCodes(synthetic(700, 3, classes, 0, 8), []int{3, 4}, true, 2)
		oh := oneHot(d)
		mean, scale := meanScale(oh)
		o := newObjective(d, mean[:d.Features], scale[:d.Features], 0.7, 2)
		ref := newObjective(oh, mean, scale, 0.7, 2)
		theta := make([]float64, o.dim())
		for i := range theta {
			theta[i] = 0.05 * float64(i%5-2)
		}
		// The same point in the one-hot layout: ref.index(k, a) for the
		// extended row [width columns, 1] is o's (k, a) with the
		// intercept moved after the dense features.
		refIndex := func(k, a int) int {
			switch {
			case a < d.Features:
				return o.index(k, a)
			case a < o.width:
				return o.index(k, a+1)
			}
			return o.index(k, d.Features)
		}
		rt := make([]float64, ref.dim())
		kw := o.weightRows()
		for k := 0; k < kw; k++ {
			for a := 0; a <= o.width; a++ {
				rt[ref.index(k, a)] = theta[refIndex(k, a)]
			}
		}
		o.eval(theta)
		ref.eval(rt)
		if math.Abs(o.lastF-ref.lastF) > 1e-12 {
			t.Fatalf("%d classes: loss %v, one-hot %v", classes, o.lastF, ref.lastF)
		}
		h := newHessian(o, o.rows).at(theta)
		rh := newHessian(ref, ref.rows).at(rt)
		dim := o.dim()
		for k := 0; k < kw; k++ {
			for a := 0; a <= o.width; a++ {
				for l := 0; l < kw; l++ {
					for b := 0; b <= o.width; b++ {
						got := h[refIndex(k, a)*dim+refIndex(l, b)]
						want := rh[ref.index(k, a)*dim+ref.index(l, b)]
						if math.Abs(got-want) > 1e-12 {
							t.Fatalf("%d classes: H[(%d,%d),(%d,%d)] = %v, one-hot %v", classes, k, a, l, b, got, want)
						}
					}
				}
			}
		}
	}
}

func TestPackedMatchesCodes(t *testing.T) {
	m := &Model{Features: 2, Classes: 3, Levels: []int{2, 3},
		Coef:      []float64{1, 2, 0.1, 0.2, 0.3, 0.4, 0.5, -1, 0, 1, 1, -1, 2, 2, 0, 0.5, 1, 1.5, 2, 2.5, 3},
		Intercept: []float64{0.1, 0.2, 0.3}}
	c, err := m.Compile()
	if err != nil {
		t.Fatal(err)
	}
	p := Packed{c}
	if p.Features() != 4 {
		t.Fatalf("packed width %d, want 4", p.Features())
	}
	for _, codes := range [][]int32{{0, 0}, {1, 2}, {-1, 1}, {1, -1}} {
		x := []float64{0.5, -1.5}
		want, got := make([]float64, 3), make([]float64, 3)
		kw := c.PredictProbaCodes(x, codes, want)
		kg := p.PredictProba(append(x, float64(codes[0]), float64(codes[1])), got)
		if kw != kg {
			t.Errorf("codes %v: class %d, want %d", codes, kg, kw)
		}
		for k := range want {
			if got[k] != want[k] {
				t.Errorf("codes %v: p[%d] = %v, want %v", codes, k, got[k], want[k])
			}
		}
	}
}
