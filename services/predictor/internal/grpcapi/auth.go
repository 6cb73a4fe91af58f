package grpcapi

import (
	"context"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcmd "google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/pkg/inferencepb"
)

// guarded reports whether a call to fullMethod ("/pkg.Service/Method")
// needs the token: every inference method but the server's liveness,
// readiness and metadata, open like their REST twins /v2/health/live,
// /v2/health/ready and /v2. The health service and reflection are open.
func guarded(fullMethod string) bool {
	svc, method, _ := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	if svc != inferencepb.GRPCInferenceService_ServiceDesc.ServiceName {
		return false
	}
	switch method {
	case "ServerLive", "ServerReady", "ServerMetadata":
		return false
	}
	return true
}

// authorize checks the call's authorization metadata ("Bearer <token>")
// against token, with the REST API's comparison (httpserver.TokenValid).
func authorize(ctx context.Context, token, fullMethod string) error {
	if token == "" || !guarded(fullMethod) {
		return nil
	}
	md, _ := grpcmd.FromIncomingContext(ctx)
	vals := md.Get("authorization")
	if len(vals) == 0 {
		return status.Error(codes.Unauthenticated, "this call needs authorization metadata: Bearer <token> (PREDICTOR_TOKEN)")
	}
	tok, ok := httpserver.BearerToken(vals[0])
	if !ok || !httpserver.TokenValid(tok, token) {
		return status.Error(codes.Unauthenticated, "the bearer token is not valid")
	}
	return nil
}

// authInterceptors are the server options that guard calls with token.
func authInterceptors(token string) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if err := authorize(ctx, token, info.FullMethod); err != nil {
				return nil, err
			}
			return h(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if err := authorize(ss.Context(), token, info.FullMethod); err != nil {
				return err
			}
			return h(srv, ss)
		}),
	}
}
