package grpcapi

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	grpcmd "google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/modelferry/modelferry/pkg/inferencepb"
)

// TestTokenGuardsInference is the regression test of gRPC ignoring
// PREDICTOR_TOKEN: with the token set, model calls without it or with a
// wrong one are Unauthenticated; the server's liveness, readiness,
// metadata and the health service stay open.
func TestTokenGuardsInference(t *testing.T) {
	f := startWith(t, func(_ *Config, c *ComponentConfig) { c.Token = "s3cret" })
	infer := &inferencepb.ModelInferRequest{ModelName: "iris", Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{
		tensor("input", "FP64", []int64{1, 4}, &inferencepb.InferTensorContents{Fp64Contents: seedRow})}}
	guarded := map[string]func(ctx context.Context) error{
		"ModelInfer": func(ctx context.Context) error { _, err := f.client.ModelInfer(ctx, infer); return err },
		"ModelMetadata": func(ctx context.Context) error {
			_, err := f.client.ModelMetadata(ctx, &inferencepb.ModelMetadataRequest{Name: "iris"})
			return err
		},
		"ModelReady": func(ctx context.Context) error {
			_, err := f.client.ModelReady(ctx, &inferencepb.ModelReadyRequest{Name: "iris"})
			return err
		},
	}
	for _, tc := range []struct {
		name, auth string
		want       codes.Code
	}{
		{"no token", "", codes.Unauthenticated},
		{"wrong token", "Bearer s3creT", codes.Unauthenticated},
		{"not bearer", "Basic s3cret", codes.Unauthenticated},
		{"token", "Bearer s3cret", codes.OK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.auth != "" {
				ctx = grpcmd.AppendToOutgoingContext(ctx, "authorization", tc.auth)
			}
			for method, call := range guarded {
				if got := status.Code(call(ctx)); got != tc.want {
					t.Errorf("%s: %v, want %v", method, got, tc.want)
				}
			}
			if _, err := f.client.ServerLive(ctx, &inferencepb.ServerLiveRequest{}); err != nil {
				t.Errorf("ServerLive: %v", err)
			}
			if _, err := f.client.ServerReady(ctx, &inferencepb.ServerReadyRequest{}); err != nil {
				t.Errorf("ServerReady: %v", err)
			}
			if _, err := f.client.ServerMetadata(ctx, &inferencepb.ServerMetadataRequest{}); err != nil {
				t.Errorf("ServerMetadata: %v", err)
			}
			if _, err := f.health.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
				t.Errorf("health: %v", err)
			}
		})
	}
}

// TestErrorsQuoteLittleOfTheInput: ~1 MB in each field of each call gets
// a status whose message quotes at most about 100 bytes of it.
func TestErrorsQuoteLittleOfTheInput(t *testing.T) {
	f := start(t)
	big := strings.Repeat("a", 900<<10)
	input := func(name, dt string) []*inferencepb.ModelInferRequest_InferInputTensor {
		return []*inferencepb.ModelInferRequest_InferInputTensor{tensor(name, dt, []int64{1, 4}, &inferencepb.InferTensorContents{Fp64Contents: seedRow})}
	}
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"infer model": func() error {
			_, err := f.client.ModelInfer(ctx, &inferencepb.ModelInferRequest{ModelName: big})
			return err
		},
		"infer version": func() error {
			_, err := f.client.ModelInfer(ctx, &inferencepb.ModelInferRequest{ModelName: "iris", ModelVersion: big})
			return err
		},
		"infer input": func() error {
			_, err := f.client.ModelInfer(ctx, &inferencepb.ModelInferRequest{ModelName: "iris", Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{
				tensor(big, "FP64", []int64{1}, &inferencepb.InferTensorContents{Fp64Contents: []float64{1}})}})
			return err
		},
		"infer datatype": func() error {
			_, err := f.client.ModelInfer(ctx, &inferencepb.ModelInferRequest{ModelName: "iris", Inputs: input("input", big)})
			return err
		},
		"infer output": func() error {
			_, err := f.client.ModelInfer(ctx, &inferencepb.ModelInferRequest{ModelName: "iris", Inputs: input("input", "FP64"),
				Outputs: []*inferencepb.ModelInferRequest_InferRequestedOutputTensor{{Name: big}}})
			return err
		},
		"metadata model": func() error {
			_, err := f.client.ModelMetadata(ctx, &inferencepb.ModelMetadataRequest{Name: big})
			return err
		},
		"metadata version": func() error {
			_, err := f.client.ModelMetadata(ctx, &inferencepb.ModelMetadataRequest{Name: "iris", Version: big})
			return err
		},
		"ready model": func() error {
			_, err := f.client.ModelReady(ctx, &inferencepb.ModelReadyRequest{Name: big})
			return err
		},
		"ready version": func() error {
			_, err := f.client.ModelReady(ctx, &inferencepb.ModelReadyRequest{Name: "iris", Version: big})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			err := call()
			if err == nil || len(status.Convert(err).Message()) > 500 {
				t.Errorf("%d bytes: %.300v", len(status.Convert(err).Message()), err)
			}
		})
	}
}
