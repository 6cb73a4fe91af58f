package dataset

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte("a,b,label\n1,2,x\n3,4,y\n"), "")
	f.Add([]byte("a,label\n1,\"x\"\n2,y\n"), "label")
	f.Add([]byte("\xef\xbb\xbfa;b\n1;2\n"), "")
	f.Add([]byte("a,b\n1e308,x\n-0,y\n"), "b")
	f.Fuzz(func(t *testing.T, in []byte, label string) {
		d, err := Parse(bytes.NewReader(in), Options{Label: label, SizeHint: int64(len(in))})
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("in-memory input gave a non-content error: %v", err)
			}
			return
		}
		nf := len(d.Features)
		if nf == 0 || len(d.X) != d.Rows()*nf || len(d.Classes) < 2 {
			t.Fatalf("inconsistent dataset: %d features, %d values, %d rows, %d classes", nf, len(d.X), d.Rows(), len(d.Classes))
		}
		for _, v := range d.X {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("non-finite value %v accepted", v)
			}
		}
		for _, y := range d.Y {
			if y < 0 || y >= len(d.Classes) {
				t.Fatalf("label %d out of range", y)
			}
		}
	})
}
