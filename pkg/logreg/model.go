package logreg

import (
	"fmt"
	"math"
)

// Model is a fitted model as scikit-learn stores it: coefficients and
// intercepts in the standardized space, plus the scaler that maps raw
// features into it.
type Model struct {
	Features int
	Classes  int
	// Coef is WeightRows() × Features, row-major: one row for a binomial
	// model (the positive class, index 1), Classes rows otherwise.
	Coef      []float64
	Intercept []float64
	// Mean and Scale are nil when the model was fitted without
	// standardization; otherwise x' = (x - Mean) / Scale.
	Mean  []float64
	Scale []float64
}

// WeightRows is 1 for a binomial model and Classes otherwise.
func (m *Model) WeightRows() int {
	if m.Classes == 2 {
		return 1
	}
	return m.Classes
}

// Validate checks that dimensions agree and every number is finite.
func (m *Model) Validate() error {
	if m.Features < 1 {
		return fmt.Errorf("model has %d features", m.Features)
	}
	if m.Classes < 2 {
		return fmt.Errorf("model has %d classes, need at least 2", m.Classes)
	}
	kw := m.WeightRows()
	if len(m.Coef) != kw*m.Features {
		return fmt.Errorf("coefficients: %d values, want %d×%d", len(m.Coef), kw, m.Features)
	}
	if len(m.Intercept) != kw {
		return fmt.Errorf("intercepts: %d values, want %d", len(m.Intercept), kw)
	}
	if (m.Mean == nil) != (m.Scale == nil) {
		return fmt.Errorf("scaler: mean and scale must come together")
	}
	if m.Mean != nil && (len(m.Mean) != m.Features || len(m.Scale) != m.Features) {
		return fmt.Errorf("scaler: %d means and %d scales, want %d each", len(m.Mean), len(m.Scale), m.Features)
	}
	for name, vs := range map[string][]float64{"coefficients": m.Coef, "intercepts": m.Intercept, "scaler mean": m.Mean, "scaler scale": m.Scale} {
		for i, v := range vs {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%s[%d] is not finite", name, i)
			}
		}
	}
	for j, s := range m.Scale {
		if !(s > 0) {
			return fmt.Errorf("scaler scale[%d] = %v, must be positive", j, s)
		}
	}
	return nil
}

// Compile folds the scaler into the weights and returns the inference form.
func (m *Model) Compile() (*Compiled, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	k, f := m.Classes, m.Features
	c := &Compiled{classes: k, features: f, w: make([]float64, k*f), b: make([]float64, k)}
	// A binomial model is the softmax over logits (0, z): row 0 stays zero.
	first := 0
	if k == 2 {
		first = 1
	}
	for r := 0; r < m.WeightRows(); r++ {
		src := m.Coef[r*f : r*f+f]
		dst := c.w[(first+r)*f : (first+r)*f+f]
		b := m.Intercept[r]
		for j, w := range src {
			if m.Scale != nil {
				w /= m.Scale[j]
				b -= w * m.Mean[j]
			}
			dst[j] = w
		}
		c.b[first+r] = b
	}
	for _, vs := range [][]float64{c.w, c.b} {
		for _, v := range vs {
			if math.IsInf(v, 0) || math.IsNaN(v) {
				return nil, fmt.Errorf("folding the scaler overflows")
			}
		}
	}
	return c, nil
}

// Compiled is the inference form of a model: the scaler folded into K × F
// weights. It is immutable and safe for concurrent use.
type Compiled struct {
	classes  int
	features int
	w        []float64
	b        []float64
}

// Classes is the number of classes, the length PredictProba fills.
func (c *Compiled) Classes() int { return c.classes }

// Features is the number of features PredictProba reads.
func (c *Compiled) Features() int { return c.features }

// Predict returns the most probable class of one row, the one
// PredictProba returns, without computing the probabilities.
func (c *Compiled) Predict(x []float64) int {
	f := c.features
	x = x[:f]
	best, zmax := 0, math.Inf(-1)
	for k := range c.classes {
		if z := c.b[k] + dot(c.w[k*f:k*f+f], x); z > zmax {
			best, zmax = k, z
		}
	}
	return best
}

// PredictProba writes the class probabilities of one row into out (len
// Classes) and returns the most probable class. It does not allocate.
func (c *Compiled) PredictProba(x, out []float64) int {
	f := c.features
	x = x[:f]
	out = out[:c.classes]
	best, zmax := 0, math.Inf(-1)
	for k := range out {
		z := c.b[k] + dot(c.w[k*f:k*f+f], x)
		out[k] = z
		if z > zmax {
			best, zmax = k, z
		}
	}
	sum := 0.0
	for k, z := range out {
		e := math.Exp(z - zmax)
		out[k] = e
		sum += e
	}
	inv := 1 / sum
	for k := range out {
		out[k] *= inv
	}
	return best
}
