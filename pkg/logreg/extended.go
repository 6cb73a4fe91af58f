package logreg

import "math"

// index is the parameter of weight row k for column a of the extended row
// [dense features, 1 (the intercept), one-hot levels].
func (o *objective) index(k, a int) int {
	f, kw := o.features, o.weightRows()
	switch {
	case a < f:
		return k*f + a
	case a == f:
		return kw*f + k
	}
	return kw*(f+1) + (a-f-1)*kw + k
}

// penalized reports whether parameter i is a coefficient, not an
// intercept.
func (o *objective) penalized(i int) bool {
	nw := o.weightRows() * o.features
	return i < nw || i >= nw+o.weightRows()
}

// unpack returns theta as the model's coefficients (kw × width rows: dense
// features, then levels) and intercepts.
func (o *objective) unpack(theta []float64) (coef, intercept []float64) {
	f, kw, w := o.features, o.weightRows(), o.width
	if o.levels == 0 {
		return append([]float64(nil), theta[:kw*f]...), append([]float64(nil), theta[kw*f:kw*(f+1)]...)
	}
	coef = make([]float64, kw*w)
	for k := 0; k < kw; k++ {
		copy(coef[k*w:k*w+f], theta[k*f:k*f+f])
		for l := 0; l < o.levels; l++ {
			coef[k*w+f+l] = theta[o.index(k, f+1+l)]
		}
	}
	return coef, append([]float64(nil), theta[kw*f:kw*(f+1)]...)
}

// pack is unpack's inverse: it lays the model's coefficients and
// intercepts out as theta.
func (o *objective) pack(coef, intercept, theta []float64) {
	f, kw, w := o.features, o.weightRows(), o.width
	for k := 0; k < kw; k++ {
		copy(theta[k*f:k*f+f], coef[k*w:k*w+f])
		for l := 0; l < o.levels; l++ {
			theta[o.index(k, f+1+l)] = coef[k*w+f+l]
		}
	}
	copy(theta[kw*f:kw*(f+1)], intercept)
}

// chunkExtended is chunk for data with categorical codes or row weights:
// the same sums, plus the levels' coefficients gathered into the logits
// and their gradients scattered back, and each row's loss and residual
// times its weight. It is kept apart so that the dense, unweighted pass
// stays as lean as it was.
func (o *objective) chunkExtended(c int, scratch []float64) {
	out := o.partials[c]
	clear(out)
	lo := c * chunkRows
	hi := min(lo+chunkRows, o.rows)
	f := o.features
	kw := o.weightRows()
	w := o.wb[:kw*f]
	b := o.wb[kw*f : kw*(f+1)]
	cw := o.wb[kw*(f+1):] // level-major: kw per level
	gw := out[1 : 1+kw*f]
	gb := out[1+kw*f : 1+kw*(f+1)]
	gc := out[1+kw*(f+1):]
	xs := scratch[:f]
	z := scratch[f : f+o.classes]
	r := scratch[f+o.classes : f+2*o.classes]
	nc := len(o.offsets)
	offsets, codes, weight := o.offsets, o.codes, o.weight
	base := make([]int, nc) // the row's levels: offsets into cw and gc
	// The loss is sum_i log(sum_k exp(z_ik - zmax_i)) + (zmax_i - z_iy).
	// Each row's sum lies in [1, K], so the sums are multiplied and the
	// product's log taken only when it grows large: one log per few
	// hundred rows instead of one per row. Weighted rows take one log
	// each.
	loss, prod := 0.0, 1.0
	sampling := o.pickScale > 0
	picks, curvature := o.picks[c][:0], 0.0
	for pos := lo; pos < hi; pos++ {
		i := pos
		if o.subset != nil {
			i = o.subset[pos]
		}
		row := o.x[i*f : i*f+f]
		if o.shift != nil {
			for j, v := range row {
				xs[j] = v - o.shift[j]
			}
			row = xs
		}
		if nc > 0 {
			for j, code := range codes[i*nc : i*nc+nc] {
				base[j] = int(offsets[j]+code) * kw
			}
		}
		yi := o.y[i]
		wi := 1.0
		if weight != nil {
			wi = weight[i]
		}
		if o.binary {
			zi := b[0] + dot(w, row)
			for _, l := range base {
				zi += cw[l]
			}
			// loss = log(1 + exp(t)) with t = -z for y = 1, z for y = 0;
			// |t| = |z|, so one exp serves the loss and the sigmoid.
			z[0] = -math.Abs(zi)
			e := expShifted(z[:1], 0)
			t := zi
			if yi == 1 {
				t = -zi
			}
			if weight == nil {
				loss += max(t, 0)
				prod *= 1 + e
				if prod > 1e200 {
					loss += math.Log(prod)
					prod = 1
				}
			} else {
				loss += wi * (max(t, 0) + math.Log1p(e))
			}
			p := 1 / (1 + e) // sigmoid(z) for z >= 0
			if zi < 0 {
				p = e * p
			}
			if sampling {
				w := wi * p * (1 - p)
				curvature += w
				if wt, ok := o.keep(pos, w); ok {
					picks = append(picks, pick{i, wt})
				}
			}
			ri := p
			if yi == 1 {
				ri--
			}
			ri *= wi
			axpy(ri, row, gw)
			gb[0] += ri
			for _, l := range base {
				gc[l] += ri
			}
			continue
		}
		logits(w, b, row, z)
		for _, l := range base {
			for k, v := range cw[l : l+kw] {
				z[k] += v
			}
		}
		zmax := z[0]
		for _, zk := range z[1:] {
			zmax = max(zmax, zk)
		}
		sum := 0.0
		if weight == nil {
			loss += zmax - z[yi]
			sum = expShifted(z, zmax)
			prod *= sum
			if prod > 1e200 {
				loss += math.Log(prod)
				prod = 1
			}
		} else {
			zy := z[yi]
			sum = expShifted(z, zmax)
			loss += wi * (zmax - zy + math.Log(sum))
		}
		inv := wi / sum
		sq := 0.0
		for k, e := range z {
			rk := e * inv
			r[k] = rk
			gb[k] += rk
			sq += rk * rk
		}
		if sampling {
			// The curvature share wi·(1 - Σp²), from r = wi·p.
			w := wi - sq/wi
			if wi == 0 {
				w = 0
			}
			curvature += w
			if wt, ok := o.keep(pos, w); ok {
				picks = append(picks, pick{i, wt})
			}
		}
		r[yi] -= wi
		gb[yi] -= wi
		addOuter(gw, r, row)
		for _, l := range base {
			g := gc[l : l+kw]
			for k, v := range r {
				g[k] += v
			}
		}
	}
	out[0] = loss + math.Log(prod)
	o.picks[c], o.curvature[c] = picks, curvature
}
