package grpcapi

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/modelferry/modelferry/pkg/artifact"
	"github.com/modelferry/modelferry/pkg/inferencepb"
	"github.com/modelferry/modelferry/pkg/serving"
	"github.com/modelferry/modelferry/pkg/tabular"
	"github.com/modelferry/modelferry/pkg/testmodel"
)

type inputs = []*inferencepb.ModelInferRequest_InferInputTensor

// tableFixture serves a model of raw records, and gives its golden's
// test rows as /predict records and as one gRPC input per column
// (NaN and "" for missing), in contents and in raw contents.
func tableFixture(t *testing.T) (f *fixture, m *serving.Model, records string, contents, raw inputs, rawBytes [][]byte) {
	b, g := testmodel.Table(t, "iris", version)
	am, err := artifact.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if m, err = serving.New(am, "abc", nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	f = startWith(t, func(c *Config, _ *ComponentConfig) { c.Models, c.MaxBatch = models{m}, 1000 })
	n := int64(len(g.Test.Rows))
	objects := make([]map[string]any, n)
	for i := range objects {
		objects[i] = map[string]any{}
	}
	// Columns in another order than the model's.
	for _, col := range []string{"city", "age", "color", "income"} {
		j := slices.Index(g.Test.Header, col)
		numeric := col == "age" || col == "income"
		var nums []float64
		var texts [][]byte
		var rb []byte
		for i, rec := range g.Test.Rows {
			v := rec[j]
			missing := slices.Contains(tabular.DefaultNAValues(), v)
			switch {
			case missing:
				objects[i][col] = nil
			case numeric:
				x, err := strconv.ParseFloat(v, 64)
				if err != nil {
					t.Fatal(err)
				}
				objects[i][col] = x
			default:
				objects[i][col] = v
			}
			if numeric {
				x := math.NaN()
				if !missing {
					x = objects[i][col].(float64)
				}
				nums = append(nums, x)
				rb = binary.LittleEndian.AppendUint64(rb, math.Float64bits(x))
				continue
			}
			cell := ""
			if !missing {
				cell = v
			}
			texts = append(texts, []byte(cell))
			rb = binary.LittleEndian.AppendUint32(rb, uint32(len(cell)))
			rb = append(rb, cell...)
		}
		dt, c := "FP64", &inferencepb.InferTensorContents{Fp64Contents: nums}
		if !numeric {
			dt, c = "BYTES", &inferencepb.InferTensorContents{BytesContents: texts}
		}
		contents = append(contents, tensor(col, dt, []int64{n}, c))
		raw = append(raw, tensor(col, dt, []int64{n, 1}, nil))
		rawBytes = append(rawBytes, rb)
	}
	js, err := json.Marshal(map[string]any{"instances": objects})
	if err != nil {
		t.Fatal(err)
	}
	return f, m, string(js), contents, raw, rawBytes
}

// TestTabularModelInfer: the golden's test rows through gRPC, as
// contents and as raw contents, score exactly as /predict scores the
// same records; the metadata lists one input per column.
func TestTabularModelInfer(t *testing.T) {
	f, m, records, contents, raw, rawBytes := tableFixture(t)
	var sc serving.Scratch
	req, err := m.DecodePredict([]byte(records), 10_000, &sc)
	if err != nil {
		t.Fatal(err)
	}
	w, k := m.NumFeatures(), m.NumClasses()
	want := make([]float64, req.Rows*k)
	for i := range req.Rows {
		if _, err := m.Score(req.X[i*w:(i+1)*w], want[i*k:(i+1)*k]); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	t.Run("contents", func(t *testing.T) {
		resp, err := f.client.ModelInfer(ctx, &inferencepb.ModelInferRequest{ModelName: "iris", Inputs: contents,
			Outputs: []*inferencepb.ModelInferRequest_InferRequestedOutputTensor{{Name: "probabilities"}}})
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Outputs[0].GetContents().GetFp64Contents(); !slices.Equal(got, want) {
			t.Errorf("probabilities %v\n/predict gives %v", got, want)
		}
	})
	t.Run("raw contents", func(t *testing.T) {
		resp, err := f.client.ModelInfer(ctx, &inferencepb.ModelInferRequest{ModelName: "iris", Inputs: raw, RawInputContents: rawBytes,
			Outputs: []*inferencepb.ModelInferRequest_InferRequestedOutputTensor{{Name: "probabilities"}}})
		if err != nil {
			t.Fatal(err)
		}
		b := resp.GetRawOutputContents()[0]
		got := make([]float64, len(b)/8)
		for i := range got {
			got[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[i*8:]))
		}
		if !slices.Equal(got, want) {
			t.Errorf("probabilities %v\n/predict gives %v", got, want)
		}
	})
	md, err := f.client.ModelMetadata(ctx, &inferencepb.ModelMetadataRequest{Name: "iris"})
	if err != nil || len(md.Inputs) != 4 || md.Inputs[2].Datatype != "BYTES" {
		t.Errorf("metadata %v, %v", md, err)
	}
}

func TestTabularModelBadInputs(t *testing.T) {
	f, _, _, contents, raw, rawBytes := tableFixture(t)
	n := contents[0].Shape[0]
	fp := func(name string, vals ...float64) *inferencepb.ModelInferRequest_InferInputTensor {
		return tensor(name, "FP64", []int64{int64(len(vals))}, &inferencepb.InferTensorContents{Fp64Contents: vals})
	}
	with := func(replace int, in *inferencepb.ModelInferRequest_InferInputTensor) inputs {
		out := slices.Clone(contents)
		if replace < 0 {
			return append(out, in)
		}
		out[replace] = in
		return out
	}
	cut := func(i, drop int) [][]byte {
		out := slices.Clone(rawBytes)
		out[i] = out[i][:len(out[i])-drop]
		return out
	}
	str := func(name string, vals ...string) *inferencepb.ModelInferRequest_InferInputTensor {
		b := make([][]byte, len(vals))
		for i, v := range vals {
			b[i] = []byte(v)
		}
		return tensor(name, "BYTES", []int64{int64(len(vals))}, &inferencepb.InferTensorContents{BytesContents: b})
	}
	one := inputs{str("city", "Paris"), fp("age", 30), str("color", ""), fp("income", math.NaN())}
	inf := make([]float64, n)
	inf[3] = math.Inf(1)
	for _, tc := range []struct {
		name   string
		inputs inputs
		raw    [][]byte
		want   string
	}{
		{"unknown input", with(-1, fp("agee", 1)), nil, `input "agee": unknown input; the model takes one input per column (age, income, color, city)`},
		{"one row", one, nil, ""},
		{"missing input", one[1:], nil, `input "city": missing; send one input per column`},
		{"a shape over the values sent", with(0, tensor("city", "BYTES", []int64{3 * n}, &inferencepb.InferTensorContents{BytesContents: make([][]byte, n)})), nil, `input "city": 240 rows of 4 columns need 960 values; the request holds at most 320`},
		{"the tensor form", inputs{tensor("input", "FP64", []int64{1, 4}, &inferencepb.InferTensorContents{Fp64Contents: []float64{1, 2, 3, 4}})}, nil, `input "input": unknown input`},
		{"FP64 for a categorical column", with(0, fp("city", make([]float64, n)...)), nil, `column "city" is categorical: send it as BYTES`},
		{"BYTES for a numeric column", with(1, tensor("age", "BYTES", []int64{n}, &inferencepb.InferTensorContents{BytesContents: make([][]byte, n)})), nil, `column "age" is numeric`},
		{"an infinite number", with(1, fp("age", inf...)), nil, `input "age": value 3 is infinite`},
		{"more strings than the shape", inputs{fp("age", 1, 2, 3), fp("income", 1, 2, 3), str("color", "a", "b", "c"), tensor("city", "BYTES", []int64{3}, &inferencepb.InferTensorContents{BytesContents: make([][]byte, 4)})}, nil, `input "city": 4 values in contents, its shape needs 3`},
		{"rows differ", inputs{fp("age", 1, 2), fp("income", 1, 2), str("color", "a", "b"), str("city", "a", "b", "c")}, nil, `input "city": 3 rows, the inputs before it have 2`},
		{"raw BYTES cut short", raw, cut(0, 1), `input "city": raw element`},
		{"raw BYTES with bytes left over", raw, append(slices.Clone(rawBytes[:0]), append(slices.Clone(rawBytes[0]), 0), rawBytes[1], rawBytes[2], rawBytes[3]), "bytes after the"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.client.ModelInfer(context.Background(), &inferencepb.ModelInferRequest{ModelName: "iris", Inputs: tc.inputs, RawInputContents: tc.raw})
			if tc.want == "" {
				if err != nil {
					t.Errorf("got %v, want an answer", err)
				}
				return
			}
			if st, _ := status.FromError(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), tc.want) {
				t.Errorf("got %v, want InvalidArgument saying %q", err, tc.want)
			}
		})
	}
}
