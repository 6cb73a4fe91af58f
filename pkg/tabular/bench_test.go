package tabular

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/modelferry/modelferry/pkg/logreg"
)

// writeMixedCSV writes the benchmark table: rows × (10 numeric
// columns with 5% missing, 5 categorical columns of 20 levels with 2%
// missing) and a label of 3 classes.
func writeMixedCSV(b *testing.B, rows int) string {
	b.Helper()
	// TABULAR_BENCH_DIR keeps the table for testdata/bench_pipeline.py.
	dir := os.Getenv("TABULAR_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	path := filepath.Join(dir, fmt.Sprintf("mixed%d.csv", rows))
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	r := rand.New(rand.NewPCG(1, 2))
	for j := 0; j < 10; j++ {
		fmt.Fprintf(w, "n%d,", j)
	}
	for j := 0; j < 5; j++ {
		fmt.Fprintf(w, "c%d,", j)
	}
	w.WriteString("y\n")
	var line []byte
	for i := 0; i < rows; i++ {
		line = line[:0]
		y := r.IntN(3)
		for j := 0; j < 10; j++ {
			if r.Float64() >= 0.05 {
				line = strconv.AppendFloat(line, float64(y)+r.NormFloat64(), 'f', 4, 64)
			}
			line = append(line, ',')
		}
		for j := 0; j < 5; j++ {
			if r.Float64() >= 0.02 {
				line = append(line, "level"...)
				line = strconv.AppendInt(line, int64((y+r.IntN(20))%20), 10)
			}
			line = append(line, ',')
		}
		line = append(line, "class"...)
		line = strconv.AppendInt(line, int64(y), 10)
		line = append(line, '\n')
		w.Write(line)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkTrainCSV1M prepares the 1M-row table and fits the
// model: the Go side of testdata/bench_pipeline.py's figure.
func BenchmarkTrainCSV1M(b *testing.B) {
	path := writeMixedCSV(b, 1_000_000)
	src, err := OpenCSV(func() (io.ReadCloser, error) { return os.Open(path) })
	if err != nil {
		b.Fatal(err)
	}
	var info logreg.FitInfo
	for b.Loop() {
		p, err := Prepare(src, Spec{})
		if err != nil {
			b.Fatal(err)
		}
		if _, info, err = logreg.Fit(context.Background(), p.Data(), logreg.Options{Standardize: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(info.Iterations), "iterations")
}

func benchmarkPrepareCSV(b *testing.B, rows int) {
	path := writeMixedCSV(b, rows)
	src, err := OpenCSV(func() (io.ReadCloser, error) { return os.Open(path) })
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var p *Prepared
	var peak uint64
	for b.Loop() {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		if p, err = Prepare(src, Spec{}); err != nil {
			b.Fatal(err)
		}
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		peak = max(peak, after.HeapInuse)
	}
	out := 8*len(p.X) + 4*len(p.Codes)
	b.ReportMetric(float64(out)/1e6, "numerics+codes-MB")
	b.ReportMetric(float64(peak)/1e6, "heap-inuse-MB")
}

// BenchmarkPrepareCSV1M streams the 1M-row table through Prepare.
// Its memory (heap-inuse-MB after the run) compares to the float64
// numerics plus int32 codes it produces (numerics+codes-MB).
func BenchmarkPrepareCSV1M(b *testing.B)   { benchmarkPrepareCSV(b, 1_000_000) }
func BenchmarkPrepareCSV100k(b *testing.B) { benchmarkPrepareCSV(b, 100_000) }
