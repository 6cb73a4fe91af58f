package dataset

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/modelferry/modelferry/devstack/testkit/repo"
)

func TestParseIris(t *testing.T) {
	f, err := os.Open(repo.Iris(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := Parse(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Rows() != 150 || len(d.Features) != 4 || d.Label != "species" {
		t.Fatalf("got %d rows, features %v, label %q", d.Rows(), d.Features, d.Label)
	}
	if want := []string{"setosa", "versicolor", "virginica"}; !slices.Equal(d.Classes, want) {
		t.Errorf("classes %v, want %v", d.Classes, want)
	}
	if got := d.Row(0); !slices.Equal(got, []float64{5.1, 3.5, 1.4, 0.2}) {
		t.Errorf("row 0 = %v", got)
	}
	if d.Y[0] != 0 || d.Y[149] != 2 {
		t.Errorf("labels %d, %d", d.Y[0], d.Y[149])
	}
}

func TestParseOptions(t *testing.T) {
	in := "\xef\xbb\xbfb,label,a\n1,x,2\n3,y,4\n5,x,6\n"
	d, err := Parse(strings.NewReader(in), Options{Label: "label", SizeHint: int64(len(in))})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Features, []string{"b", "a"}) || !slices.Equal(d.X, []float64{1, 2, 3, 4, 5, 6}) || !slices.Equal(d.Y, []int32{0, 1, 0}) {
		t.Errorf("got features %v X %v Y %v", d.Features, d.X, d.Y)
	}
}

func TestClassesSortAsStrings(t *testing.T) {
	d, err := Parse(strings.NewReader("x,y\n1,2\n2,10\n3,9\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"10", "2", "9"}; !slices.Equal(d.Classes, want) {
		t.Errorf("classes %v, want %v", d.Classes, want)
	}
	if want := []int32{1, 0, 2}; !slices.Equal(d.Y, want) {
		t.Errorf("Y %v, want %v", d.Y, want)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		opts     Options
		want     string
	}{
		{"empty file", "", Options{}, "the file is empty"},
		{"header only", "a,b,label\n", Options{}, "no data rows after the header"},
		{"not a number", "a,petal_width,label\n1,2,x\n1,abc,y\n", Options{}, `line 3, column petal_width: "abc" is not a number`},
		{"empty cell", "a,b,label\n1,,x\n", Options{}, "line 2, column b: empty value"},
		{"NaN", "a,b,label\n1,NaN,x\n", Options{}, `line 2, column b: "NaN" is not a finite number`},
		{"Inf", "a,b,label\n1,-inf,x\n", Options{}, `line 2, column b: "-inf" is not a finite number`},
		{"overflow", "a,b,label\n1,1e999,x\n", Options{}, `line 2, column b: "1e999" is out of range for float64`},
		{"ragged short", "a,b,label\n1,2,x\n1,y\n", Options{}, "line 3: 2 fields, the header has 3"},
		{"ragged long", "a,b,label\n1,2,x,4\n", Options{}, "line 2: 4 fields, the header has 3"},
		{"duplicate column", "a,b,a\n1,2,x\n", Options{}, `line 1: duplicate column name "a" (columns 1 and 3)`},
		{"empty column name", "a,,label\n1,2,x\n", Options{}, "line 1: column 2 has an empty name"},
		{"single class", "a,label\n1,x\n2,x\n", Options{}, `column label has a single class "x"; need at least two`},
		{"missing label column", "a,b\n1,2\n", Options{Label: "species"}, `line 1: no label column "species"; columns are a, b`},
		{"one column", "label\nx\n", Options{}, "line 1: need at least one feature column and a label column"},
		{"non-UTF-8 header", "a\xff,label\n1,x\n", Options{}, "line 1: column 1: name is not valid UTF-8"},
		{"non-UTF-8 label", "a,label\n1,x\xff\n2,y\n", Options{}, "line 2, column label: label is not valid UTF-8"},
		{"non-UTF-8 value", "a,label\n1\xfe,x\n", Options{}, "line 2, column a: value is not valid UTF-8"},
		{"empty label", "a,label\n1,\n", Options{}, "line 2, column label: empty label"},
		{"bad quote", "a,label\n1,\"x\n", Options{}, "extraneous or missing"},
		{"too many classes", "a,label\n1,a\n2,b\n3,c\n", Options{MaxClasses: 2}, "line 4, column label: more than 2 distinct labels"},
		// Name limits hold whatever the class count: one long label on
		// every row is refused as it is read, not quoted whole.
		{"single long label", "a,label\n1," + strings.Repeat("x", 300) + "\n2," + strings.Repeat("x", 300) + "\n", Options{},
			"line 2, column label: label is 300 bytes; the limit is 256"},
		{"long label among others", "a,label\n1,y\n2," + strings.Repeat("x", 9) + "\n", Options{MaxNameBytes: 8},
			"line 3, column label: label is 9 bytes; the limit is 8"},
		{"long column name", "a" + strings.Repeat("b", 256) + ",label\n1,x\n", Options{}, "line 1: column 1: name is 257 bytes; the limit is 256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.in), tc.opts)
			if err == nil {
				t.Fatal("parse succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			if len(err.Error()) > 400 {
				t.Errorf("error of %d bytes", len(err.Error()))
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not match ErrInvalid", err)
			}
		})
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestReadErrorIsNotInvalid(t *testing.T) {
	_, err := Parse(failingReader{}, Options{})
	if err == nil || errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("got %v, want the read error, not ErrInvalid", err)
	}
}

func makeDataset(perClass ...int) *Dataset {
	d := &Dataset{Features: []string{"a", "b"}, Label: "y"}
	for k, n := range perClass {
		d.Classes = append(d.Classes, fmt.Sprint("c", k))
		for i := 0; i < n; i++ {
			row := len(d.Y)
			d.X = append(d.X, float64(row), float64(-row))
			d.Y = append(d.Y, int32(k))
		}
	}
	return d
}

func TestSplitIsStratifiedAndSeeded(t *testing.T) {
	d := makeDataset(50, 30, 20)
	train, test, err := Split(d, 0.2, 42)
	if err != nil {
		t.Fatal(err)
	}
	if train.Rows() != 80 || test.Rows() != 20 {
		t.Fatalf("train %d, test %d rows", train.Rows(), test.Rows())
	}
	count := func(ds *Dataset) []int {
		c := make([]int, len(ds.Classes))
		for _, y := range ds.Y {
			c[y]++
		}
		return c
	}
	if got := count(test); !slices.Equal(got, []int{10, 6, 4}) {
		t.Errorf("test per class %v, want [10 6 4]", got)
	}
	// Rows move with their labels: a row's first feature is its original
	// index and the class follows from that.
	seen := map[float64]bool{}
	for _, ds := range []*Dataset{train, test} {
		for i := 0; i < ds.Rows(); i++ {
			r := ds.Row(i)
			if r[1] != -r[0] {
				t.Fatalf("row %d corrupted: %v", i, r)
			}
			orig := int(r[0])
			want := 0
			if orig >= 80 {
				want = 2
			} else if orig >= 50 {
				want = 1
			}
			if int(ds.Y[i]) != want {
				t.Fatalf("row %v has class %d, want %d", r, ds.Y[i], want)
			}
			seen[r[0]] = true
		}
	}
	if len(seen) != 100 {
		t.Errorf("%d distinct rows after split, want 100", len(seen))
	}

	again := makeDataset(50, 30, 20)
	_, test2, _ := Split(again, 0.2, 42)
	if !slices.Equal(test.X, test2.X) {
		t.Error("same seed gave a different split")
	}
	other := makeDataset(50, 30, 20)
	_, test3, _ := Split(other, 0.2, 43)
	if slices.Equal(test.X, test3.X) {
		t.Error("another seed gave the same split")
	}
}

func TestSplitEdgeCases(t *testing.T) {
	d := makeDataset(5, 5)
	train, test, err := Split(d, 0, 1)
	if err != nil || train != d || test != nil {
		t.Errorf("fraction 0: got %v %v %v, want all rows for training", train, test, err)
	}
	for _, frac := range []float64{-0.1, 1, 1.5} {
		if _, _, err := Split(makeDataset(5, 5), frac, 1); !errors.Is(err, ErrInvalid) {
			t.Errorf("fraction %v: error %v, want ErrInvalid", frac, err)
		}
	}
	_, _, err = Split(makeDataset(5, 1), 0.2, 1)
	if err == nil || !strings.Contains(err.Error(), `class "c1" has 1 row(s)`) {
		t.Errorf("one row in a class: got %v", err)
	}
	// A tiny fraction still leaves one test row per class; a large one
	// still leaves one training row.
	_, test, _ = Split(makeDataset(3, 3), 0.01, 1)
	if test.Rows() != 2 {
		t.Errorf("tiny fraction: %d test rows, want 2", test.Rows())
	}
	train, _, _ = Split(makeDataset(3, 3), 0.99, 1)
	if train.Rows() != 2 {
		t.Errorf("large fraction: %d train rows, want 2", train.Rows())
	}
}

func syntheticCSV(rows, features int) []byte {
	var b bytes.Buffer
	for j := 0; j < features; j++ {
		fmt.Fprintf(&b, "f%d,", j)
	}
	b.WriteString("label\n")
	for i := 0; i < rows; i++ {
		for j := 0; j < features; j++ {
			fmt.Fprintf(&b, "%.4f,", float64((i*31+j*17)%1000)/97)
		}
		fmt.Fprintf(&b, "c%d\n", i%3)
	}
	return b.Bytes()
}

// BenchmarkParse reports the bytes allocated per input byte: the matrix
// itself is 8 bytes per value, so the ratio shows what parsing adds.
func BenchmarkParse(b *testing.B) {
	for _, rows := range []int{100_000, 1_000_000} {
		in := syntheticCSV(rows, 20)
		b.Run(fmt.Sprintf("%dx20", rows), func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			var d *Dataset
			for b.Loop() {
				var err error
				d, err = Parse(bytes.NewReader(in), Options{SizeHint: int64(len(in))})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(d.X)*8+len(d.Y)*8)/float64(len(in)), "matrix-bytes/input-byte")
		})
	}
}

func TestParseHashesAndReportsProgress(t *testing.T) {
	in := syntheticCSV(5000, 4)
	h := sha256.New()
	var reads []int64
	d, err := Parse(bytes.NewReader(in), Options{SizeHint: int64(len(in)), Digest: h, blockSize: 4096,
		OnProgress: func(read, total int64) {
			if total != int64(len(in)) {
				t.Errorf("total %d, want %d", total, len(in))
			}
			reads = append(reads, read)
		}})
	if err != nil {
		t.Fatal(err)
	}
	if d.Rows() != 5000 {
		t.Errorf("%d rows", d.Rows())
	}
	if want := sha256.Sum256(in); !bytes.Equal(h.Sum(nil), want[:]) {
		t.Error("digest differs from the input's sha256")
	}
	if len(reads) < 10 || !slices.IsSorted(reads) || reads[len(reads)-1] != int64(len(in)) {
		t.Errorf("progress %v", reads)
	}
}

// Parse cuts the input into blocks parsed in parallel; whatever the cuts,
// the result is encoding/csv's.
func TestParseMatchesReferenceAcrossBlocks(t *testing.T) {
	plain := syntheticCSV(3000, 5)
	messy := []byte("\xef\xbb\xbfa, \"b\"\r\n\r\n1, 2.5e-3,x\r\n\n\"3\",\" 4\",\"y\nz\"\n5,-0,x\n 6 , 7,y")
	for _, tc := range []struct {
		name string
		in   []byte
		opts Options
	}{
		{"plain", plain, Options{}},
		{"plain, one worker", plain, Options{Workers: 1}},
		{"plain, small size hint", plain, Options{SizeHint: 100}},
		{"plain, no size hint", plain, Options{SizeHint: -1}},
		{"quotes, blank lines, CRLF", messy, Options{Label: "b"}},
		{"quotes, blank lines, CRLF, last column", messy, Options{}},
	} {
		for _, block := range []int{1, 7, 64, 1000, 1 << 20} {
			t.Run(fmt.Sprint(tc.name, ", block ", block), func(t *testing.T) {
				opts := tc.opts
				opts.blockSize = block
				if opts.SizeHint == 0 {
					opts.SizeHint = int64(len(tc.in))
				}
				d, err := Parse(bytes.NewReader(tc.in), opts)
				want, wantErr := referenceParse(bytes.NewReader(tc.in), opts)
				if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
					t.Fatalf("error %v, want %v", err, wantErr)
				}
				if err != nil {
					return
				}
				if !slices.Equal(d.Features, want.Features) || !slices.Equal(d.Classes, want.Classes) ||
					!slices.Equal(d.Y, want.Y) || !slices.Equal(d.X, want.X) {
					t.Errorf("got %v %v %v %v, want %v %v %v %v", d.Features, d.Classes, d.Y[:min(9, len(d.Y))], d.X[:min(9, len(d.X))],
						want.Features, want.Classes, want.Y[:min(9, len(want.Y))], want.X[:min(9, len(want.X))])
				}
			})
		}
	}
}

// multiLineCSV has quoted labels that span lines, one of them with a
// blank line and an escaped quote inside, and quoted numbers.
func multiLineCSV(rows int) []byte {
	var b bytes.Buffer
	b.WriteString("a,\"b\",label\n")
	labels := []string{"\"one\nclass\"", "\"an\"\"other\"\"\n\nclass\"", "plain"}
	for i := range rows {
		fmt.Fprintf(&b, "%d,\"%d.5\",%s\n", i, -i, labels[i%len(labels)])
	}
	return b.Bytes()
}

// A block boundary that falls inside a quoted field, at every offset: the
// blocks are cut at record ends only, and the result is encoding/csv's.
func TestParseCutsBlocksOutsideQuotes(t *testing.T) {
	in := multiLineCSV(40)
	want, err := referenceParse(bytes.NewReader(in), Options{})
	if err != nil || want.Rows() != 40 {
		t.Fatalf("encoding/csv: %d rows, %v", want.Rows(), err)
	}
	for block := 1; block <= 96; block++ {
		d, err := Parse(bytes.NewReader(in), Options{SizeHint: int64(len(in)), Workers: 2, blockSize: block})
		if err != nil {
			t.Fatalf("block %d: %v", block, err)
		}
		if !slices.Equal(d.Classes, want.Classes) || !slices.Equal(d.Y, want.Y) || !slices.Equal(d.X, want.X) {
			t.Fatalf("block %d: got %q %v %v, want %q %v %v", block, d.Classes, d.Y, d.X, want.Classes, want.Y, want.X)
		}
	}
}

func TestSplitMatchesReference(t *testing.T) {
	for _, tc := range []struct {
		perClass []int
		fraction float64
		seed     uint64
	}{
		{[]int{50, 30, 20}, 0.2, 42},
		{[]int{1000, 3, 517}, 0.25, 7},
		{[]int{2, 2}, 0.5, 1},
	} {
		d, ref := makeDataset(tc.perClass...), makeDataset(tc.perClass...)
		// Interleave the classes so that the reordering has cycles.
		r := rand.New(rand.NewPCG(tc.seed, 1))
		perm := r.Perm(d.Rows())
		for i, p := range perm {
			copy(ref.Row(i), d.Row(p))
			ref.Y[i] = d.Y[p]
		}
		copy(d.X, ref.X)
		copy(d.Y, ref.Y)
		train, test, err := Split(d, tc.fraction, tc.seed)
		if err != nil {
			t.Fatal(err)
		}
		wantTrain, wantTest, err := referenceSplit(ref, tc.fraction, tc.seed)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(train.X, wantTrain.X) || !slices.Equal(train.Y, wantTrain.Y) ||
			!slices.Equal(test.X, wantTest.X) || !slices.Equal(test.Y, wantTest.Y) {
			t.Errorf("%v: split differs from the reference", tc.perClass)
		}
	}
}

// Split moves rows in place: besides the matrix it needs a bit per row.
func TestSplitMemory(t *testing.T) {
	const rows, features = 200_000, 20
	d := &Dataset{Features: make([]string, features), Classes: []string{"a", "b", "c"},
		X: make([]float64, rows*features), Y: make([]int32, rows)}
	for i := range d.Y {
		d.Y[i] = int32(i % 3)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, _, err := Split(d, 0.2, 1); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if perRow := float64(after.TotalAlloc-before.TotalAlloc) / rows; perRow > 0.25 {
		t.Errorf("split allocated %.1f bytes per row; the matrix has %d", perRow, 8*features)
	}
}
