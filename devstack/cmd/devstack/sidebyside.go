package main

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/modelferry/modelferry/pkg/dataset"
	"github.com/modelferry/modelferry/pkg/logreg"
)

//go:embed sklearn_bench.py
var sklearnScript []byte

// pythonResult is what sklearn_bench.py prints.
type pythonResult struct {
	ReadCSV    float64  `json:"read_csv_seconds"`
	ReadCSVCPU float64  `json:"read_csv_cpu_seconds"`
	Fit        float64  `json:"fit_seconds"`
	FitCPU     float64  `json:"fit_cpu_seconds"`
	Iterations int      `json:"iterations"`
	Objective  float64  `json:"objective"`
	Pipeline   float64  `json:"pipeline_seconds"`
	BLAS       []string `json:"blas"`
}

// goResult is the same measures taken in this process with our packages.
type goResult struct {
	Parse, Fit time.Duration
	// ParseCPU and FitCPU are the process's CPU time, all threads: on a
	// shared machine they vary less than the wall times.
	ParseCPU, FitCPU time.Duration
	Iterations       int
	Objective        float64
	Matrix           int64 // bytes of X
}

// findPython returns a python3 that has Debian's python3-sklearn and
// python3-pandas, or "" when none has.
func findPython() string {
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import sklearn, pandas, threadpoolctl").Run() == nil {
			return p
		}
	}
	return ""
}

// runPython times pandas and scikit-learn on csv. OPENBLAS_CORETYPE and
// OPENBLAS_L2_SIZE, set on some machines for old OpenBLAS builds, slow a
// current numpy down: they are left out of its environment.
func runPython(ctx context.Context, python, dir, csv string) (pythonResult, error) {
	script := filepath.Join(dir, "sklearn_bench.py")
	if err := os.WriteFile(script, sklearnScript, 0o644); err != nil {
		return pythonResult{}, err
	}
	cmd := exec.CommandContext(ctx, python, script, csv)
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "OPENBLAS_CORETYPE=") || strings.HasPrefix(kv, "OPENBLAS_L2_SIZE=")
	})
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return pythonResult{}, fmt.Errorf("%s: %w: %s", script, err, stderr.String())
	}
	var r pythonResult
	if err := json.Unmarshal(out, &r); err != nil {
		return pythonResult{}, fmt.Errorf("read %s output: %w", script, err)
	}
	return r, nil
}

// runGo parses csv as the trainer does (hashing it on the way) and fits
// every row with the default parameters.
func runGo(ctx context.Context, csv string) (goResult, error) {
	f, err := os.Open(csv)
	if err != nil {
		return goResult{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return goResult{}, err
	}
	start, cpu := time.Now(), cpuTime()
	d, err := dataset.Parse(f, dataset.Options{SizeHint: st.Size(), Digest: sha256.New()})
	if err != nil {
		return goResult{}, err
	}
	r := goResult{Parse: time.Since(start), ParseCPU: cpuTime() - cpu, Matrix: int64(len(d.X)) * 8}
	start, cpu = time.Now(), cpuTime()
	_, info, err := logreg.Fit(ctx, logreg.Data{X: d.X, Y: d.Y, Rows: d.Rows(), Features: len(d.Features), Classes: len(d.Classes)},
		logreg.Options{Standardize: true})
	if err != nil {
		return goResult{}, err
	}
	r.Fit, r.FitCPU = time.Since(start), cpuTime()-cpu
	r.Iterations, r.Objective = info.Iterations, info.Objective
	return r, nil
}

// cpuTime is the process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sideBySide is one round of the comparison.
type sideBySide struct {
	ours               goResult
	python             pythonResult
	e2e                time.Duration
	rssBefore, peakRSS int64 // bytes; 0 when unknown
	timings            map[string]float64
	runIters           int
}

// compare times, repeat times over, our parse and fit against pandas and
// scikit-learn on the same CSV, and `POST /train?wait=true` with it against
// the Python way, and prints each round and the median ratios.
//
// Datasets are stored under their sha256, and one already stored is not
// sent again: forget removes the stored copy after each round, so that
// every round pays for storing it, as a new dataset would.
func compare(ctx context.Context, w io.Writer, trainer string, trainerPID int, dir, csv string, size int64, rows, repeat int,
	forget func(ctx context.Context, uri string) error) error {
	python := findPython()
	if python == "" {
		fmt.Fprintln(w, "scikit-learn side by side skipped: no python3 with scikit-learn and pandas (apt-get install python3-sklearn python3-pandas)")
	}
	var rounds []sideBySide
	for range repeat {
		var r sideBySide
		var err error
		if r.ours, err = runGo(ctx, csv); err != nil {
			return err
		}
		// The parsed matrix must not weigh on what comes next.
		runtime.GC()
		debug.FreeOSMemory()
		if python != "" {
			if r.python, err = runPython(ctx, python, dir, csv); err != nil {
				return err
			}
		}
		var uri string
		if r.e2e, r.timings, r.runIters, r.rssBefore, r.peakRSS, uri, err = uploadRun(trainer, trainerPID, csv); err != nil {
			return err
		}
		if err := forget(ctx, uri); err != nil {
			return fmt.Errorf("remove the stored dataset %s: %w", uri, err)
		}
		rounds = append(rounds, r)
	}

	mb := func(b int64) string { return fmt.Sprintf("%d MB", b>>20) }
	for i, r := range rounds {
		fmt.Fprintf(w, "round %d, %d×20 CSV (%s):\n", i+1, rows, mb(size))
		fmt.Fprintf(w, "  parse:  ours %.3fs, CPU %.3fs (with sha256)", r.ours.Parse.Seconds(), r.ours.ParseCPU.Seconds())
		if python != "" {
			fmt.Fprintf(w, ", pandas read_csv %.3fs, CPU %.3fs", r.python.ReadCSV, r.python.ReadCSVCPU)
		}
		fmt.Fprintf(w, "\n  fit, every row, defaults:  ours %.3fs, CPU %.3fs (%d iterations, objective %.6f)",
			r.ours.Fit.Seconds(), r.ours.FitCPU.Seconds(), r.ours.Iterations, r.ours.Objective)
		if python != "" {
			fmt.Fprintf(w, ", scikit-learn %.3fs, CPU %.3fs (%d iterations, objective %.6f)", r.python.Fit, r.python.FitCPU, r.python.Iterations, r.python.Objective)
		}
		fmt.Fprintf(w, "\n  POST /train?wait=true:  %.3fs (load %.2fs, fit %.2fs, %d iterations, evaluate %.2fs, publish %.2fs), trainer peak RSS %s = %.2f× the matrix (%s before the run)",
			r.e2e.Seconds(), r.timings["load_seconds"], r.timings["fit_seconds"], r.runIters, r.timings["evaluate_seconds"], r.timings["publish_seconds"],
			mb(r.peakRSS), float64(r.peakRSS)/float64(r.ours.Matrix), mb(r.rssBefore))
		if python != "" {
			fmt.Fprintf(w, "; Python way (read_csv, stratified split, fit, predict_proba) %.3fs", r.python.Pipeline)
		}
		fmt.Fprintln(w)
	}
	if python == "" {
		return nil
	}
	median := func(f func(sideBySide) float64) float64 {
		var v []float64
		for _, r := range rounds {
			v = append(v, f(r))
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	fmt.Fprintf(w, "BLAS of numpy: %s\n", strings.Join(rounds[0].python.BLAS, "; "))
	fmt.Fprintf(w, "median of %d rounds, ours ÷ theirs:  parse ÷ read_csv %.2f (CPU %.2f);  fit ÷ scikit-learn fit %.2f (CPU %.2f);  POST /train ÷ Python way %.2f;  objective ÷ scikit-learn's %.9f\n",
		len(rounds),
		median(func(r sideBySide) float64 { return r.ours.Parse.Seconds() / r.python.ReadCSV }),
		median(func(r sideBySide) float64 { return r.ours.ParseCPU.Seconds() / r.python.ReadCSVCPU }),
		median(func(r sideBySide) float64 { return r.ours.Fit.Seconds() / r.python.Fit }),
		median(func(r sideBySide) float64 { return r.ours.FitCPU.Seconds() / r.python.FitCPU }),
		median(func(r sideBySide) float64 { return r.e2e.Seconds() / r.python.Pipeline }),
		median(func(r sideBySide) float64 { return r.ours.Objective / r.python.Objective }))
	return nil
}

// uploadRun posts csv to the trainer and waits for the run. It returns the
// trainer's RSS before and its peak during the run (reset before, so that
// it is this run's), and where the run stored the dataset.
func uploadRun(trainer string, pid int, csv string) (wall time.Duration, timings map[string]float64, iterations int, rssBefore, peak int64, uri string, err error) {
	_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
	rssBefore = procStatus(pid, "VmRSS:")
	f, err := os.Open(csv)
	if err != nil {
		return
	}
	defer f.Close()
	start := time.Now()
	body, err := post(trainer+"/train?wait=true&model=big", "text/csv", f)
	if err != nil {
		return
	}
	wall = time.Since(start)
	var run struct {
		Iterations int
		Timings    map[string]float64
		Dataset    struct{ URI string }
	}
	if err = json.Unmarshal(body, &run); err != nil {
		err = fmt.Errorf("read run: %w", err)
		return
	}
	return wall, run.Timings, run.Iterations, rssBefore, peakRSS(pid), run.Dataset.URI, nil
}
