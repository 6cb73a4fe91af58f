package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelferry/modelferry/devstack/testkit/wrk"
)

// memoryLoad is one kind of large request the memory benchmark sends.
type memoryLoad struct {
	name, path string
	body       []byte
}

// memoryLoads are requests at the predictor's default limits (8 MiB
// bodies, 10,000 rows): the OIP body of issue 11 (4.19 M zeros for shape
// [1, 4]), a valid OIP body of 10,000 rows padded with digits to the body
// limit, and a /predict batch of 10,000 named-feature rows.
func memoryLoads() []memoryLoad {
	zeros := strings.TrimSuffix(strings.Repeat("0,", 4194204), ",")
	// 5.1 written with 200 digits: the same value, 8 MB of it.
	long := func(v string) string { return v + strings.Repeat("0", 200) }
	var rows strings.Builder
	for i := range 10000 {
		if i > 0 {
			rows.WriteByte(',')
		}
		rows.WriteString(long("5.1") + "," + long("3.5") + "," + long("1.4") + "," + long("0.2"))
	}
	row := `{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}`
	return []memoryLoad{
		{"OIP, 4.19M zeros for shape [1,4]", "/v2/models/iris/infer",
			[]byte(`{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP64","data":[` + zeros + `]}]}`)},
		{"OIP, 10,000 rows at the body limit", "/v2/models/iris/infer",
			[]byte(`{"inputs":[{"name":"input","shape":[10000,4],"datatype":"FP64","data":[` + rows.String() + `]}]}`)},
		{"/predict, 10,000 named-feature rows", "/predict",
			[]byte(`{"instances": [` + strings.TrimSuffix(strings.Repeat(row+",", 10000), ",") + `]}`)},
	}
}

// benchMemory sends each memoryLoad from 8 clients at once while wrk loads
// POST /predict with single rows, then reports the predictor's peak
// resident memory (VmHWM), how long it took to fall back under 40 MB, and
// /predict's throughput against a run without the load.
func benchMemory(ctx context.Context, tw io.Writer, predictor string, pid int, d time.Duration) error {
	single := `{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}`
	idle, err := wrk.Run(predictor+"/predict", wrk.Options{Threads: 2, Connections: 32, Duration: d, Body: single})
	if err != nil {
		return err
	}
	fmt.Fprintf(tw, "predictor RSS before the memory loads\t%s\n", mb(procStatus(pid, "VmRSS:")))
	for _, load := range memoryLoads() {
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
			return fmt.Errorf("reset the peak RSS: %w", err)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var answered sync.Map // status code -> *atomic.Int64
		for range 8 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					code := postStatus(ctx, predictor+load.path, load.body)
					n, _ := answered.LoadOrStore(code, new(atomic.Int64))
					n.(*atomic.Int64).Add(1)
				}
			})
		}
		busy, err := wrk.Run(predictor+"/predict", wrk.Options{Threads: 2, Connections: 32, Duration: d, Body: single})
		close(stop)
		wg.Wait()
		if err != nil {
			return err
		}
		peak := procStatus(pid, "VmHWM:")
		start := time.Now()
		for procStatus(pid, "VmRSS:") >= 40<<20 && time.Since(start) < 30*time.Second {
			time.Sleep(100 * time.Millisecond)
		}
		back := fmt.Sprintf("back under 40 MB after %v", time.Since(start).Round(100*time.Millisecond))
		if now := procStatus(pid, "VmRSS:"); now >= 40<<20 {
			back = fmt.Sprintf("still %s after 30s", mb(now))
		}
		var codes []string
		answered.Range(func(k, v any) bool {
			codes = append(codes, fmt.Sprintf("%d×%d", v.(*atomic.Int64).Load(), k))
			return true
		})
		fmt.Fprintf(tw, "8 concurrent %s (%.1f MB each; answers %s)\tpeak RSS %s, %s; POST /predict meanwhile %.0f req/s (%.2f× idle %.0f), p99 %v\n",
			load.name, float64(len(load.body))/1e6, strings.Join(codes, ", "), mb(peak), back,
			busy.RequestsPerSecond, busy.RequestsPerSecond/idle.RequestsPerSecond, idle.RequestsPerSecond, busy.P99)
	}
	return nil
}

// postStatus POSTs body and returns the answer's status (0 on a transport
// error).
func postStatus(ctx context.Context, url string, body []byte) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// mb formats bytes in MB.
func mb(b int64) string { return fmt.Sprintf("%d MB", b>>20) }
