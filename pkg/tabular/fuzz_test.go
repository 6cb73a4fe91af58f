package tabular

import (
	"bytes"
	"math"
	"testing"
)

// FuzzPrepare feeds arbitrary tables and parameters to ReadCSV and
// Prepare: they must not panic, and a table they accept must come out
// consistent: codes within their levels, finite dense features, and the
// Encoder giving every training row the values Prepare did.
func FuzzPrepare(f *testing.F) {
	f.Add([]byte("a,b,y\n1,x,p\n,NA,q\n3,x,\n2,z,p\n"), uint8(0), uint8(0), 0.0)
	f.Add([]byte("n,c,w,y\n1.5,u,1,a\nNaN,v,2,b\n-3e2,,0.5,a\ninf,u,1,b\n"), uint8(7), uint8(2), 0.3)
	f.Add([]byte("id,x\n1,4\n2,6\n3,4\n4,N/A\n"), uint8(3), uint8(3), 2.0)
	f.Add([]byte("\"q,1\",y\n\"a\nb\",1\n,2\n"), uint8(1), uint8(0), 0.0)
	f.Fuzz(func(t *testing.T, data []byte, flags, maxCat uint8, minFreq float64) {
		tab, err := ReadCSV(bytes.NewReader(data))
		if err != nil {
			return
		}
		s := Spec{
			Impute:        []string{"", ImputeMean, ImputeMedian, ImputeMostFrequent}[flags&3],
			AddIndicator:  flags&4 != 0,
			MaxCategories: int(maxCat % 8),
			MinFrequency:  minFreq,
			MaxLevels:     50,
		}
		if flags&8 != 0 && len(tab.Header) > 2 {
			s.Categorical = []string{tab.Header[0]}
		}
		if flags&16 != 0 {
			s.ClassWeight.Balanced = true
		}
		p, err := Prepare(tab, s)
		if err != nil {
			return
		}
		enc := p.Encoder
		d, nc := enc.Dense(), enc.Codes()
		if len(p.X) != p.Rows*d || len(p.Codes) != p.Rows*nc || len(p.Y) != p.Rows {
			t.Fatalf("sizes: X %d, codes %d, Y %d for %d rows × %d + %d", len(p.X), len(p.Codes), len(p.Y), p.Rows, d, nc)
		}
		for _, v := range p.X {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("dense feature %v", v)
			}
		}
		levels := enc.Levels()
		for i, c := range p.Codes {
			if c < 0 || int(c) >= levels[i%nc] {
				t.Fatalf("code %d of column %d out of [0, %d)", c, i%nc, levels[i%nc])
			}
		}
		for _, y := range p.Y {
			if y < 0 || int(y) >= len(p.Classes) {
				t.Fatalf("class %d of %d", y, len(p.Classes))
			}
		}
		pos, err := enc.Bind(tab.Header)
		if err != nil {
			t.Fatal(err)
		}
		na := newNASet(nil)
		label := len(tab.Header) - 1
		x, codes := make([]float64, d), make([]int32, nc)
		i := 0
		for _, r := range tab.Rows {
			if na.missing(r[label]) {
				continue
			}
			if err := enc.EncodeRecord(r, pos, x, codes); err != nil {
				t.Fatalf("training row %d: %v", i, err)
			}
			if !equalFloats(x, p.X[i*d:i*d+d]) || !equalInts(codes, p.Codes[i*nc:i*nc+nc]) {
				t.Fatalf("training row %d encodes as %v %v, prepared %v %v", i, x, codes, p.X[i*d:i*d+d], p.Codes[i*nc:i*nc+nc])
			}
			i++
		}
	})
}
