package drift

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

func TestEdgesSplitIntoEqualBins(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	values := make([]float64, 50_000)
	for i := range values {
		values[i] = r.NormFloat64()
	}
	edges := Edges(values, 10)
	if len(edges) != 9 || !slices.IsSorted(edges) {
		t.Fatalf("edges %v", edges)
	}
	for i, c := range Counts(edges, values) {
		if c < 4500 || c > 5500 {
			t.Errorf("bin %d holds %d of 50000, want about 5000", i, c)
		}
	}
}

func TestEdgesOfFewDistinctValues(t *testing.T) {
	if e := Edges([]float64{3, 3, 3, 3}, 10); len(e) != 0 {
		t.Errorf("constant column: %v, want no edges", e)
	}
	e := Edges([]float64{0, 0, 0, 1, 1, 1, 2, 2, 2, 2}, 10)
	if !slices.Equal(e, []float64{1, 2}) {
		t.Errorf("three values: %v", e)
	}
	if got := Counts(e, []float64{0, 0, 0, 1, 1, 1, 2, 2, 2, 2}); !slices.Equal(got, []uint64{3, 3, 4}) {
		t.Errorf("counts %v", got)
	}
	if Edges(nil, 10) != nil || Edges([]float64{math.NaN()}, 10) != nil {
		t.Error("no values, no edges")
	}
}

// Edges sorts a sample of at most maxSample values: all of them up to
// that, every step-th beyond, and never more however the length divides.
func TestEdgesSample(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{1, 10, maxSample, maxSample + 1, 2*maxSample - 1, 2*maxSample + 1, 5*maxSample + 3} {
		values := make([]float64, n)
		for i := range values {
			values[i] = r.NormFloat64()
		}
		step := (n + maxSample - 1) / maxSample
		var sample []float64
		for i := 0; i < n; i += step {
			sample = append(sample, values[i])
		}
		if len(sample) > maxSample {
			t.Fatalf("%d values: a sample of %d", n, len(sample))
		}
		slices.Sort(sample)
		if got, want := Edges(values, DefaultBins), SortedEdges(sample, DefaultBins); !slices.Equal(got, want) {
			t.Errorf("%d values: edges %v, want %v", n, got, want)
		}
		if n == 1 != (SortedEdges(sample, DefaultBins) == nil) {
			t.Errorf("%d values: edges %v", n, SortedEdges(sample, DefaultBins))
		}
		// The copy is the sample, not the column.
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		Edges(values, DefaultBins)
		runtime.ReadMemStats(&after)
		if got := after.TotalAlloc - before.TotalAlloc; got > uint64(10*len(sample)+1024) {
			t.Errorf("%d values: Edges allocated %d bytes for a sample of %d", n, got, len(sample))
		}
	}
	// Two bins split at the median; fewer make none.
	if e := SortedEdges([]float64{1, 2, 3, 4}, 2); !slices.Equal(e, []float64{3}) {
		t.Errorf("two bins: edges %v", e)
	}
	if e := SortedEdges([]float64{1, 2, 3, 4}, 1); e != nil {
		t.Errorf("one bin: edges %v", e)
	}
}

func TestBin(t *testing.T) {
	edges := []float64{1, 2, 3}
	for v, want := range map[float64]int{-5: 0, 0.99: 0, 1: 1, 1.5: 1, 2: 2, 3: 3, 100: 3, math.Inf(1): 3, math.Inf(-1): 0} {
		if got := Bin(edges, v); got != want {
			t.Errorf("Bin(%v) = %d, want %d", v, got, want)
		}
	}
	if Bin(edges, math.NaN()) != 3 {
		t.Error("NaN not in the last bin")
	}
}

func TestPSI(t *testing.T) {
	base := []uint64{100, 100, 100, 100}
	if psi := PSI(base, []uint64{50, 50, 50, 50}); psi != 0 {
		t.Errorf("same shares: %v", psi)
	}
	small := PSI(base, []uint64{105, 95, 100, 100})
	big := PSI(base, []uint64{10, 40, 100, 250})
	if small > 0.01 || big < 0.2 {
		t.Errorf("small shift %v, big shift %v", small, big)
	}
	// A known value: shares (0.5,0.5) against (0.9,0.1).
	want := (0.9-0.5)*math.Log(0.9/0.5) + (0.1-0.5)*math.Log(0.1/0.5)
	if got := PSI([]uint64{1, 1}, []uint64{9, 1}); math.Abs(got-want) > 1e-12 {
		t.Errorf("PSI = %v, want %v", got, want)
	}
	if got := PSI([]uint64{1, 0}, []uint64{0, 1}); math.IsInf(got, 0) || math.IsNaN(got) || got < 1 {
		t.Errorf("disjoint: %v, want large and finite", got)
	}
	if PSI(base, []uint64{0, 0, 0, 0}) != 0 {
		t.Error("no live rows is no drift")
	}
}

func TestBinScanAndSearchAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 9, 16, 17, 40} {
		values := make([]float64, 1000)
		for i := range values {
			values[i] = r.NormFloat64()
		}
		edges := Edges(values, n+1)
		for _, v := range append(values, edges...) {
			want := 0
			for want < len(edges) && edges[want] <= v {
				want++
			}
			if got := Bin(edges, v); got != want {
				t.Fatalf("%d edges: Bin(%v) = %d, want %d", len(edges), v, got, want)
			}
		}
	}
}

// BenchmarkBin bins normal values into deciles: random values, as
// features are, so that a branch on the comparison would mispredict.
func BenchmarkBin(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	values := make([]float64, 1<<16)
	for i := range values {
		values[i] = r.NormFloat64()
	}
	edges := Edges(values, DefaultBins)
	n := 0
	for b.Loop() {
		for _, v := range values {
			n += Bin(edges, v)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(values)), "ns/value")
	_ = n
}

func TestSharesPSI(t *testing.T) {
	// Bins of a categorical column: a, b, the infrequent ones, unseen,
	// missing. Training shares (0.5, 0.3, 0.2, 0, 0); live 40, 30, 10, 10,
	// 10 of 100 rows. By hand, with empty shares as 1e-4:
	// -0.1·ln(0.8) + 0 - 0.1·ln(0.5) + 2·0.0999·ln(1000) = 1.4717985779.
	got := SharesPSI([]float64{0.5, 0.3, 0.2, 0, 0}, []uint64{40, 30, 10, 10, 10})
	if math.Abs(got-1.4717985779) > 1e-9 {
		t.Errorf("SharesPSI = %.10f, want 1.4717985779", got)
	}
	if got := SharesPSI([]float64{0.5, 0.3, 0.2, 0, 0}, []uint64{50, 30, 20, 0, 0}); got != 0 {
		t.Errorf("the training mix: %v, want 0", got)
	}
	if got := SharesPSI([]float64{0.5, 0.5}, []uint64{0, 0}); got != 0 {
		t.Errorf("no live rows: %v, want 0", got)
	}
}
