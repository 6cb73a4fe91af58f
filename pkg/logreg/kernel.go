package logreg

import "math"

// The kernels below take three classes per sweep of a row, so that the row
// is loaded once for several independent sums and the sums do not wait on
// each other.

// logits sets z[k] = b[k] + w[k]·x, where w holds len(z) rows of len(x).
// Each sum is split over even and odd features so that no addition waits
// for the one before.
func logits(w, b, x, z []float64) {
	f := len(x)
	h := f &^ 1
	k := 0
	for ; k+3 <= len(z); k += 3 {
		w0, w1, w2 := w[k*f:][:f], w[(k+1)*f:][:f], w[(k+2)*f:][:f]
		var s0, s1, s2, t0, t1, t2 float64
		for j := 0; j < h; j += 2 {
			u, v := x[j], x[j+1]
			s0 += w0[j] * u
			t0 += w0[j+1] * v
			s1 += w1[j] * u
			t1 += w1[j+1] * v
			s2 += w2[j] * u
			t2 += w2[j+1] * v
		}
		if h < f {
			u := x[h]
			s0 += w0[h] * u
			s1 += w1[h] * u
			s2 += w2[h] * u
		}
		z[k], z[k+1], z[k+2] = b[k]+(s0+t0), b[k+1]+(s1+t1), b[k+2]+(s2+t2)
	}
	for ; k < len(z); k++ {
		z[k] = b[k] + dot(w[k*f:][:f], x)
	}
}

// addOuter adds r[k]·x to row k of g, for every k.
func addOuter(g, r, x []float64) {
	f := len(x)
	k := 0
	for ; k+3 <= len(r); k += 3 {
		g0, g1, g2 := g[k*f:][:f], g[(k+1)*f:][:f], g[(k+2)*f:][:f]
		r0, r1, r2 := r[k], r[k+1], r[k+2]
		for j, v := range x {
			g0[j] += r0 * v
			g1[j] += r1 * v
			g2[j] += r2 * v
		}
	}
	for ; k < len(r); k++ {
		axpy(r[k], x, g[k*f:][:f])
	}
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

// expShifted sets z[k] = e^(z[k]-zmax) and returns their sum; zmax is at
// least every z[k]. Within 2 ulp of math.Exp and faster: x = z[k]-zmax is
// reduced to r in ±ln2/64 around a multiple n of ln2/32, e^r is a short
// polynomial and 2^(n/32) comes from a table. It is written out here, not
// called, so that the exponentials of a row overlap.
func expShifted(z []float64, zmax float64) float64 {
	const (
		shifter = 0x1.8p52 // adding it rounds to an integer held in the low bits
		invLn2N = 46.16624130844683
		ln2NHi  = 0.021660849393811077 // ln2/32 in 32 significant bits, so n·ln2NHi is exact
		ln2NLo  = -1.312785960212839e-12
	)
	sum := 0.0
	for k, v := range z {
		x := v - zmax
		var e float64
		if x < -708 { // near or below the smallest normal result
			e = math.Exp(x)
		} else {
			t := x*invLn2N + shifter
			n := int32(uint32(math.Float64bits(t)))
			nf := t - shifter
			r := x - nf*ln2NHi - nf*ln2NLo
			p := r + r*r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720)))))
			tj := exp2Table[n&31]
			e = (tj + tj*p) * math.Float64frombits(uint64(int64(n>>5)+1023)<<52)
		}
		z[k] = e
		sum += e
	}
	return sum
}

// exp2Table[j] is 2^(j/32), correctly rounded.
var exp2Table = [32]float64{
	1.0, 1.0218971486541166, 1.0442737824274138, 1.0671404006768237,
	1.0905077326652577, 1.1143867425958924, 1.1387886347566916, 1.1637248587775775,
	1.189207115002721, 1.215247359980469, 1.241857812073484, 1.2690509571917332,
	1.2968395546510096, 1.3252366431597413, 1.3542555469368927, 1.383909881963832,
	1.4142135623730951, 1.4451808069770467, 1.4768261459394993, 1.5091644275934228,
	1.5422108254079407, 1.5759808451078865, 1.6104903319492543, 1.645755478153965,
	1.681792830507429, 1.718619298122478, 1.7562521603732995, 1.7947090750031072,
	1.8340080864093424, 1.8741676341103, 1.9152065613971474, 1.9571441241754002,
}
