package grpcapi

import (
	"context"
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
