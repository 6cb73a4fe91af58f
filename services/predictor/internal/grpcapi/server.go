// Package grpcapi serves the Open Inference Protocol over gRPC
// (inference.GRPCInferenceService) for every served model, with the same
// models, versions, readiness and errors as the REST API; errors are the
// call's gRPC status.
package grpcapi

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/modelferry/modelferry/pkg/errcode"
	"github.com/modelferry/modelferry/pkg/inferencepb"
	"github.com/modelferry/modelferry/pkg/serving"
	"github.com/modelferry/modelferry/services/predictor/internal/admission"
	"github.com/modelferry/modelferry/services/predictor/internal/oip"
	"github.com/modelferry/modelferry/services/predictor/internal/usage"
)

// Models are the served models.
type Models interface {
	Lookup(name string) (*serving.Model, error)
}

// Config configures a Server.
type Config struct {
	Logger   *slog.Logger
	Models   Models
	Counters *usage.Counters
	// Gate admits large requests, shared with the REST API.
	Gate *admission.Gate
	// MaxMessageBytes is the largest request message
	// (PREDICTOR_MAX_BODY_BYTES): what a ModelInfer call reserves of the
	// gate before its message is read.
	MaxMessageBytes int64
	// ReadTimeout bounds how long a ModelInfer message may take to
	// arrive once its call began, as the REST server's read timeout
	// bounds a body: a call that sends its message slowly, or never,
	// holds its share of the gate until then. 0 means no bound.
	ReadTimeout time.Duration
	// Version is the server's version, in ServerMetadata.
	Version  string
	MaxBatch int
	// Ready reports whether the predictor is ready.
	Ready func() bool
}

// Server implements inference.GRPCInferenceService.
type Server struct {
	inferencepb.UnimplementedGRPCInferenceServiceServer
	cfg  Config
	pool sync.Pool // *scratch
}

// scratch is per-call memory, pooled.
type scratch struct {
	sc  serving.Scratch
	ans serving.Answers
}

// maxPooled keeps one huge call from pinning its buffers in the pool.
const maxPooled = 1 << 17 // values

// New returns the service.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg}
	s.pool.New = func() any { return &scratch{} }
	return s
}

// ServerLive is always true while the process answers.
func (s *Server) ServerLive(context.Context, *inferencepb.ServerLiveRequest) (*inferencepb.ServerLiveResponse, error) {
	return &inferencepb.ServerLiveResponse{Live: true}, nil
}

// ServerReady is the predictor's readiness, as /readyz.
func (s *Server) ServerReady(context.Context, *inferencepb.ServerReadyRequest) (*inferencepb.ServerReadyResponse, error) {
	return &inferencepb.ServerReadyResponse{Ready: s.cfg.Ready == nil || s.cfg.Ready()}, nil
}

// ModelReady is whether a served model (and version) is loaded; a model
// not served is NotFound.
func (s *Server) ModelReady(_ context.Context, req *inferencepb.ModelReadyRequest) (*inferencepb.ModelReadyResponse, error) {
	_, err := oip.Resolve(s.cfg.Models, req.GetName(), req.GetVersion())
	if errors.Is(err, oip.ErrUnavailable) {
		return &inferencepb.ModelReadyResponse{Ready: false}, nil
	}
	if err != nil {
		return nil, resolveStatus(err)
	}
	return &inferencepb.ModelReadyResponse{Ready: true}, nil
}

// ServerMetadata names the server, its version and extensions.
func (s *Server) ServerMetadata(context.Context, *inferencepb.ServerMetadataRequest) (*inferencepb.ServerMetadataResponse, error) {
	return &inferencepb.ServerMetadataResponse{Name: oip.ServerName, Version: s.cfg.Version, Extensions: oip.Extensions}, nil
}

// ModelMetadata describes a loaded model.
func (s *Server) ModelMetadata(_ context.Context, req *inferencepb.ModelMetadataRequest) (*inferencepb.ModelMetadataResponse, error) {
	m, err := oip.Resolve(s.cfg.Models, req.GetName(), req.GetVersion())
	if err != nil {
		return nil, resolveStatus(err)
	}
	return metadata(oip.ModelMetadata(m)), nil
}

// ModelInfer runs a model on the request's inputs, given in contents or in
// raw_input_contents. It is what a direct call gets; served, the message
// comes through receiveInfer, which bounds its memory before reading it.
func (s *Server) ModelInfer(ctx context.Context, req *inferencepb.ModelInferRequest) (*inferencepb.ModelInferResponse, error) {
	var hold *admission.Hold
	if s.cfg.Gate != nil {
		h, err := s.cfg.Gate.Reserve(ctx, int64(proto.Size(req)))
		if err != nil {
			return nil, busy()
		}
		defer h.Release()
		hold = h
	}
	return s.infer(ctx, req, hold)
}

// receiveInfer serves ModelInfer as the server reads it (see
// serviceDesc): twice the largest message's bytes are taken from the gate
// before the message is read, so that concurrent large messages are held
// in memory only as far as PREDICTOR_MAX_INFLIGHT_BYTES allows; until
// then the transport holds at most its flow-control window of each.
func (s *Server) receiveInfer(_ any, stream grpc.ServerStream) error {
	ctx := stream.Context()
	var hold *admission.Hold
	if s.cfg.Gate != nil {
		// The message is held twice while it is decoded: its bytes and
		// the request made of them.
		h, err := s.cfg.Gate.Reserve(ctx, 2*s.cfg.MaxMessageBytes)
		if err != nil {
			return busy()
		}
		defer h.Release()
		hold = h
	}
	req, err := s.receive(stream)
	if err != nil {
		return err
	}
	resp, err := s.infer(ctx, req, hold)
	if err != nil {
		return err
	}
	return stream.SendMsg(resp)
}

// receive reads a ModelInfer message within ReadTimeout. Past it the
// call ends, which ends the read too (the transport cancels the stream).
func (s *Server) receive(stream grpc.ServerStream) (*inferencepb.ModelInferRequest, error) {
	req := new(inferencepb.ModelInferRequest)
	if s.cfg.ReadTimeout <= 0 {
		return req, stream.RecvMsg(req)
	}
	got := make(chan error, 1)
	go func() { got <- stream.RecvMsg(req) }()
	timer := time.NewTimer(s.cfg.ReadTimeout)
	defer timer.Stop()
	select {
	case err := <-got:
		return req, err
	case <-timer.C:
		return nil, status.Errorf(codes.DeadlineExceeded, "the request message did not arrive within %s; send it whole at once", s.cfg.ReadTimeout)
	}
}

// serviceDesc is the inference service with ModelInfer served by
// receiveInfer: a unary method's message is read whole before any
// handler or interceptor runs, a stream's only when its handler asks.
// Clients see the same unary method. It is declared client-streaming so
// that the stream interceptors (the token) run on it: grpc calls a
// stream handler declared neither way without them.
func (s *Server) serviceDesc() *grpc.ServiceDesc {
	desc := inferencepb.GRPCInferenceService_ServiceDesc
	desc.Methods = slices.DeleteFunc(slices.Clone(desc.Methods), func(m grpc.MethodDesc) bool { return m.MethodName == "ModelInfer" })
	desc.Streams = append(slices.Clone(desc.Streams), grpc.StreamDesc{StreamName: "ModelInfer", Handler: s.receiveInfer, ClientStreams: true})
	return &desc
}

func busy() error {
	return status.Error(codes.ResourceExhausted, "too many large requests are being answered at once (PREDICTOR_MAX_INFLIGHT_BYTES); retry")
}

// infer answers req, read with hold taken from the gate (nil without a
// gate): a large message keeps its size of it and takes a slot; a small
// one gives it all back.
func (s *Server) infer(ctx context.Context, req *inferencepb.ModelInferRequest, hold *admission.Hold) (*inferencepb.ModelInferResponse, error) {
	m, err := oip.Resolve(s.cfg.Models, req.GetModelName(), req.GetModelVersion())
	if err != nil {
		if errors.Is(err, oip.ErrUnavailable) {
			s.cfg.Counters.Failure(req.GetModelName(), usage.OIPGRPC, errcode.Unavailable)
		}
		return nil, resolveStatus(err)
	}
	if hold != nil {
		if size := proto.Size(req); size >= admission.Large {
			hold.Shrink(int64(size))
			if err := hold.Slot(ctx); err != nil {
				s.cfg.Counters.Failure(m.Name, usage.OIPGRPC, "resource_exhausted")
				return nil, busy()
			}
		} else {
			hold.Release()
		}
	}
	sc := s.pool.Get().(*scratch)
	defer s.release(sc)
	rows, outputs, err := decode(m, req, s.cfg.MaxBatch, &sc.sc)
	if err == nil {
		err = m.PredictRows(sc.sc.X, rows, &sc.ans)
	}
	if err != nil {
		st := inputStatus(err)
		s.cfg.Counters.Failure(m.Name, usage.OIPGRPC, reason(st.Code()))
		return nil, st.Err()
	}
	s.cfg.Counters.Success(m.Name, usage.OIPGRPC, rows)
	return encode(m, req, outputs, &sc.ans), nil
}

func (s *Server) release(sc *scratch) {
	if cap(sc.sc.X) <= maxPooled && cap(sc.ans.P) <= maxPooled {
		s.pool.Put(sc)
	}
}

// resolveStatus maps oip.Resolve's errors: NotFound, Unavailable.
func resolveStatus(err error) error {
	code := codes.NotFound
	if errors.Is(err, oip.ErrUnavailable) {
		code = codes.Unavailable
	}
	return status.Error(code, oip.Message(err))
}

// inputStatus maps a request the model cannot read: InvalidArgument, or
// ResourceExhausted for too many rows.
func inputStatus(err error) *status.Status {
	var ie *serving.InputError
	switch {
	case errors.As(err, &ie) && ie.TooLarge:
		return status.New(codes.ResourceExhausted, ie.Error())
	case errors.As(err, &ie):
		return status.New(codes.InvalidArgument, ie.Error())
	}
	return status.New(codes.Internal, "internal error")
}

// reason is a failure's counter label, the REST error code of its status.
func reason(c codes.Code) string {
	switch c {
	case codes.InvalidArgument:
		return errcode.InvalidArgument
	case codes.ResourceExhausted:
		return errcode.TooLarge
	}
	return errcode.Internal
}
