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
	// Levels are the one-hot levels of each categorical input (see
	// Data.Codes); nil for a model of dense features only.
	Levels []int
	// Coef is WeightRows() × Width(), row-major: one row for a binomial
	// model (the positive class, index 1), Classes rows otherwise. A row
	// holds the dense features' coefficients, then the levels'.
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

// Width is the coefficients per weight row: Features plus every level.
func (m *Model) Width() int {
	w := m.Features
	for _, l := range m.Levels {
		w += l
	}
	return w
}

// Validate checks that dimensions agree and every number is finite.
func (m *Model) Validate() error {
	for j, l := range m.Levels {
		if l < 1 {
			return fmt.Errorf("categorical input %d has %d levels", j, l)
		}
	}
	if m.Features < 0 || m.Width() < 1 {
		return fmt.Errorf("model has %d features", m.Features)
	}
	if m.Classes < 2 {
		return fmt.Errorf("model has %d classes, need at least 2", m.Classes)
	}
	kw := m.WeightRows()
	if len(m.Coef) != kw*m.Width() {
		return fmt.Errorf("coefficients: %d values, want %d×%d", len(m.Coef), kw, m.Width())
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
	k, f, width := m.Classes, m.Features, m.Width()
	c := &Compiled{classes: k, features: f, width: width, w: make([]float64, k*width), b: make([]float64, k)}
	if len(m.Levels) > 0 {
		c.offsets = make([]int32, len(m.Levels))
		off := f
		for j, l := range m.Levels {
			c.offsets[j] = int32(off)
			off += l
		}
	}
	// A binomial model is the softmax over logits (0, z): row 0 stays zero.
	first := 0
	if k == 2 {
		first = 1
	}
	for r := 0; r < m.WeightRows(); r++ {
		src := m.Coef[r*width : r*width+f]
		dst := c.w[(first+r)*width : (first+r)*width+f]
		copy(c.w[(first+r)*width+f:(first+r+1)*width], m.Coef[r*width+f:(r+1)*width])
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

// Compiled is the inference form of a model: the scaler folded into K ×
// width weights. It is immutable and safe for concurrent use.
type Compiled struct {
	classes  int
	features int
	width    int // features + levels: the stride of w
	offsets  []int32
	w        []float64
	b        []float64
}

// Categorical is the number of categorical inputs PredictProbaCodes reads.
func (c *Compiled) Categorical() int { return len(c.offsets) }

// Classes is the number of classes, the length PredictProba fills.
func (c *Compiled) Classes() int { return c.classes }

// Features is the number of features PredictProba reads.
func (c *Compiled) Features() int { return c.features }

// Predict returns the most probable class of one row, the one
// PredictProba returns, without computing the probabilities. A model with
// categorical inputs reads them as unseen.
func (c *Compiled) Predict(x []float64) int {
	f, s := c.features, c.width
	x = x[:f]
	best, zmax := 0, math.Inf(-1)
	for k := range c.classes {
		if z := c.b[k] + dot(c.w[k*s:k*s+f], x); z > zmax {
			best, zmax = k, z
		}
	}
	return best
}

// PredictProba writes the class probabilities of one row into out (len
// Classes) and returns the most probable class. It does not allocate. A
// model with categorical inputs reads them as unseen.
func (c *Compiled) PredictProba(x, out []float64) int {
	f, s := c.features, c.width
	x = x[:f]
	out = out[:c.classes]
	best, zmax := 0, math.Inf(-1)
	for k := range out {
		z := c.b[k] + dot(c.w[k*s:k*s+f], x)
		out[k] = z
		if z > zmax {
			best, zmax = k, z
		}
	}
	// softmax, written out: the call is not inlined and this is the hot
	// path of the all-numeric models.
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

// PredictProbaCodes is PredictProba for a model with categorical inputs:
// codes holds one code per input (Categorical of them), -1 for a category
// unseen in training, which contributes nothing. It does not allocate.
func (c *Compiled) PredictProbaCodes(x []float64, codes []int32, out []float64) int {
	f, s := c.features, c.width
	x = x[:f]
	codes = codes[:len(c.offsets)]
	out = out[:c.classes]
	best, zmax := 0, math.Inf(-1)
	for k := range out {
		w := c.w[k*s : k*s+s]
		z := c.b[k] + dot(w[:f], x)
		for j, code := range codes {
			if code >= 0 {
				z += w[c.offsets[j]+code]
			}
		}
		out[k] = z
		if z > zmax {
			best, zmax = k, z
		}
	}
	return softmax(out, best, zmax)
}

// softmax turns the logits in out, whose largest is out[best] = zmax, into
// probabilities and returns best.
func softmax(out []float64, best int, zmax float64) int {
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

// Packed is the model read from packed rows: each row holds the dense
// features, then one code per categorical input as a float64 (-1 for an
// unseen category). It is how rows of mixed inputs travel through code
// written for dense rows (evaluation, serving). Features is the packed
// width.
type Packed struct{ *Compiled }

// Features is the packed row width: dense features plus codes.
func (p Packed) Features() int { return p.features + len(p.offsets) }

// PredictProba is PredictProbaCodes for a packed row. It does not
// allocate.
func (p Packed) PredictProba(row, out []float64) int {
	c := p.Compiled
	f, s := c.features, c.width
	x := row[:f]
	codes := row[f : f+len(c.offsets)]
	out = out[:c.classes]
	best, zmax := 0, math.Inf(-1)
	for k := range out {
		w := c.w[k*s : k*s+s]
		z := c.b[k] + dot(w[:f], x)
		for j, code := range codes {
			if code >= 0 {
				z += w[int(c.offsets[j])+int(code)]
			}
		}
		out[k] = z
		if z > zmax {
			best, zmax = k, z
		}
	}
	return softmax(out, best, zmax)
}
