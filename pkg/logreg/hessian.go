package logreg

import (
	"math"
	"sync"
	"sync/atomic"
)

// hessBlocks is the number of partial sums of the Hessian: fixed, not tied
// to the number of cores, so the sum is the same on any machine.
const hessBlocks = 8

// hessian computes the mean-form Hessian of the objective, from every row
// or from the rows the last pass kept (objective.sampleRows). Its cost per
// row is the outer product of the row with itself for every pair of
// classes.
type hessian struct {
	o        *objective
	sampled  bool
	sel      []pick // sampled rows of the last pass, in row order
	pack     int    // (width+1)(width+2)/2: packed upper triangle of x̃x̃ᵀ
	pairs    int    // kw(kw+1)/2
	partials [][]float64
	h        []float64 // dim × dim, row-major
}

// hessianCost is the multiply-adds the Hessian costs per row, and
// gradientCost those of the loss and gradient per row.
func hessianCost(features, kw int) int {
	return (features + 1) * (features + 2) / 2 * kw * (kw + 1) / 2
}
func gradientCost(features, kw int) int { return 2 * kw * features }

// newHessian uses every row when rows is o.rows, and makes o's passes keep
// about rows of them otherwise.
func newHessian(o *objective, rows int) *hessian {
	kw := o.weightRows()
	h := &hessian{
		o:       o,
		sampled: rows < o.rows,
		pack:    (o.width + 1) * (o.width + 2) / 2,
		pairs:   kw * (kw + 1) / 2,
	}
	if h.sampled {
		o.sampleRows(rows)
	}
	h.partials = make([][]float64, hessBlocks)
	for i := range h.partials {
		h.partials[i] = make([]float64, h.pairs*h.pack)
	}
	h.h = make([]float64, o.dim()*o.dim())
	return h
}

// at returns the Hessian at theta, which must be the point of o's last pass.
func (h *hessian) at(theta []float64) []float64 {
	o := h.o
	n := o.rows
	if h.sampled {
		h.sel = h.sel[:0]
		for _, p := range o.picks {
			h.sel = append(h.sel, p...)
		}
		n = len(h.sel)
	}
	blocks := len(h.partials)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < min(o.workers, blocks); w++ {
		wg.Go(func() {
			f := o.width
			scratch := make([]float64, f+1+2*o.classes+h.pack)
			for {
				b := int(next.Add(1) - 1)
				if b >= blocks {
					return
				}
				h.block(theta, b*n/blocks, (b+1)*n/blocks, h.partials[b],
					scratch[:f+1], scratch[f+1:f+1+o.classes], scratch[f+1+o.classes:f+1+2*o.classes], scratch[f+1+2*o.classes:])
			}
		})
	}
	wg.Wait()

	sum := h.partials[0]
	for _, p := range h.partials[1:] {
		for i, v := range p {
			sum[i] += v
		}
	}
	f := o.width
	kw := o.weightRows()
	dim := o.dim()
	idx := h.index
	inv := 1 / o.wsum
	pair := 0
	for k := 0; k < kw; k++ {
		for l := k; l < kw; l++ {
			m := sum[pair*h.pack : (pair+1)*h.pack]
			t := 0
			for a := 0; a <= f; a++ {
				for b := a; b <= f; b++ {
					v := m[t] * inv
					t++
					ka, kb, la, lb := idx(k, a), idx(k, b), idx(l, a), idx(l, b)
					h.h[ka*dim+lb], h.h[lb*dim+ka] = v, v
					h.h[kb*dim+la], h.h[la*dim+kb] = v, v
				}
			}
			pair++
		}
	}
	for i := 0; i < dim; i++ {
		if o.penalized(i) {
			h.h[i*dim+i] += o.l2
		}
	}
	return h.h
}

// index is the parameter of weight row k for column a of the row as
// block extends it: [dense features, levels, 1].
func (h *hessian) index(k, a int) int {
	o := h.o
	switch {
	case a < o.features:
		return o.index(k, a)
	case a < o.width:
		return o.index(k, a+1)
	}
	return o.index(k, o.features)
}

// block sums into out the Hessian terms of rows [lo, hi), or of sampled
// rows sel[lo:hi] each times its weight: for every class pair k <= l,
// A_kl·x̃x̃ᵀ packed, where x̃ is the extended row [standardized features,
// one-hot levels, 1] and A = diag(p) - ppᵀ (p(1-p) for a binomial model),
// times the row's weight.
func (h *hessian) block(theta []float64, lo, hi int, out, xt, z, p, xx []float64) {
	o := h.o
	if o.levels > 0 {
		h.blockSparse(theta, lo, hi, out, z, p)
		return
	}
	clear(out)
	f := o.features
	kw := o.weightRows()
	nc := len(o.offsets)
	// The coefficients in the order of the extended row (index).
	wx := make([]float64, kw*o.width)
	for k := 0; k < kw; k++ {
		for a := 0; a < o.width; a++ {
			wx[k*o.width+a] = theta[h.index(k, a)]
		}
	}
	bias := theta[kw*f : kw*(f+1)]
	coef := make([]float64, h.pairs)
	for t := lo; t < hi; t++ {
		i, weight := t, 1.0
		if o.subset != nil {
			i = o.subset[t]
		}
		if h.sampled {
			i, weight = h.sel[t].row, h.sel[t].weight
		}
		if o.weight != nil {
			weight *= o.weight[i]
		}
		row := o.x[i*f : i*f+f]
		if o.mean != nil {
			for j, v := range row {
				xt[j] = (v - o.mean[j]) * o.invScale[j]
			}
		} else {
			copy(xt, row)
		}
		if nc > 0 {
			clear(xt[f:o.width])
			for j, code := range o.codes[i*nc : i*nc+nc] {
				xt[f+int(o.offsets[j]+code)] = 1
			}
		}
		xt[o.width] = 1
		n := 0
		for a, va := range xt {
			for _, vb := range xt[a:] {
				xx[n] = va * vb
				n++
			}
		}
		if o.binary {
			zi := bias[0] + dot(wx, xt[:o.width])
			z[0] = -math.Abs(zi)
			e := expShifted(z[:1], 0)
			q := e / ((1 + e) * (1 + e)) // p(1-p), the same for z and -z
			axpy(weight*q, xx, out[:h.pack])
			continue
		}
		logits(wx, bias, xt[:o.width], z)
		curvature(z, p, coef, weight)
		for pair, c := range coef {
			axpy(c, xx, out[pair*h.pack:(pair+1)*h.pack])
		}
	}
}

// curvature sets coef to weight·A_kl for the class pairs k <= l, A =
// diag(p) - ppᵀ, p = softmax(z); p is scratch of len(z).
func curvature(z, p, coef []float64, weight float64) {
	zmax := z[0]
	for _, v := range z {
		zmax = max(zmax, v)
	}
	copy(p, z)
	inv := 1 / expShifted(p, zmax)
	for k := range p {
		p[k] *= inv
	}
	pair := 0
	for k := range p {
		for l := k; l < len(p); l++ {
			a := -p[k] * p[l]
			if k == l {
				a += p[k]
			}
			coef[pair] = weight * a
			pair++
		}
	}
}

// blockSparse is block for rows with categorical inputs. The extended row
// [standardized features, one-hot levels, 1] has features + inputs + 1
// nonzeros, so only their pairs are summed: per row the square of those
// instead of the square of the width.
func (h *hessian) blockSparse(theta []float64, lo, hi int, out, z, p []float64) {
	o := h.o
	clear(out)
	f, kw, nc := o.features, o.weightRows(), len(o.offsets)
	n := o.width + 1 // side of the packed matrix
	rowStart := make([]int, n)
	for a := range rowStart {
		rowStart[a] = a*n - a*(a-1)/2
	}
	pos := make([]int, f+nc+1) // the nonzeros' columns, ascending
	val := make([]float64, f+nc+1)
	coef := make([]float64, h.pairs)
	for j := range f {
		pos[j] = j
	}
	pos[f+nc] = o.width
	val[f+nc] = 1
	w := theta[:kw*f]
	bias := theta[kw*f : kw*(f+1)]
	cw := theta[kw*(f+1):] // level-major
	for t := lo; t < hi; t++ {
		i, weight := t, 1.0
		if o.subset != nil {
			i = o.subset[t]
		}
		if h.sampled {
			i, weight = h.sel[t].row, h.sel[t].weight
		}
		if o.weight != nil {
			weight *= o.weight[i]
		}
		xt := val[:f]
		for j, v := range o.x[i*f : i*f+f] {
			if o.mean != nil {
				v = (v - o.mean[j]) * o.invScale[j]
			}
			xt[j] = v
		}
		for j, code := range o.codes[i*nc : i*nc+nc] {
			pos[f+j] = f + int(o.offsets[j]+code)
			val[f+j] = 1
		}
		logits(w, bias, xt, z[:kw])
		for j := range nc {
			l := (pos[f+j] - f) * kw
			for k := range kw {
				z[k] += cw[l+k]
			}
		}
		if o.binary {
			z[0] = -math.Abs(z[0])
			e := expShifted(z[:1], 0)
			coef[0] = weight * e / ((1 + e) * (1 + e))
		} else {
			curvature(z, p, coef, weight)
		}
		for ia, a := range pos {
			va, start := val[ia], rowStart[a]-a
			for ib := ia; ib < len(pos); ib++ {
				v := va * val[ib]
				at := start + pos[ib]
				for pair, c := range coef {
					out[pair*h.pack+at] += c * v
				}
			}
		}
	}
}
