package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/modelferry/modelferry/devstack"
	"github.com/modelferry/modelferry/devstack/testkit/wrk"
	"github.com/modelferry/modelferry/pkg/modelstore"
)

// bench starts a fresh stack, trains, and loads it: the figures of the
// README's performance table.
func bench(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	bin := fs.String("bin", "bin", "directory of the trainer and predictor binaries")
	data := fs.String("data", "data", "directory of default datasets")
	duration := fs.Duration("duration", 10*time.Second, "length of each wrk run")
	bigRows := fs.Int("big-rows", 1_000_000, "rows of the large CSV, parsed, fitted and uploaded side by side with pandas and scikit-learn (0 skips it)")
	rounds := fs.Int("rounds", 3, "rounds of the side-by-side comparison; medians are reported")
	logs := fs.String("logs", "", "file for the stack's logs (default: discarded)")
	memory := fs.Bool("memory", true, "measure the predictor's memory under large bodies")
	protocols := fs.Bool("protocols", true, "load /predict, OIP REST and OIP gRPC side by side")
	manyModels := fs.Bool("models", true, "measure a predictor's memory with 1, 10 and 100 models")
	if err := fs.Parse(args); err != nil {
		return err
	}
	vgw, err := exec.LookPath("versitygw")
	if err != nil {
		return fmt.Errorf("versitygw not found: run make tools")
	}
	tmp, err := os.MkdirTemp("", "modelferry-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	out := io.Discard
	if *logs != "" {
		f, err := os.Create(*logs)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	addrs := make([]string, 4)
	for i := range addrs {
		if addrs[i], err = devstack.FreeAddr(); err != nil {
			return err
		}
	}
	dataDir, _ := filepath.Abs(*data)
	stack, err := devstack.Start(ctx, devstack.Config{
		BinDir: *bin, Versitygw: vgw, StateDir: tmp, DataDir: dataDir,
		S3Addr: addrs[0], TrainerAddr: addrs[1], PredictorAddrs: []string{addrs[2]}, PredictorGRPCAddrs: []string{addrs[3]},
		AccessKey: "bench", SecretKey: "bench-secret", Out: out,
		Env: map[string]string{"TRAINER_TMP_DIR": tmp, "PREDICTOR_SHUTDOWN_DELAY": "0s"},
	})
	if err != nil {
		return err
	}
	defer stack.Stop()
	trainer, predictor := "http://"+addrs[1], "http://"+addrs[2]

	tw := tabwriter.NewWriter(stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\tresult")

	var trainTimes []time.Duration
	for range 5 {
		start := time.Now()
		if _, err := post(trainer+"/train?wait=true", "", nil); err != nil {
			return err
		}
		trainTimes = append(trainTimes, time.Since(start))
	}
	slices.Sort(trainTimes)
	fmt.Fprintf(tw, "POST /train?wait=true, iris (median of 5)\t%v\n", trainTimes[2].Round(time.Microsecond))

	deadline := time.Now().Add(10 * time.Second)
	for !ready(predictor) {
		if time.Now().After(deadline) {
			return fmt.Errorf("predictor not ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
	single := `{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}`
	batch := `{"instances": [` + strings.TrimSuffix(strings.Repeat("[5.1, 3.5, 1.4, 0.2],", 100), ",") + `]}`
	for _, tc := range []struct{ name, body string }{{"single row", single}, {"batch of 100 rows", batch}} {
		r, err := wrk.Run(predictor+"/predict", wrk.Options{Threads: 2, Connections: 32, Duration: *duration, Body: tc.body})
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "POST /predict %s, wrk -t2 -c32 %v\t%.0f req/s, p50 %v, p99 %v, non-2xx %d\n",
			tc.name, *duration, r.RequestsPerSecond, r.P50, r.P99, r.Non2xx)
	}

	if *protocols {
		if err := benchProtocols(ctx, tw, predictor, addrs[3], *duration); err != nil {
			return err
		}
	}

	if *memory {
		if err := benchMemory(ctx, tw, predictor, stack.Predictors[0].PID(), *duration); err != nil {
			return err
		}
	}

	if *manyModels {
		if err := benchModels(ctx, tw, *bin, trainer, addrs[0], "bench", "bench-secret", dataDir); err != nil {
			return err
		}
	}

	if err := tw.Flush(); err != nil {
		return err
	}
	if *bigRows > 0 {
		path := filepath.Join(tmp, "big.csv")
		size, err := writeCSV(path, *bigRows)
		if err != nil {
			return err
		}
		forget := func(ctx context.Context, uri string) error {
			bucket, key, ok := strings.Cut(strings.TrimPrefix(uri, "s3://"), "/")
			if !ok {
				return fmt.Errorf("not an s3:// URI")
			}
			b, err := modelstore.NewS3(modelstore.S3Options{Endpoint: addrs[0], AccessKey: "bench", SecretKey: "bench-secret", Bucket: bucket})
			if err != nil {
				return err
			}
			return b.Delete(ctx, key)
		}
		if err := compare(ctx, stdout, trainer, stack.Trainer.PID(), tmp, path, size, *bigRows, *rounds, forget); err != nil {
			return err
		}
	}
	return nil
}

func post(url, contentType string, body io.Reader) ([]byte, error) {
	resp, err := http.Post(url, contentType, body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("POST %s: %s: %s", url, resp.Status, b)
	}
	return b, nil
}

func ready(base string) bool {
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// writeCSV writes a seeded rows × 20 dataset with 3 classes.
func writeCSV(path string, rows int) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	r := rand.New(rand.NewPCG(42, 1))
	for j := range 20 {
		fmt.Fprintf(w, "f%d,", j)
	}
	w.WriteString("label\n")
	buf := make([]byte, 0, 256)
	for i := 0; i < rows; i++ {
		y := i % 3
		buf = buf[:0]
		for j := range 20 {
			buf = strconv.AppendFloat(buf, float64(y)*0.3*float64(j%3)+r.NormFloat64(), 'f', 4, 64)
			buf = append(buf, ',')
		}
		buf = append(buf, 'c', byte('0'+y), '\n')
		w.Write(buf)
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), f.Close()
}

// peakRSS reads a process's high-water resident set size from /proc, in
// bytes; 0 when it cannot.
func peakRSS(pid int) int64 { return procStatus(pid, "VmHWM:") }

// procStatus reads a size in kB from /proc/<pid>/status, in bytes.
func procStatus(pid int, key string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
