package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/modelferry/modelferry/devstack/testkit/wrk"
	"github.com/modelferry/modelferry/pkg/inferencepb"
)

// protocolResult is one load run's figures.
type protocolResult struct {
	name     string
	rps      float64
	p50, p99 time.Duration
	failures int
}

// benchProtocols loads /predict, OIP REST and OIP gRPC side by side, each
// for one row and for 100-row batches of iris: REST with wrk (2 threads,
// 32 connections), gRPC with a Go client of 32 concurrent calls over 4
// connections, from this process.
func benchProtocols(ctx context.Context, tw io.Writer, predictor, grpcAddr string, d time.Duration) error {
	row := []float64{5.1, 3.5, 1.4, 0.2}
	for _, rows := range []int{1, 100} {
		var flat []string
		var arrays []string
		data := make([]float64, 0, 4*rows)
		for range rows {
			for _, v := range row {
				flat = append(flat, strconv.FormatFloat(v, 'g', -1, 64))
			}
			arrays = append(arrays, "[5.1, 3.5, 1.4, 0.2]")
			data = append(data, row...)
		}
		predictBody := `{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}`
		if rows > 1 {
			predictBody = `{"instances": [` + strings.Join(arrays, ", ") + `]}`
		}
		oipBody := fmt.Sprintf(`{"inputs": [{"name": "input", "shape": [%d, 4], "datatype": "FP64", "data": [%s]}]}`, rows, strings.Join(flat, ", "))
		// Three rounds, the protocols taking turns, and each figure's
		// median: the machine is shared and noisy.
		rounds := make([][]protocolResult, 3)
		for round := range rounds {
			for _, tc := range []struct{ name, path, body string }{
				{"POST /predict", "/predict", predictBody},
				{"OIP REST", "/v2/models/iris/infer", oipBody},
			} {
				r, err := wrk.Run(predictor+tc.path, wrk.Options{Threads: 2, Connections: 32, Duration: d, Body: tc.body})
				if err != nil {
					return err
				}
				rounds[round] = append(rounds[round], protocolResult{tc.name, r.RequestsPerSecond, r.P50, r.P99, r.Non2xx})
			}
			r, err := grpcLoad(ctx, grpcAddr, &inferencepb.ModelInferRequest{ModelName: "iris", Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{{
				Name: "input", Datatype: "FP64", Shape: []int64{int64(rows), 4}, Contents: &inferencepb.InferTensorContents{Fp64Contents: data},
			}}}, 4, 32, d)
			if err != nil {
				return err
			}
			rounds[round] = append(rounds[round], r)
		}
		results := medians(rounds)
		for _, r := range results {
			fmt.Fprintf(tw, "%s, %d row(s) per request (median of 3 rounds of %v)\t%.0f req/s (%.0f rows/s, %.2f× /predict), p50 %v, p99 %v, failures %d\n",
				r.name, rows, d, r.rps, r.rps*float64(rows), r.rps/results[0].rps, r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.failures)
		}
	}
	return nil
}

// grpcLoad calls ModelInfer from workers spread over conns connections for
// d and measures throughput and latency.
func grpcLoad(ctx context.Context, addr string, req *inferencepb.ModelInferRequest, conns, workers int, d time.Duration) (protocolResult, error) {
	clients := make([]inferencepb.GRPCInferenceServiceClient, conns)
	for i := range clients {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return protocolResult{}, err
		}
		defer conn.Close()
		clients[i] = inferencepb.NewGRPCInferenceServiceClient(conn)
	}
	// The calls carry no deadline: one would reach the server first and
	// fail calls in flight at the end.
	end := time.Now().Add(d)
	var mu sync.Mutex
	var all []time.Duration
	failures := 0
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		client := clients[w%conns]
		wg.Go(func() {
			var mine []time.Duration
			failed := 0
			for time.Now().Before(end) && ctx.Err() == nil {
				t := time.Now()
				_, err := client.ModelInfer(ctx, req)
				if err != nil {
					failed++
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			all, failures = append(all, mine...), failures+failed
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(all) == 0 {
		return protocolResult{}, fmt.Errorf("gRPC load: no call answered (%d failed)", failures)
	}
	slices.Sort(all)
	if firstErr != nil {
		return protocolResult{}, fmt.Errorf("gRPC load: %d of %d calls failed, the first with %w", failures, failures+len(all), firstErr)
	}
	return protocolResult{name: "OIP gRPC", rps: float64(len(all)) / elapsed.Seconds(),
		p50: all[len(all)/2], p99: all[len(all)*99/100]}, nil
}

// medians takes, for each protocol, the median of each figure over the
// rounds.
func medians(rounds [][]protocolResult) []protocolResult {
	out := make([]protocolResult, len(rounds[0]))
	for i := range out {
		var rps []float64
		var p50, p99 []time.Duration
		for _, r := range rounds {
			rps, p50, p99 = append(rps, r[i].rps), append(p50, r[i].p50), append(p99, r[i].p99)
			out[i].failures += r[i].failures
		}
		slices.Sort(rps)
		slices.Sort(p50)
		slices.Sort(p99)
		out[i].name, out[i].rps, out[i].p50, out[i].p99 = rounds[0][i].name, rps[len(rps)/2], p50[len(p50)/2], p99[len(p99)/2]
	}
	return out
}
