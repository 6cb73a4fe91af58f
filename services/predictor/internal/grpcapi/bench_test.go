package grpcapi

import (
	"context"
	"testing"

	"github.com/modelferry/modelferry/pkg/inferencepb"
	"github.com/modelferry/modelferry/services/predictor/internal/admission"
)

// BenchmarkSmallInferBesideTheGate is the cost of a one-row ModelInfer
// from 32 parallel callers when each message first reserves twice the
// largest message of the gate (PREDICTOR_MAX_BODY_BYTES 8 MiB,
// PREDICTOR_MAX_INFLIGHT_BYTES 32 MiB) before it is read.
func BenchmarkSmallInferBesideTheGate(b *testing.B) {
	f := startBench(b)
	req := &inferencepb.ModelInferRequest{ModelName: "iris", Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{
		tensor("input", "FP64", []int64{1, 4}, &inferencepb.InferTensorContents{Fp64Contents: seedRow})}}
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := f.client.ModelInfer(context.Background(), req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func startBench(b *testing.B) *fixture {
	gate := admission.ForProcess(32 << 20)
	return startWith(b, func(c *Config, cc *ComponentConfig) {
		c.Gate, c.MaxMessageBytes, cc.MaxMessageBytes = gate, 8<<20, 8<<20
	})
}
