package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/modelferry/modelferry/devstack/testkit/s3test"
	"github.com/modelferry/modelferry/pkg/inferencepb"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/pkg/testmodel"
)

// childEnv, set, makes the test binary a predictor (see TestMain), so
// that a benchmark measures the memory of a predictor process alone.
const childEnv = "MODELFERRY_PREDICTOR_CHILD"

// runChild serves as a predictor configured by the environment until
// SIGTERM.
func runChild() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := run(ctx, nil, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// peakRSS is a process's VmHWM, in bytes.
func peakRSS(b *testing.B, pid int) int64 {
	b.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatal("no VmHWM")
	return 0
}

// BenchmarkGRPCInferMemory sends 64 concurrent 7 MB ModelInfer messages
// (raw FP32 contents) over 64 connections to a predictor process at its
// default limits for a few seconds, while one client posts single rows to
// /predict, and reports the predictor's peak resident memory (goal:
// ≤ 150 MB) and /predict's answers meanwhile.
func BenchmarkGRPCInferMemory(b *testing.B) {
	s3 := s3test.Start(b)
	store, err := modelstore.OpenS3(modelstore.S3Options{Endpoint: s3.Endpoint, AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, Bucket: "modelferry"}, modelstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := store.EnsureBucket(context.Background()); err != nil {
		b.Fatal(err)
	}
	testmodel.Publish(b, store, testmodel.Iris(b), "iris", "production", 1)
	addr, grpcAddr := s3test.FreeAddr(b), s3test.FreeAddr(b)
	base := "http://" + addr
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", "PREDICTOR_ADDR="+addr, "PREDICTOR_GRPC_ADDR="+grpcAddr,
		"PREDICTOR_SHUTDOWN_DELAY=0s", "LOG_LEVEL=error",
		"S3_ENDPOINT="+s3.Endpoint, "S3_ACCESS_KEY="+s3test.AccessKey, "S3_SECRET_KEY="+s3test.SecretKey)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			b.Fatal("the predictor is not ready")
		}
	}
	const rows = 7 << 20 / 16 // 7 MB of FP32 [rows, 4]
	req := &inferencepb.ModelInferRequest{ModelName: "iris", Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{{
		Name: "input", Datatype: "FP32", Shape: []int64{rows, 4}}}, RawInputContents: [][]byte{make([]byte, rows*16)}}
	var conns []*grpc.ClientConn
	for range 64 {
		conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(16<<20)))
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = conn.Close() }()
		conns = append(conns, conn)
	}
	const loadFor = 20 * time.Second
	b.ResetTimer()
	for range b.N {
		ctx, cancel := context.WithTimeout(context.Background(), loadFor)
		var wg sync.WaitGroup
		var answered atomic.Int64
		codes := sync.Map{}
		for _, conn := range conns {
			client := inferencepb.NewGRPCInferenceServiceClient(conn)
			wg.Go(func() {
				for ctx.Err() == nil {
					_, err := client.ModelInfer(ctx, req)
					if ctx.Err() != nil {
						return
					}
					answered.Add(1)
					n, _ := codes.LoadOrStore(grpcstatus.Code(err).String(), new(atomic.Int64))
					n.(*atomic.Int64).Add(1)
				}
			})
		}
		var ok, failed atomic.Int64
		wg.Go(func() {
			client := &http.Client{Timeout: 5 * time.Second}
			for ctx.Err() == nil {
				if _, code, err := predict(client, base); err == nil && code == 200 {
					ok.Add(1)
				} else if ctx.Err() == nil {
					failed.Add(1)
				}
			}
		})
		wg.Wait()
		cancel()
		var answers []string
		codes.Range(func(k, v any) bool {
			answers = append(answers, fmt.Sprintf("%d×%s", v.(*atomic.Int64).Load(), k))
			return true
		})
		peak := peakRSS(b, cmd.Process.Pid)
		b.Logf("64 × 7 MB ModelInfer for %v: %d calls answered (%s); peak RSS %d MB; /predict meanwhile %d ok, %d failed",
			loadFor, answered.Load(), strings.Join(answers, ", "), peak>>20, ok.Load(), failed.Load())
		b.ReportMetric(float64(peak>>20), "peak-RSS-MB")
		b.ReportMetric(float64(ok.Load())/loadFor.Seconds(), "predict/s")
	}
}
