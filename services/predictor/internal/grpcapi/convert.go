package grpcapi

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/modelferry/modelferry/pkg/inferencepb"
	"github.com/modelferry/modelferry/pkg/modelstore/names"
	"github.com/modelferry/modelferry/pkg/serving"
	"github.com/modelferry/modelferry/services/predictor/internal/oip"
)

// Every conversion between the protocol's messages and the model's rows.

func metadata(md oip.Metadata) *inferencepb.ModelMetadataResponse {
	tensors := func(ts []oip.Tensor) []*inferencepb.ModelMetadataResponse_TensorMetadata {
		out := make([]*inferencepb.ModelMetadataResponse_TensorMetadata, len(ts))
		for i, t := range ts {
			out[i] = &inferencepb.ModelMetadataResponse_TensorMetadata{Name: t.Name, Datatype: t.Datatype, Shape: t.Shape}
		}
		return out
	}
	return &inferencepb.ModelMetadataResponse{Name: md.Name, Versions: md.Versions, Platform: md.Platform,
		Inputs: tensors(md.Inputs), Outputs: tensors(md.Outputs)}
}

// decode places the request's inputs in sc.X and returns the rows and the
// outputs asked for (none: all).
func decode(m *serving.Model, req *inferencepb.ModelInferRequest, maxRows int, sc *serving.Scratch) (int, []serving.Output, error) {
	inputs, raw := req.GetInputs(), req.GetRawInputContents()
	if len(inputs) == 0 {
		return 0, nil, &serving.InputError{Field: "inputs", Msg: "empty; send " + m.InputsHint()}
	}
	if len(raw) > 0 && len(raw) != len(inputs) {
		return 0, nil, &serving.InputError{Field: "raw_input_contents", Msg: fmt.Sprintf("%d entries for %d inputs: one per input, in order", len(raw), len(inputs))}
	}
	known := func(t *inferencepb.ModelInferRequest_InferInputTensor) bool {
		return slices.Contains(m.Features, t.GetName())
	}
	if m.Tabular() && len(inputs) < len(m.Features) && !slices.ContainsFunc(inputs, func(t *inferencepb.ModelInferRequest_InferInputTensor) bool { return !known(t) }) {
		// Named before the values are counted against the shapes; an
		// unknown input is named by Place.
		for _, f := range m.Features {
			if !slices.ContainsFunc(inputs, func(t *inferencepb.ModelInferRequest_InferInputTensor) bool { return t.GetName() == f }) {
				return 0, nil, &serving.InputError{Field: "input " + names.Quote(f), Msg: "missing; send " + m.InputsHint()}
			}
		}
	}
	dts := make([]serving.Datatype, len(inputs))
	total := 0
	for i, t := range inputs {
		dt, ok := serving.ParseDatatype(t.GetDatatype())
		if !ok && m.Tabular() && t.GetDatatype() == "BYTES" {
			dt, ok = serving.BYTES, true
		}
		if !ok {
			return 0, nil, inputErr(t, "datatype %s is not supported; use FP32, FP64, INT8 to INT64, UINT8 to UINT64 or BOOL", names.Quote(t.GetDatatype()))
		}
		dts[i] = dt
		if len(raw) > 0 {
			if t.GetContents() != nil {
				return 0, nil, inputErr(t, "contents given with raw_input_contents: use one or the other")
			}
			total += len(raw[i]) / rawSize(dt)
		} else {
			total += count(t.GetContents())
		}
	}
	in := m.NewInputs(maxRows, total, sc)
	for i, t := range inputs {
		target, err := in.Place(i, t.GetName(), t.GetShape(), dts[i])
		if err != nil {
			return 0, nil, err
		}
		switch {
		case dts[i] == serving.BYTES && len(raw) > 0:
			err = textFromRaw(&in, target, raw[i])
		case dts[i] == serving.BYTES:
			err = textFromContents(&in, target, t.GetContents())
		case len(raw) > 0:
			err = fromRaw(&in, target, dts[i], raw[i])
		default:
			err = fromContents(&in, target, dts[i], t.GetContents())
		}
		if err != nil {
			return 0, nil, fieldError(t, err)
		}
	}
	rows, err := in.Finish()
	if err != nil {
		return 0, nil, err
	}
	var outputs []serving.Output
	for _, o := range req.GetOutputs() {
		out, ok := serving.OutputByName(o.GetName())
		switch {
		case !ok:
			return 0, nil, &serving.InputError{Field: "output " + names.Quote(o.GetName()), Msg: "unknown; this model has label, class_id, probabilities"}
		case slices.Contains(outputs, out):
			return 0, nil, &serving.InputError{Field: "output " + names.Quote(o.GetName()), Msg: "asked more than once"}
		}
		outputs = append(outputs, out)
	}
	return rows, outputs, nil
}

func inputErr(t *inferencepb.ModelInferRequest_InferInputTensor, format string, args ...any) error {
	return &serving.InputError{Field: "input " + names.Quote(t.GetName()), Msg: fmt.Sprintf(format, args...)}
}

func fieldError(t *inferencepb.ModelInferRequest_InferInputTensor, err error) error {
	if ie, ok := err.(*serving.InputError); ok && ie.Field == "" {
		ie.Field = "input " + names.Quote(t.GetName())
	}
	return err
}

// count is how many values contents hold, in whichever field.
func count(c *inferencepb.InferTensorContents) int {
	return len(c.GetBoolContents()) + len(c.GetIntContents()) + len(c.GetInt64Contents()) + len(c.GetUintContents()) +
		len(c.GetUint64Contents()) + len(c.GetFp32Contents()) + len(c.GetFp64Contents()) + len(c.GetBytesContents())
}

// field names the contents field a datatype's values go in.
func field(dt serving.Datatype) string {
	switch dt {
	case serving.BOOL:
		return "bool_contents"
	case serving.INT8, serving.INT16, serving.INT32:
		return "int_contents"
	case serving.INT64:
		return "int64_contents"
	case serving.UINT8, serving.UINT16, serving.UINT32:
		return "uint_contents"
	case serving.UINT64:
		return "uint64_contents"
	case serving.FP32:
		return "fp32_contents"
	case serving.BYTES:
		return "bytes_contents"
	}
	return "fp64_contents"
}

// fromContents writes the values of the datatype's contents field.
func fromContents(x *serving.Inputs, t serving.Target, dt serving.Datatype, c *inferencepb.InferTensorContents) error {
	var n int
	var err error
	switch f := field(dt); f {
	case "bool_contents":
		n, err = put(x, t, c.GetBoolContents(), func(v bool) (float64, string) {
			if v {
				return 1, ""
			}
			return 0, ""
		})
	case "int_contents":
		n, err = put(x, t, c.GetIntContents(), func(v int32) (float64, string) { return float64(v), dt.Check(float64(v)) })
	case "int64_contents":
		n, err = put(x, t, c.GetInt64Contents(), func(v int64) (float64, string) { return float64(v), checkInt(dt, v) })
	case "uint_contents":
		n, err = put(x, t, c.GetUintContents(), func(v uint32) (float64, string) { return float64(v), dt.Check(float64(v)) })
	case "uint64_contents":
		n, err = put(x, t, c.GetUint64Contents(), func(v uint64) (float64, string) {
			if v > 1<<53 {
				return 0, "is out of the range a model reads exactly (integers up to 2^53)"
			}
			return float64(v), ""
		})
	case "fp32_contents":
		n, err = put(x, t, c.GetFp32Contents(), func(v float32) (float64, string) { return float64(v), checkFloat(t, float64(v)) })
	default:
		n, err = put(x, t, c.GetFp64Contents(), func(v float64) (float64, string) { return v, checkFloat(t, v) })
	}
	if err != nil {
		return err
	}
	if n == 0 && count(c) > 0 {
		return &serving.InputError{Msg: fmt.Sprintf("contents of %s go in %s", dt, field(dt))}
	}
	if n != t.N || count(c) != n {
		return &serving.InputError{Msg: fmt.Sprintf("%d values in contents, its shape needs %d (in %s)", count(c), t.N, field(dt))}
	}
	return nil
}

// put writes vals to x as conv makes them, and returns how many there
// are; conv says why a value is refused.
func put[T any](x *serving.Inputs, t serving.Target, vals []T, conv func(T) (float64, string)) (int, error) {
	if len(vals) != t.N {
		return len(vals), nil
	}
	for i, v := range vals {
		f, why := conv(v)
		if why != "" {
			return 0, &serving.InputError{Msg: "value " + strconv.Itoa(i) + " " + why}
		}
		if err := x.Set(t, i, f); err != nil {
			return 0, err
		}
	}
	return len(vals), nil
}

func checkInt(dt serving.Datatype, v int64) string {
	lo, hi, _ := dt.Integer()
	if v < int64(lo) || v > int64(hi) {
		return "is out of the range a model reads exactly (integers up to 2^53)"
	}
	return ""
}

// checkFloat refuses NaN and infinities, but NaN where it is missing
// (a tabular model's column; Set refuses infinities there).
func checkFloat(t serving.Target, v float64) string {
	if t.Missing() {
		return ""
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "is NaN or infinite: not a number a model can use"
	}
	return ""
}

// fromRaw reads little-endian values of the datatype from b.
func fromRaw(x *serving.Inputs, t serving.Target, dt serving.Datatype, b []byte) error {
	size := dt.Size()
	if len(b) != t.N*size {
		return &serving.InputError{Msg: fmt.Sprintf("raw contents of %d bytes; its shape needs %d values of %d bytes (%s)", len(b), t.N, size, dt)}
	}
	le := binary.LittleEndian
	for i := range t.N {
		e := b[i*size : (i+1)*size]
		var v float64
		why := ""
		switch dt {
		case serving.BOOL:
			if e[0] > 1 {
				why = "is not a BOOL (0 or 1)"
			}
			v = float64(e[0])
		case serving.INT8:
			v = float64(int8(e[0]))
		case serving.UINT8:
			v = float64(e[0])
		case serving.INT16:
			v = float64(int16(le.Uint16(e)))
		case serving.UINT16:
			v = float64(le.Uint16(e))
		case serving.INT32:
			v = float64(int32(le.Uint32(e)))
		case serving.UINT32:
			v = float64(le.Uint32(e))
		case serving.INT64:
			n := int64(le.Uint64(e))
			v, why = float64(n), checkInt(dt, n)
		case serving.UINT64:
			n := le.Uint64(e)
			if v = float64(n); n > 1<<53 {
				why = "is out of the range a model reads exactly (integers up to 2^53)"
			}
		case serving.FP32:
			v = float64(math.Float32frombits(le.Uint32(e)))
			why = checkFloat(t, v)
		default:
			v = math.Float64frombits(le.Uint64(e))
			why = checkFloat(t, v)
		}
		if why != "" {
			return &serving.InputError{Msg: "raw value " + strconv.Itoa(i) + " " + why}
		}
		if err := x.Set(t, i, v); err != nil {
			return err
		}
	}
	return nil
}

// rawSize is the fewest bytes an element takes in raw contents: a BYTES
// element has at least its 4-byte length.
func rawSize(dt serving.Datatype) int {
	if dt == serving.BYTES {
		return 4
	}
	return dt.Size()
}

// textFromContents writes the strings of bytes_contents ("" is missing).
func textFromContents(x *serving.Inputs, t serving.Target, c *inferencepb.InferTensorContents) error {
	vals := c.GetBytesContents()
	if len(vals) != t.N || count(c) != len(vals) {
		return &serving.InputError{Msg: fmt.Sprintf("%d values in contents, its shape needs %d (in bytes_contents)", count(c), t.N)}
	}
	for i, v := range vals {
		x.SetText(t, i, v)
	}
	return nil
}

// textFromRaw reads BYTES raw contents: each element a 4-byte
// little-endian length, then that many bytes.
func textFromRaw(x *serving.Inputs, t serving.Target, b []byte) error {
	for i := range t.N {
		if len(b) < 4 {
			return &serving.InputError{Msg: fmt.Sprintf("raw contents end at element %d; its shape needs %d, each a 4-byte little-endian length then the bytes", i, t.N)}
		}
		n := binary.LittleEndian.Uint32(b)
		if uint64(n) > uint64(len(b)-4) {
			return &serving.InputError{Msg: fmt.Sprintf("raw element %d: length %d runs past the %d bytes left", i, n, len(b)-4)}
		}
		x.SetText(t, i, b[4:4+n])
		b = b[4+n:]
	}
	if len(b) > 0 {
		return &serving.InputError{Msg: fmt.Sprintf("raw contents: %d bytes after the %d elements its shape holds", len(b), t.N)}
	}
	return nil
}

// encode answers rows predicted: outputs as contents, or as
// raw_output_contents when the request sent raw inputs.
func encode(m *serving.Model, req *inferencepb.ModelInferRequest, outputs []serving.Output, a *serving.Answers) *inferencepb.ModelInferResponse {
	rows, classes, p := len(a.Classes), a.Classes, a.P
	resp := &inferencepb.ModelInferResponse{ModelName: m.Name, ModelVersion: m.Version, Id: req.GetId()}
	raw := len(req.GetRawInputContents()) > 0
	if len(outputs) == 0 {
		outputs = []serving.Output{serving.OutputLabel, serving.OutputClassID, serving.OutputProbabilities}
	}
	le := binary.LittleEndian
	for _, o := range outputs {
		t := &inferencepb.ModelInferResponse_InferOutputTensor{Name: o.String(), Shape: []int64{int64(rows)}}
		var b []byte
		switch o {
		case serving.OutputLabel:
			t.Datatype = "BYTES"
			if raw {
				for _, c := range classes[:rows] {
					b = le.AppendUint32(b, uint32(len(m.ClassBytes(c))))
					b = append(b, m.ClassBytes(c)...)
				}
				break
			}
			labels := make([][]byte, rows)
			for i, c := range classes[:rows] {
				labels[i] = m.ClassBytes(c)
			}
			t.Contents = &inferencepb.InferTensorContents{BytesContents: labels}
		case serving.OutputClassID:
			t.Datatype = "INT64"
			if raw {
				for _, c := range classes[:rows] {
					b = le.AppendUint64(b, uint64(c))
				}
				break
			}
			ids := make([]int64, rows)
			for i, c := range classes[:rows] {
				ids[i] = int64(c)
			}
			t.Contents = &inferencepb.InferTensorContents{Int64Contents: ids}
		case serving.OutputProbabilities:
			t.Datatype = "FP64"
			t.Shape = append(t.Shape, int64(m.NumClasses()))
			probs := p[:rows*m.NumClasses()]
			if raw {
				b = make([]byte, 0, 8*len(probs))
				for _, v := range probs {
					b = le.AppendUint64(b, math.Float64bits(v))
				}
				break
			}
			// p goes back to the pool before the answer is sent.
			t.Contents = &inferencepb.InferTensorContents{Fp64Contents: slices.Clone(probs)}
		}
		resp.Outputs = append(resp.Outputs, t)
		if raw {
			resp.RawOutputContents = append(resp.RawOutputContents, b)
		}
	}
	return resp
}
