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

// objective evaluates the mean-form loss and its gradient over the training
// rows. It caches the last point so that gonum's separate Func and Grad calls
// at the same x cost one pass over the data.
type objective struct {
	x        []float64 // rows × features, row-major
	y        []int
	rows     int
	features int
	classes  int
	binary   bool
	mean     []float64 // nil when not standardizing
	invScale []float64
	l2       float64 // 1 / (C · rows): penalty weight of the mean form
	workers  int

	partials [][]float64 // per chunk: [loss, grad...]
	lastX    []float64
	lastF    float64
	lastG    []float64
	valid    bool
}

func newObjective(d Data, mean, scale []float64, c float64, workers int) *objective {
	o := &objective{
		x:        d.X,
		y:        d.Y,
		rows:     d.Rows,
		features: d.Features,
		classes:  d.Classes,
		binary:   d.Classes == 2,
		mean:     mean,
		l2:       1 / (c * float64(d.Rows)),
		workers:  workers,
	}
	if mean != nil {
		o.invScale = make([]float64, len(scale))
		for j, s := range scale {
			o.invScale[j] = 1 / s
		}
	}
	if o.workers <= 0 {
		o.workers = runtime.GOMAXPROCS(0)
	}
	n := o.dim()
	chunks := (d.Rows + chunkRows - 1) / chunkRows
	o.partials = make([][]float64, chunks)
	for i := range o.partials {
		o.partials[i] = make([]float64, 1+n)
	}
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

// dim is the parameter count: weightRows × features coefficients, then
// weightRows intercepts.
func (o *objective) dim() int { return o.weightRows() * (o.features + 1) }

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
	chunks := len(o.partials)
	if o.workers == 1 || chunks == 1 {
		scratch := make([]float64, o.features+o.classes)
		for c := 0; c < chunks; c++ {
			o.chunk(theta, c, scratch)
		}
	} else {
		var next atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < min(o.workers, chunks); w++ {
			wg.Go(func() {
				scratch := make([]float64, o.features+o.classes)
				for {
					c := int(next.Add(1) - 1)
					if c >= chunks {
						return
					}
					o.chunk(theta, c, scratch)
				}
			})
		}
		wg.Wait()
	}

	n := o.dim()
	nw := o.weightRows() * o.features
	loss := 0.0
	g := o.lastG
	clear(g)
	for _, p := range o.partials {
		loss += p[0]
		for i, v := range p[1:] {
			g[i] += v
		}
	}
	inv := 1 / float64(o.rows)
	penalty := 0.0
	for i := 0; i < n; i++ {
		g[i] *= inv
		if i < nw {
			w := theta[i]
			penalty += w * w
			g[i] += o.l2 * w
		}
	}
	o.lastF = loss*inv + 0.5*o.l2*penalty
}

// chunk accumulates the summed loss and gradient of rows in chunk c into
// partials[c]. scratch holds features + classes floats.
func (o *objective) chunk(theta []float64, c int, scratch []float64) {
	out := o.partials[c]
	clear(out)
	lo := c * chunkRows
	hi := min(lo+chunkRows, o.rows)
	f := o.features
	kw := o.weightRows()
	w := theta[:kw*f]
	b := theta[kw*f : kw*(f+1)]
	gw := out[1 : 1+kw*f]
	gb := out[1+kw*f : 1+kw*(f+1)]
	xs := scratch[:f]
	z := scratch[f : f+o.classes]
	// The multinomial loss is sum_i log(sum_k exp(z_ik - zmax_i)) +
	// (zmax_i - z_iy). Each row's sum lies in [1, K], so the sums are
	// multiplied and the product's log taken only when it grows large:
	// one log per few hundred rows instead of one per row.
	loss, prod := 0.0, 1.0
	for i := lo; i < hi; i++ {
		row := o.x[i*f : i*f+f]
		if o.mean != nil {
			for j, v := range row {
				xs[j] = (v - o.mean[j]) * o.invScale[j]
			}
			row = xs
		}
		yi := o.y[i]
		if o.binary {
			zi := b[0] + dot(w, row)
			// loss = log(1 + exp(t)) with t = -z for y = 1, z for y = 0;
			// |t| = |z|, so one exp serves the loss and the sigmoid.
			e := math.Exp(-math.Abs(zi))
			t := zi
			if yi == 1 {
				t = -zi
			}
			loss += max(t, 0) + math.Log1p(e)
			p := 1 / (1 + e) // sigmoid(z) for z >= 0
			if zi < 0 {
				p = e / (1 + e)
			}
			r := p
			if yi == 1 {
				r--
			}
			axpy(r, row, gw)
			gb[0] += r
			continue
		}
		zmax, kmax := math.Inf(-1), 0
		for k := range z {
			zk := b[k] + dot(w[k*f:k*f+f], row)
			z[k] = zk
			if zk > zmax {
				zmax, kmax = zk, k
			}
		}
		loss += zmax - z[yi]
		sum := 1.0
		for k, zk := range z {
			if k == kmax {
				z[k] = 1 // exp(0)
				continue
			}
			e := math.Exp(zk - zmax)
			z[k] = e
			sum += e
		}
		prod *= sum
		if prod > 1e200 {
			loss += math.Log(prod)
			prod = 1
		}
		inv := 1 / sum
		for k := range z {
			r := z[k] * inv
			if k == yi {
				r--
			}
			axpy(r, row, gw[k*f:k*f+f])
			gb[k] += r
		}
	}
	out[0] = loss + math.Log(prod)
}

func dot(a, b []float64) float64 {
	b = b[:len(a)]
	s0, s1 := 0.0, 0.0
	i := 0
	for ; i+1 < len(a); i += 2 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
	}
	if i < len(a) {
		s0 += a[i] * b[i]
	}
	return s0 + s1
}

func axpy(alpha float64, x, y []float64) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}
