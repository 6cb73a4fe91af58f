package grpcapi

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/modelferry/modelferry/pkg/artifact"
	"github.com/modelferry/modelferry/pkg/inferencepb"
	"github.com/modelferry/modelferry/pkg/serving"
	"github.com/modelferry/modelferry/pkg/testmodel"
	"github.com/modelferry/modelferry/services/predictor/internal/catalog"
	"github.com/modelferry/modelferry/services/predictor/internal/usage"
)

// models serves iris (loaded) and pending (not loaded).
type models struct{ iris *serving.Model }

func (m models) Lookup(name string) (*serving.Model, error) {
	switch name {
	case "iris":
		return m.iris, nil
	case "pending":
		return nil, fmt.Errorf("%w: waiting for pending@production to be published", catalog.ErrNotLoaded)
	}
	return nil, catalog.NotServed(name, []string{"iris", "pending"})
}

const version = "20261126T100000Z-00000001"

type fixture struct {
	client  inferencepb.GRPCInferenceServiceClient
	health  healthpb.HealthClient
	iris    *serving.Model
	ready   *atomic.Bool
	comp    *Component
	stopped chan error
	// addr is the server's; read counts the bytes it has read.
	addr string
	read *atomic.Int64
}

// countingListener counts the bytes its connections read.
type countingListener struct {
	net.Listener
	read *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	return countingConn{c, l.read}, err
}

type countingConn struct {
	net.Conn
	read *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

func start(t testing.TB) *fixture {
	t.Helper()
	return startWith(t, func(*Config, *ComponentConfig) {})
}

// startWith is start with the configuration edited by edit.
func startWith(t testing.TB, edit func(*Config, *ComponentConfig)) *fixture {
	t.Helper()
	am, err := artifact.Decode(testmodel.Artifact(t, testmodel.Iris(t), "iris", version, 1))
	if err != nil {
		t.Fatal(err)
	}
	iris, err := serving.New(am, "abc", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{iris: iris, ready: &atomic.Bool{}, stopped: make(chan error, 1), addr: ln.Addr().String(), read: &atomic.Int64{}}
	f.ready.Store(true)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := Config{Logger: logger, Models: models{iris}, Counters: usage.New(prometheus.NewRegistry()),
		Version: "v9", MaxBatch: 5, Ready: f.ready.Load}
	ccfg := ComponentConfig{Logger: logger, MaxMessageBytes: 1 << 20, Ready: f.ready.Load,
		DrainDelay: 100 * time.Millisecond, ShutdownTimeout: 5 * time.Second}
	edit(&cfg, &ccfg)
	f.comp = NewComponent(countingListener{ln, f.read}, New(cfg), ccfg)
	go func() { f.stopped <- f.comp.Run() }()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		f.comp.Interrupt(nil)
		<-f.stopped
	})
	f.client, f.health = inferencepb.NewGRPCInferenceServiceClient(conn), healthpb.NewHealthClient(conn)
	return f
}

func tensor(name, dt string, shape []int64, c *inferencepb.InferTensorContents) *inferencepb.ModelInferRequest_InferInputTensor {
	return &inferencepb.ModelInferRequest_InferInputTensor{Name: name, Datatype: dt, Shape: shape, Contents: c}
}

var seedRow = []float64{5.1, 3.5, 1.4, 0.2}

func TestHealthAndMetadata(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	if r, err := f.client.ServerLive(ctx, &inferencepb.ServerLiveRequest{}); err != nil || !r.Live {
		t.Errorf("live: %v %v", r, err)
	}
	if r, err := f.client.ServerReady(ctx, &inferencepb.ServerReadyRequest{}); err != nil || !r.Ready {
		t.Errorf("ready: %v %v", r, err)
	}
	md, err := f.client.ServerMetadata(ctx, &inferencepb.ServerMetadataRequest{})
	if err != nil || md.Name != "modelferry-predictor" || md.Version != "v9" || !slices.Equal(md.Extensions, []string{"model_repository"}) {
		t.Errorf("server metadata: %v %v", md, err)
	}
	mm, err := f.client.ModelMetadata(ctx, &inferencepb.ModelMetadataRequest{Name: "iris"})
	if err != nil || mm.Name != "iris" || !slices.Equal(mm.Versions, []string{version}) || len(mm.Inputs) != 1 ||
		!slices.Equal(mm.Inputs[0].Shape, []int64{-1, 4}) || len(mm.Outputs) != 3 || mm.Outputs[2].Datatype != "FP64" {
		t.Errorf("model metadata: %v %v", mm, err)
	}
	for _, tc := range []struct {
		name, version string
		ready         bool
		code          codes.Code
	}{
		{"iris", "", true, codes.OK},
		{"iris", version, true, codes.OK},
		{"iris", "20200101T000000Z-00000000", false, codes.NotFound},
		{"pending", "", false, codes.OK},
		{"nope", "", false, codes.NotFound},
	} {
		r, err := f.client.ModelReady(ctx, &inferencepb.ModelReadyRequest{Name: tc.name, Version: tc.version})
		if status.Code(err) != tc.code || r.GetReady() != tc.ready {
			t.Errorf("ModelReady(%s, %q): %v, %v", tc.name, tc.version, r, err)
		}
	}
	for _, tc := range []struct {
		name string
		code codes.Code
		msg  string
	}{
		{"nope", codes.NotFound, `model "nope" is not served: this predictor serves iris, pending`},
		{"pending", codes.Unavailable, `model "pending" is not loaded yet: waiting for pending@production`},
	} {
		_, err := f.client.ModelMetadata(ctx, &inferencepb.ModelMetadataRequest{Name: tc.name})
		if st := status.Convert(err); st.Code() != tc.code || !strings.Contains(st.Message(), tc.msg) {
			t.Errorf("metadata of %s: %v", tc.name, err)
		}
	}
	// The health service follows readiness.
	for _, want := range []healthpb.HealthCheckResponse_ServingStatus{healthpb.HealthCheckResponse_SERVING, healthpb.HealthCheckResponse_NOT_SERVING} {
		f.ready.Store(want == healthpb.HealthCheckResponse_SERVING)
		deadline := time.Now().Add(10 * time.Second)
		for {
			r, err := f.health.Check(ctx, &healthpb.HealthCheckRequest{Service: "inference.GRPCInferenceService"})
			if err == nil && r.Status == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("health never became %v: %v %v", want, r, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestInferForms answers the same rows in each of the protocol's forms:
// contents of each datatype, raw contents, one input per feature, and
// checks every output against the model's own answer.
func TestInferForms(t *testing.T) {
	f := start(t)
	p := make([]float64, 3)
	want := f.iris
	k, err := want.Predict(seedRow, p)
	if err != nil {
		t.Fatal(err)
	}
	raw := func(size int, put func(b []byte, v float64)) []byte {
		b := make([]byte, 4*size)
		for i, v := range seedRow {
			put(b[i*size:], v)
		}
		return b
	}
	le := binary.LittleEndian
	for _, tc := range []struct {
		name string
		req  *inferencepb.ModelInferRequest
		// integral rows answer another class: only the shape is checked.
		exact bool
	}{
		{"FP64 contents", &inferencepb.ModelInferRequest{Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{
			tensor("input", "FP64", []int64{1, 4}, &inferencepb.InferTensorContents{Fp64Contents: seedRow})}}, true},
		{"FP64 contents, shape [F]", &inferencepb.ModelInferRequest{Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{
			tensor("input", "FP64", []int64{4}, &inferencepb.InferTensorContents{Fp64Contents: seedRow})}}, true},
		{"FP32 contents", &inferencepb.ModelInferRequest{Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{
			tensor("input", "FP32", []int64{1, 4}, &inferencepb.InferTensorContents{Fp32Contents: []float32{5.1, 3.5, 1.4, 0.2}})}}, false},
		{"INT32 contents", &inferencepb.ModelInferRequest{Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{
			tensor("input", "INT32", []int64{1, 4}, &inferencepb.InferTensorContents{IntContents: []int32{5, 3, 1, 0}})}}, false},
		{"UINT64 contents", &inferencepb.ModelInferRequest{Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{
			tensor("input", "UINT64", []int64{1, 4}, &inferencepb.InferTensorContents{Uint64Contents: []uint64{5, 3, 1, 0}})}}, false},
		{"BOOL contents", &inferencepb.ModelInferRequest{Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{
			tensor("input", "BOOL", []int64{1, 4}, &inferencepb.InferTensorContents{BoolContents: []bool{true, false, true, true}})}}, false},
		{"one input per feature", &inferencepb.ModelInferRequest{Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{
			tensor("petal_width", "FP64", []int64{1}, &inferencepb.InferTensorContents{Fp64Contents: []float64{0.2}}),
			tensor("sepal_length", "FP64", []int64{1, 1}, &inferencepb.InferTensorContents{Fp64Contents: []float64{5.1}}),
			tensor("sepal_width", "FP64", []int64{1}, &inferencepb.InferTensorContents{Fp64Contents: []float64{3.5}}),
			tensor("petal_length", "FP64", []int64{1}, &inferencepb.InferTensorContents{Fp64Contents: []float64{1.4}})}}, true},
		{"raw FP64", &inferencepb.ModelInferRequest{Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{tensor("input", "FP64", []int64{1, 4}, nil)},
			RawInputContents: [][]byte{raw(8, func(b []byte, v float64) { le.PutUint64(b, math.Float64bits(v)) })}}, true},
		{"raw FP32", &inferencepb.ModelInferRequest{Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{tensor("input", "FP32", []int64{1, 4}, nil)},
			RawInputContents: [][]byte{raw(4, func(b []byte, v float64) { le.PutUint32(b, math.Float32bits(float32(v))) })}}, false},
		{"raw INT16", &inferencepb.ModelInferRequest{Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{tensor("input", "INT16", []int64{1, 4}, nil)},
			RawInputContents: [][]byte{raw(2, func(b []byte, v float64) { le.PutUint16(b, uint16(int16(v))) })}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.ModelName, tc.req.Id = "iris", "42"
			resp, err := f.client.ModelInfer(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.ModelName != "iris" || resp.ModelVersion != version || resp.Id != "42" || len(resp.Outputs) != 3 {
				t.Fatalf("answer %v", resp)
			}
			rawOut := len(tc.req.RawInputContents) > 0
			if rawOut != (len(resp.RawOutputContents) == 3) {
				t.Fatalf("raw in %v, raw out %d", rawOut, len(resp.RawOutputContents))
			}
			label, id, probs := outputs(t, resp)
			if !slices.Equal(resp.Outputs[2].Shape, []int64{1, 3}) || len(probs) != 3 || len(label) != 1 || len(id) != 1 {
				t.Fatalf("outputs %v", resp.Outputs)
			}
			if tc.exact && (label[0] != want.Classes[k] || id[0] != int64(k) || !slices.Equal(probs, p)) {
				t.Errorf("answered %s %d %v, the model %s %d %v", label[0], id[0], probs, want.Classes[k], k, p)
			}
		})
	}
}

// outputs reads label, class_id and probabilities from contents or raw.
func outputs(t *testing.T, resp *inferencepb.ModelInferResponse) (labels []string, ids []int64, probs []float64) {
	t.Helper()
	le := binary.LittleEndian
	for i, o := range resp.Outputs {
		if len(resp.RawOutputContents) == 0 {
			c := o.Contents
			for _, b := range c.BytesContents {
				labels = append(labels, string(b))
			}
			ids, probs = append(ids, c.Int64Contents...), append(probs, c.Fp64Contents...)
			continue
		}
		b := resp.RawOutputContents[i]
		switch o.Name {
		case "label":
			for len(b) > 0 {
				n := le.Uint32(b)
				labels, b = append(labels, string(b[4:4+n])), b[4+n:]
			}
		case "class_id":
			for ; len(b) > 0; b = b[8:] {
				ids = append(ids, int64(le.Uint64(b)))
			}
		case "probabilities":
			for ; len(b) > 0; b = b[8:] {
				probs = append(probs, math.Float64frombits(le.Uint64(b)))
			}
		}
	}
	return labels, ids, probs
}

func TestInferErrors(t *testing.T) {
	f := start(t)
	fp64 := func(v ...float64) *inferencepb.InferTensorContents {
		return &inferencepb.InferTensorContents{Fp64Contents: v}
	}
	one := func(in ...*inferencepb.ModelInferRequest_InferInputTensor) *inferencepb.ModelInferRequest {
		return &inferencepb.ModelInferRequest{ModelName: "iris", Inputs: in}
	}
	for _, tc := range []struct {
		name string
		req  *inferencepb.ModelInferRequest
		code codes.Code
		msg  string
	}{
		{"unknown model", &inferencepb.ModelInferRequest{ModelName: "nope"}, codes.NotFound, `model "nope" is not served`},
		{"no model name", &inferencepb.ModelInferRequest{}, codes.NotFound, "name a model"},
		{"model not loaded", &inferencepb.ModelInferRequest{ModelName: "pending"}, codes.Unavailable, "not loaded yet"},
		{"other version", &inferencepb.ModelInferRequest{ModelName: "iris", ModelVersion: "20200101T000000Z-00000000"}, codes.NotFound, "is not served: the loaded version is"},
		{"no inputs", one(), codes.InvalidArgument, "inputs: empty"},
		{"shape", one(tensor("input", "FP64", []int64{1, 3}, fp64(1, 2, 3))), codes.InvalidArgument, `input "input": shape [1,3] does not match [N, 4] or [4]`},
		{"too few values", one(tensor("input", "FP64", []int64{2, 4}, fp64(1, 2, 3, 4))), codes.InvalidArgument, "2 rows of 4 features need 8 values; the request holds at most 4"},
		{"too many values", one(tensor("input", "FP64", []int64{1, 4}, fp64(1, 2, 3, 4, 5))), codes.InvalidArgument, "5 values in contents, its shape needs 4"},
		{"wrong contents field", one(tensor("input", "FP64", []int64{1, 4}, &inferencepb.InferTensorContents{Fp32Contents: []float32{1, 2, 3, 4}})), codes.InvalidArgument, "contents of FP64 go in fp64_contents"},
		{"two contents fields", one(tensor("input", "FP64", []int64{1, 4}, &inferencepb.InferTensorContents{Fp64Contents: []float64{1, 2, 3, 4}, IntContents: []int32{1}})), codes.InvalidArgument, "5 values in contents"},
		{"NaN", one(tensor("input", "FP64", []int64{1, 4}, fp64(1, math.NaN(), 3, 4))), codes.InvalidArgument, "value 1 is NaN or infinite"},
		{"INT8 range", one(tensor("input", "INT8", []int64{1, 4}, &inferencepb.InferTensorContents{IntContents: []int32{1, 200, 3, 4}})), codes.InvalidArgument, "value 1 is out of range for INT8"},
		{"INT64 beyond 2^53", one(tensor("input", "INT64", []int64{1, 4}, &inferencepb.InferTensorContents{Int64Contents: []int64{1, 1<<53 + 1, 3, 4}})), codes.InvalidArgument, "integers up to 2^53"},
		{"datatype", one(tensor("input", "BYTES", []int64{1, 4}, nil)), codes.InvalidArgument, `datatype "BYTES" is not supported`},
		{"rows over limit", one(tensor("input", "FP64", []int64{6, 4}, fp64(make([]float64, 24)...))), codes.ResourceExhausted, "6 rows exceed the limit of 5"},
		{"raw count", &inferencepb.ModelInferRequest{ModelName: "iris", Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{tensor("input", "FP64", []int64{1, 4}, nil)},
			RawInputContents: [][]byte{{1}, {2}}}, codes.InvalidArgument, "raw_input_contents: 2 entries for 1 inputs"},
		{"raw size", &inferencepb.ModelInferRequest{ModelName: "iris", Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{tensor("input", "FP64", []int64{1, 4}, nil)},
			RawInputContents: [][]byte{make([]byte, 33)}}, codes.InvalidArgument, "raw contents of 33 bytes; its shape needs 4 values of 8 bytes"},
		{"raw too short", &inferencepb.ModelInferRequest{ModelName: "iris", Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{tensor("input", "FP64", []int64{1, 4}, nil)},
			RawInputContents: [][]byte{make([]byte, 24)}}, codes.InvalidArgument, "1 rows of 4 features need 4 values; the request holds at most 3"},
		{"raw and contents", &inferencepb.ModelInferRequest{ModelName: "iris", Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{tensor("input", "FP64", []int64{1, 4}, fp64(1, 2, 3, 4))},
			RawInputContents: [][]byte{make([]byte, 32)}}, codes.InvalidArgument, "contents given with raw_input_contents"},
		{"unknown output", &inferencepb.ModelInferRequest{ModelName: "iris", Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{tensor("input", "FP64", []int64{1, 4}, fp64(1, 2, 3, 4))},
			Outputs: []*inferencepb.ModelInferRequest_InferRequestedOutputTensor{{Name: "logits"}}}, codes.InvalidArgument, `output "logits": unknown`},
		{"values too large for the model", one(tensor("input", "FP64", []int64{1, 4}, fp64(1e308, -1e308, 3, 4))), codes.InvalidArgument, "row 0: values too large for the model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.client.ModelInfer(context.Background(), tc.req)
			if st := status.Convert(err); st.Code() != tc.code || !strings.Contains(st.Message(), tc.msg) {
				t.Errorf("%v, want %v with %q", err, tc.code, tc.msg)
			}
		})
	}
	// An output asked for comes alone.
	resp, err := f.client.ModelInfer(context.Background(), &inferencepb.ModelInferRequest{ModelName: "iris",
		Inputs:  []*inferencepb.ModelInferRequest_InferInputTensor{tensor("input", "FP64", []int64{1, 4}, fp64(seedRow...))},
		Outputs: []*inferencepb.ModelInferRequest_InferRequestedOutputTensor{{Name: "class_id"}}})
	if err != nil || len(resp.Outputs) != 1 || resp.Outputs[0].Name != "class_id" {
		t.Errorf("one output: %v %v", resp, err)
	}
}

// TestGracefulStop: health says NOT_SERVING first, then the server stops
// taking calls while one in flight finishes.
func TestGracefulStop(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	f.comp.Interrupt(nil)
	r, err := f.health.Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || r.Status != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("health while draining: %v %v", r, err)
	}
	if _, err := f.client.ServerLive(ctx, &inferencepb.ServerLiveRequest{}); err != nil {
		t.Errorf("calls during the drain delay: %v", err)
	}
	select {
	case err := <-f.stopped:
		if err != nil {
			t.Errorf("run: %v", err)
		}
		f.stopped <- nil // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not stop")
	}
}
