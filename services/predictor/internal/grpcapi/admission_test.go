package grpcapi

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/modelferry/modelferry/pkg/inferencepb"
	"github.com/modelferry/modelferry/services/predictor/internal/admission"
)

// TestMessagesWaitForTheGateUnread is the regression test of gRPC decoding
// outside the memory budget: while PREDICTOR_MAX_INFLIGHT_BYTES is taken,
// 8 concurrent 1 MB ModelInfer messages are not read (the server reads at
// most a flow-control window of each), and they are refused
// ResourceExhausted once they have waited their turn. They used to be read
// and decoded whole first.
func TestMessagesWaitForTheGateUnread(t *testing.T) {
	gate := admission.New(4<<20, 1, 500*time.Millisecond, time.Second, nil)
	f := startWith(t, func(c *Config, cc *ComponentConfig) {
		c.Gate, c.MaxMessageBytes, cc.MaxMessageBytes = gate, 2<<20, 2<<20
	})
	full, err := gate.Reserve(context.Background(), 4<<20)
	if err != nil {
		t.Fatal(err)
	}
	before := f.read.Load()
	const rows = 1 << 20 / 16
	req := &inferencepb.ModelInferRequest{ModelName: "iris", Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{
		tensor("input", "FP32", []int64{rows, 4}, nil)}, RawInputContents: [][]byte{make([]byte, rows*16)}}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		conn, err := grpc.NewClient(f.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = conn.Close() }()
		wg.Go(func() {
			_, err := inferencepb.NewGRPCInferenceServiceClient(conn).ModelInfer(context.Background(), req)
			errs <- err
		})
	}
	time.Sleep(300 * time.Millisecond) // the messages are sent by now
	read := f.read.Load() - before
	wg.Wait()
	full.Release()
	t.Logf("the server read %d bytes of 8 × %d-byte messages waiting for the gate", read, rows*16)
	if read > 1<<20 {
		t.Errorf("the server read %d bytes of 8 × %d-byte messages waiting for the gate", read, rows*16)
	}
	for range 8 {
		if err := <-errs; status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "PREDICTOR_MAX_INFLIGHT_BYTES") {
			t.Errorf("a message waiting for a full gate: %v", err)
		}
	}
	// With the gate free, a large message is read and answered.
	if _, err := f.client.ModelInfer(context.Background(), req); status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "rows") {
		t.Errorf("a large message with the gate free: %v", err)
	}
}

// TestASilentCallLetsTheGateGo: a ModelInfer call that opens its stream
// and never sends its message took twice PREDICTOR_MAX_BODY_BYTES of the
// gate for as long as it stayed open, so two of them refused every other
// ModelInfer (and every large REST body). Its message must now arrive
// within the read timeout, as a REST body must.
func TestASilentCallLetsTheGateGo(t *testing.T) {
	gate := admission.New(4<<20, 1, 2*time.Second, time.Second, nil)
	f := startWith(t, func(c *Config, cc *ComponentConfig) {
		c.Gate, c.MaxMessageBytes, cc.MaxMessageBytes = gate, 2<<20, 2<<20
		c.ReadTimeout = 200 * time.Millisecond
	})
	conn, err := grpc.NewClient(f.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	silent, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true},
		"/"+inferencepb.GRPCInferenceService_ServiceDesc.ServiceName+"/ModelInfer")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // the silent call holds the whole gate by now
	req := &inferencepb.ModelInferRequest{ModelName: "iris", Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{
		tensor("input", "FP64", []int64{1, 4}, &inferencepb.InferTensorContents{Fp64Contents: seedRow})}}
	if _, err := f.client.ModelInfer(ctx, req); err != nil {
		t.Errorf("a small call beside a silent one: %v", err)
	}
	if err := silent.RecvMsg(new(inferencepb.ModelInferResponse)); status.Code(err) != codes.DeadlineExceeded || !strings.Contains(err.Error(), "did not arrive") {
		t.Errorf("the silent call: %v", err)
	}
}
