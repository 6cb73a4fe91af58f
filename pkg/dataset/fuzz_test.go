package dataset

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strconv"
	"testing"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte("a,b,label\n1,2,x\n3,4,y\n"), "", uint8(0))
	f.Add([]byte("a,label\n1,\"x\"\n2,y\n"), "label", uint8(3))
	f.Add([]byte("\xef\xbb\xbfa;b\n1;2\n"), "", uint8(1))
	f.Add([]byte("a,b\n1e308,x\n-0,y\n"), "b", uint8(7))
	f.Add([]byte("\n\r\na, b\r\n 1,x\r\n\r\n2, \"y\n\"\n3,x"), "", uint8(5))
	f.Add([]byte("label,a\nx,1\ny,.5\nz,+2e-3\nx,0x1p-2\n"), "", uint8(2))
	// Quoted fields that span lines, cut by small blocks: block is the
	// knob that puts a block boundary inside them.
	f.Add(multiLineCSV(6), "", uint8(9))
	f.Add(multiLineCSV(6), "a", uint8(21))
	f.Fuzz(func(t *testing.T, in []byte, label string, block uint8) {
		opts := Options{Label: label, SizeHint: int64(len(in)), MaxClasses: 4, Workers: 3}
		if block > 0 {
			opts.blockSize = int(block % 32)
		}
		d, err := Parse(bytes.NewReader(in), opts)
		want, wantErr := referenceParse(bytes.NewReader(in), opts)
		if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
			t.Fatalf("error %v, encoding/csv's reading gives %v", err, wantErr)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("in-memory input gave a non-content error: %v", err)
			}
			return
		}
		if !slices.Equal(d.Features, want.Features) || d.Label != want.Label || !slices.Equal(d.Classes, want.Classes) || !slices.Equal(d.Y, want.Y) {
			t.Fatalf("got %q %q %q %v, want %q %q %q %v", d.Features, d.Label, d.Classes, d.Y, want.Features, want.Label, want.Classes, want.Y)
		}
		if len(d.X) != len(want.X) {
			t.Fatalf("%d values, want %d", len(d.X), len(want.X))
		}
		for i, v := range d.X {
			if math.Float64bits(v) != math.Float64bits(want.X[i]) {
				t.Fatalf("X[%d] = %v, want %v", i, v, want.X[i])
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("non-finite value %v accepted", v)
			}
		}
	})
}

// parseDecimal must give strconv.ParseFloat's bits whenever it answers.
func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"0", "-0", "1.5", "-0.8527", ".25", "5.", "+7", "1e22", "1e23", "9007199254740993",
		"9007199254740991", "123456789012345678", "0.000000000000000000001", "1_0", "0x10", "1e", "-.e1", "00012.50"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := parseDecimal(s)
		if !ok {
			return
		}
		want, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("parseDecimal(%q) = %v, strconv: %v", s, v, err)
		}
		if math.Float64bits(v) != math.Float64bits(want) {
			t.Fatalf("parseDecimal(%q) = %v (%#x), strconv %v (%#x)", s, v, math.Float64bits(v), want, math.Float64bits(want))
		}
		b, okb := parseDecimal([]byte(s))
		if okb != ok || math.Float64bits(b) != math.Float64bits(v) {
			t.Fatalf("bytes and string disagree on %q", s)
		}
	})
}

func TestParseDecimalTakesPlainDecimals(t *testing.T) {
	for _, s := range []string{"0", "-0", "1.5", "-0.8527", ".25", "5.", "+7", "1e22", "1.25E-5", "9007199254740991", "00012.50"} {
		if _, ok := parseDecimal(s); !ok {
			t.Errorf("%q left to strconv", s)
		}
	}
	for _, s := range []string{"", "-", ".", "1e", "1e+", "0x10", "1_0", "inf", "NaN", "9007199254740993", "1e23", "1e-23", "1.5.2", " 1"} {
		if _, ok := parseDecimal(s); ok {
			t.Errorf("%q taken as a plain decimal", s)
		}
	}
}
