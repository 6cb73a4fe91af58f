package logreg

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// chunkRows is the number of rows one worker sums before handing back a partial
// result. Partials are reduced in chunk order, so a fit gives the same bits on
// any number of cores.
const chunkRows = 4096

// foldLimit bounds |mean|/scale of a column whose centering is folded into
// the intercept. Folding lets the kernels read raw rows, but the centred
// gradient is then a difference of sums that grow with |mean|/scale; beyond
// this the rows are centred one value at a time instead.
const foldLimit = 1e4

// objective evaluates the mean-form loss and its gradient over the training
// rows, in the standardized parameter space. It caches the last point so that
// a solver's separate Func and Grad calls at the same x cost one pass over
// the data.
//
// The parameters are laid out as kw × features dense coefficients, kw
// intercepts, then kw coefficients per categorical level (level-major, so
// that a row's code gathers kw adjacent values); unpack turns them into the
// model's kw × width rows.
//
// Standardization is folded into the parameters: a pass reads raw rows and
// uses w'[k][j] = w[k][j]/scale[j] and b'[k] = b[k] - Σ_j w'[k][j]·(mean[j] -
// shift[j]), where shift is the mean of columns too far from zero to fold
// (foldLimit) and 0 elsewhere.
type objective struct {
	x        []float64 // table rows × features, row-major
	y        []int32
	subset   []int // the rows read, in order; nil means every row
	rows     int   // rows read
	features int   // dense features
	classes  int
	binary   bool
	mean     []float64 // nil when not standardizing
	invScale []float64
	shift    []float64 // nil when every column folds
	l2       float64   // 1 / (C · wsum): penalty weight of the mean form
	workers  int

	// Categorical columns: codes is rows × len(offsets); the level of
	// code c in column j is offsets[j] + c, out of levels in all.
	codes   []int32
	offsets []int32
	levels  int
	width   int       // features + levels
	weight  []float64 // per-row weights; nil means 1
	wsum    float64   // Σ weight, or rows

	// Sampling rows for the Hessian (newton): a pass keeps row i with
	// probability π_i = min(1, pickScale·w_i), where w_i is the row's
	// share of the curvature (the trace of diag(p) - ppᵀ), and weight 1/π_i.
	// Rows that carry the curvature are kept, the many that carry little
	// are thinned, and the estimate stays unbiased. Zero pickScale keeps
	// none.
	pickScale float64
	target    int
	picks     [][]pick  // per chunk, in row order
	curvature []float64 // per chunk: Σ w_i

	wb       []float64   // folded weights, then intercepts
	partials [][]float64 // per chunk: [loss, Σ r·(x - shift)..., Σ r...]
	lastX    []float64
	lastF    float64
	lastG    []float64
	valid    bool
	evals    int
}

func newObjective(d Data, mean, scale []float64, c float64, workers int) *objective {
	o := &objective{
		x:        d.X,
		y:        d.Y,
		subset:   d.Index,
		rows:     d.used(),
		features: d.Features,
		classes:  d.Classes,
		binary:   d.Classes == 2,
		mean:     mean,
		workers:  workers,
		width:    d.Features,
		wsum:     float64(d.used()),
	}
	if len(d.Levels) > 0 {
		o.codes = d.Codes
		o.offsets = make([]int32, len(d.Levels))
		for j, l := range d.Levels {
			o.offsets[j] = int32(o.levels)
			o.levels += l
		}
		o.width += o.levels
	}
	if d.Weight != nil {
		o.weight = d.Weight
		o.wsum = 0
		for i := range o.rows {
			o.wsum += d.Weight[d.row(i)]
		}
	}
	o.l2 = 1 / (c * o.wsum)
	if mean != nil {
		o.invScale = make([]float64, len(scale))
		for j, s := range scale {
			o.invScale[j] = 1 / s
			if math.Abs(mean[j])*o.invScale[j] > foldLimit {
				if o.shift == nil {
					o.shift = make([]float64, len(scale))
				}
				o.shift[j] = mean[j]
			}
		}
	}
	if o.workers <= 0 {
		o.workers = runtime.GOMAXPROCS(0)
	}
	n := o.dim()
	chunks := (o.rows + chunkRows - 1) / chunkRows
	o.partials = make([][]float64, chunks)
	for i := range o.partials {
		o.partials[i] = make([]float64, 1+n)
	}
	o.picks = make([][]pick, chunks)
	o.curvature = make([]float64, chunks)
	o.wb = make([]float64, n)
	o.lastX = make([]float64, n)
	o.lastG = make([]float64, n)
	return o
}

// weightRows is the number of weight vectors: one for binomial, K otherwise.
func (o *objective) weightRows() int {
	if o.binary {
		return 1
	}
	return o.classes
}

// dim is the parameter count: weightRows × (width coefficients and an
// intercept).
func (o *objective) dim() int { return o.weightRows() * (o.width + 1) }

func (o *objective) Func(theta []float64) float64 {
	o.eval(theta)
	return o.lastF
}

func (o *objective) Grad(grad, theta []float64) {
	o.eval(theta)
	copy(grad, o.lastG)
}

func (o *objective) eval(theta []float64) {
	if o.valid && equal(theta, o.lastX) {
		return
	}
	o.compute(theta)
	copy(o.lastX, theta)
	o.valid = true
}

func equal(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// compute fills lastF and lastG at theta.
func (o *objective) compute(theta []float64) {
	o.evals++
	f := o.features
	kw := o.weightRows()
	nw := kw * f
	copy(o.wb, theta)
	if o.mean != nil {
		for k := 0; k < kw; k++ {
			w := o.wb[k*f : k*f+f]
			b := theta[nw+k]
			for j := range w {
				w[j] *= o.invScale[j]
				b -= w[j] * o.centre(j)
			}
			o.wb[nw+k] = b
		}
	}

	chunks := len(o.partials)
	chunk := o.chunk
	if o.codes != nil || o.weight != nil {
		chunk = o.chunkExtended
	}
	if o.workers == 1 || chunks == 1 {
		scratch := make([]float64, f+2*o.classes)
		for c := 0; c < chunks; c++ {
			chunk(c, scratch)
		}
	} else {
		var next atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < min(o.workers, chunks); w++ {
			wg.Go(func() {
				scratch := make([]float64, f+2*o.classes)
				for {
					c := int(next.Add(1) - 1)
					if c >= chunks {
						return
					}
					chunk(c, scratch)
				}
			})
		}
		wg.Wait()
	}

	n := o.dim()
	loss := 0.0
	g := o.lastG
	clear(g)
	for _, p := range o.partials {
		loss += p[0]
		for i, v := range p[1:] {
			g[i] += v
		}
	}
	if o.mean != nil {
		// Back to the standardized space: Σ r·(x - mean)/scale.
		for k := 0; k < kw; k++ {
			gb := g[nw+k]
			for j := 0; j < f; j++ {
				g[k*f+j] = (g[k*f+j] - o.centre(j)*gb) * o.invScale[j]
			}
		}
	}
	inv := 1 / o.wsum
	penalty := 0.0
	for i := 0; i < n; i++ {
		g[i] *= inv
		if i < nw || i >= nw+kw {
			w := theta[i]
			penalty += w * w
			g[i] += o.l2 * w
		}
	}
	o.lastF = loss*inv + 0.5*o.l2*penalty
	if o.pickScale > 0 {
		o.updatePickScale()
	}
}

// pick is a row kept for the Hessian, with its weight 1/π.
type pick struct {
	row    int
	weight float64
}

// sampleRows makes every pass from now on keep about target rows for the
// Hessian.
func (o *objective) sampleRows(target int) {
	// At a zero start every row's w is the same: 1 - 1/K, or 1/4 for a
	// binomial model.
	w := 1 - 1/float64(o.classes)
	if o.binary {
		w = 0.25
	}
	o.pickScale = float64(target) / (w * o.wsum)
	o.target = target
}

// updatePickScale aims the next pass's sample at the target from this
// pass's total curvature.
func (o *objective) updatePickScale() {
	total := 0.0
	for _, w := range o.curvature {
		total += w
	}
	if total > 0 {
		o.pickScale = float64(o.target) / total
	}
}

// keep reports whether the pass's row at position i (of the index, or of
// the table), of curvature weight w, is kept in pass evals, and its
// weight. The draw depends only on i and the pass.
func (o *objective) keep(i int, w float64) (float64, bool) {
	pi := min(1, o.pickScale*w)
	// splitmix64 of the row and pass: a uniform draw in [0, 1).
	z := uint64(i)*0x9e3779b97f4a7c15 + uint64(o.evals)*0xbf58476d1ce4e5b9
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	z ^= z >> 31
	u := float64(z>>11) * 0x1p-53
	return 1 / pi, u < pi
}

// centre is what a pass leaves of column j's mean after the shift.
func (o *objective) centre(j int) float64 {
	if o.shift == nil {
		return o.mean[j]
	}
	return o.mean[j] - o.shift[j]
}

// chunk accumulates the summed loss and gradient of rows in chunk c into
// partials[c]. scratch holds features + 2·classes floats.
func (o *objective) chunk(c int, scratch []float64) {
	out := o.partials[c]
	clear(out)
	lo := c * chunkRows
	hi := min(lo+chunkRows, o.rows)
	f := o.features
	kw := o.weightRows()
	w := o.wb[:kw*f]
	b := o.wb[kw*f : kw*(f+1)]
	gw := out[1 : 1+kw*f]
	gb := out[1+kw*f : 1+kw*(f+1)]
	xs := scratch[:f]
	z := scratch[f : f+o.classes]
	r := scratch[f+o.classes : f+2*o.classes]
	// The loss is sum_i log(sum_k exp(z_ik - zmax_i)) + (zmax_i - z_iy).
	// Each row's sum lies in [1, K], so the sums are multiplied and the
	// product's log taken only when it grows large: one log per few
	// hundred rows instead of one per row.
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
		yi := o.y[i]
		if o.binary {
			zi := b[0] + dot(w, row)
			// loss = log(1 + exp(t)) with t = -z for y = 1, z for y = 0;
			// |t| = |z|, so one exp serves the loss and the sigmoid.
			z[0] = -math.Abs(zi)
			e := expShifted(z[:1], 0)
			t := zi
			if yi == 1 {
				t = -zi
			}
			loss += max(t, 0)
			prod *= 1 + e
			if prod > 1e200 {
				loss += math.Log(prod)
				prod = 1
			}
			p := 1 / (1 + e) // sigmoid(z) for z >= 0
			if zi < 0 {
				p = e * p
			}
			if sampling {
				w := p * (1 - p)
				curvature += w
				if wt, ok := o.keep(pos, w); ok {
					picks = append(picks, pick{i, wt})
				}
			}
			ri := p
			if yi == 1 {
				ri--
			}
			axpy(ri, row, gw)
			gb[0] += ri
			continue
		}
		logits(w, b, row, z)
		zmax := z[0]
		for _, zk := range z[1:] {
			zmax = max(zmax, zk)
		}
		loss += zmax - z[yi]
		sum := expShifted(z, zmax)
		prod *= sum
		if prod > 1e200 {
			loss += math.Log(prod)
			prod = 1
		}
		inv := 1 / sum
		sq := 0.0
		for k, e := range z {
			rk := e * inv
			r[k] = rk
			gb[k] += rk
			sq += rk * rk
		}
		if sampling {
			w := 1 - sq
			curvature += w
			if wt, ok := o.keep(pos, w); ok {
				picks = append(picks, pick{i, wt})
			}
		}
		r[yi]--
		gb[yi]--
		addOuter(gw, r, row)
	}
	out[0] = loss + math.Log(prod)
	o.picks[c], o.curvature[c] = picks, curvature
}
