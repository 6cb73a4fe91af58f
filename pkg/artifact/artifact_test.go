package artifact

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/modelferry/modelferry/pkg/artifact/artifactpb"
)

func sample() *artifactpb.Model {
	return &artifactpb.Model{
		FormatVersion: FormatVersion,
		Name:          "iris",
		Version:       "20261126T221500Z-1a2b3c4d",
		FeatureNames:  []string{"sepal_length", "sepal_width"},
		ClassNames:    []string{"a", "b", "c"},
		Linear: &artifactpb.LinearModel{
			Rows: 3, Cols: 2,
			Coefficients: []float64{1, -1, 0.5, 0.25, -2, 3},
			Intercepts:   []float64{0.1, 0.2, -0.3},
		},
		Scaler:    &artifactpb.Scaler{Mean: []float64{5, 3}, Scale: []float64{0.8, 0.4}},
		Params:    &artifactpb.TrainingParams{C: 1, MaxIter: 1000, Tol: 1e-8, TestFraction: 0.2, Seed: 42, Standardize: true},
		Metrics:   &artifactpb.Metrics{MetricsOn: "test", Rows: 30, Accuracy: 0.9, LogLoss: 0.2, MacroF1: 0.88},
		Dataset:   &artifactpb.DatasetInfo{Uri: "s3://modelferry/datasets/x.csv", Sha256: "ab", Rows: 150, Features: 2, Classes: 3},
		CreatedAt: timestamppb.New(time.Date(2026, 11, 26, 22, 15, 0, 0, time.UTC)),
	}
}

func TestRoundTrip(t *testing.T) {
	b, err := Encode(sample())
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(m, sample()) {
		t.Errorf("decoded %v, want %v", m, sample())
	}
	b2, _ := Encode(sample())
	if !bytes.Equal(b, b2) {
		t.Error("encoding is not deterministic")
	}
	c, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, 3)
	c.PredictProba([]float64{5, 3}, out)
	// At the mean the standardized input is zero: logits are the intercepts.
	z := []float64{0.1, 0.2, -0.3}
	sum := math.Exp(z[0]) + math.Exp(z[1]) + math.Exp(z[2])
	for k := range out {
		if math.Abs(out[k]-math.Exp(z[k])/sum) > 1e-15 {
			t.Errorf("p[%d] = %v, want %v", k, out[k], math.Exp(z[k])/sum)
		}
	}
}

func TestBinomialShape(t *testing.T) {
	m := sample()
	m.ClassNames = []string{"no", "yes"}
	m.Linear = &artifactpb.LinearModel{Rows: 1, Cols: 2, Coefficients: []float64{1, 2}, Intercepts: []float64{0}}
	if _, err := Encode(m); err != nil {
		t.Errorf("binomial model rejected: %v", err)
	}
	m.Linear = &artifactpb.LinearModel{Rows: 2, Cols: 2, Coefficients: []float64{1, 2, 3, 4}, Intercepts: []float64{0, 0}}
	if _, err := Encode(m); !errors.Is(err, ErrCorrupt) {
		t.Errorf("2-row binomial accepted: %v", err)
	}
}

func TestInvalidModelsAreRejected(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*artifactpb.Model)
	}{
		{"no name", func(m *artifactpb.Model) { m.Name = "" }},
		{"no version", func(m *artifactpb.Model) { m.Version = "" }},
		{"format version", func(m *artifactpb.Model) { m.FormatVersion = 9 }},
		{"duplicate feature", func(m *artifactpb.Model) { m.FeatureNames = []string{"a", "a"} }},
		{"empty class name", func(m *artifactpb.Model) { m.ClassNames[1] = "" }},
		{"one class", func(m *artifactpb.Model) { m.ClassNames = []string{"a"} }},
		{"no coefficients", func(m *artifactpb.Model) { m.Linear = nil }},
		{"short coefficients", func(m *artifactpb.Model) { m.Linear.Coefficients = m.Linear.Coefficients[:5] }},
		{"wrong rows", func(m *artifactpb.Model) { m.Linear.Rows = 2 }},
		{"NaN coefficient", func(m *artifactpb.Model) { m.Linear.Coefficients[2] = math.NaN() }},
		{"Inf intercept", func(m *artifactpb.Model) { m.Linear.Intercepts[0] = math.Inf(1) }},
		{"scaler length", func(m *artifactpb.Model) { m.Scaler.Mean = []float64{1} }},
		{"empty scaler", func(m *artifactpb.Model) { m.Scaler = &artifactpb.Scaler{} }},
		{"zero scale", func(m *artifactpb.Model) { m.Scaler.Scale[0] = 0 }},
		{"NaN metric", func(m *artifactpb.Model) { m.Metrics.Accuracy = math.NaN() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := sample()
			tc.mutate(m)
			if _, err := Encode(m); !errors.Is(err, ErrCorrupt) {
				t.Errorf("Encode: %v, want ErrCorrupt", err)
			}
			// A writer that skips Encode's check is caught on read too.
			payload, _ := proto.Marshal(m)
			if _, err := Decode(envelope(payload)); !errors.Is(err, ErrCorrupt) {
				t.Errorf("Decode: %v, want ErrCorrupt", err)
			}
		})
	}
}

func envelope(payload []byte) []byte {
	sum := sha256.Sum256(payload)
	b, _ := proto.Marshal(&artifactpb.Envelope{FormatVersion: FormatVersion, Payload: payload, PayloadSha256: sum[:]})
	return b
}

func TestCorruptBytesAreRejected(t *testing.T) {
	good, err := Encode(sample())
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x40
	wrongVersion, _ := proto.Marshal(&artifactpb.Envelope{FormatVersion: 2})
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"truncated", good[:len(good)-7]},
		{"half", good[:len(good)/2]},
		{"bit flip", flipped},
		{"garbage", []byte("this is not a protobuf at all")},
		{"format version", wrongVersion},
		{"payload not a model", envelope([]byte{0xff, 0xff, 0xff})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Decode(tc.b); !errors.Is(err, ErrCorrupt) {
				t.Errorf("got %v, want ErrCorrupt", err)
			}
		})
	}
}

// FuzzDecode feeds Decode arbitrary bytes, or (seal) arbitrary payloads
// in an envelope with the right checksum, which random bytes would almost
// never carry: so the fuzzer reaches the model's own validation too.
func FuzzDecode(f *testing.F) {
	good, err := Encode(sample())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, false)
	payload, _ := proto.Marshal(sample())
	f.Add(payload, false)
	f.Add(payload, true)
	f.Add([]byte{}, false)
	f.Fuzz(func(t *testing.T, b []byte, seal bool) {
		if seal {
			sum := sha256.Sum256(b)
			b, _ = proto.Marshal(&artifactpb.Envelope{FormatVersion: FormatVersion, Payload: b, PayloadSha256: sum[:]})
		}
		m, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if _, err := Compile(m); err != nil {
			t.Fatalf("decoded model does not compile: %v", err)
		}
		// What is accepted encodes again, and reads back the same.
		again, err := Encode(m)
		if err != nil {
			t.Fatalf("decoded model does not encode: %v", err)
		}
		m2, err := Decode(again)
		if err != nil || !proto.Equal(m, m2) {
			t.Fatalf("round trip: %v\n%v\n%v", err, m, m2)
		}
	})
}

// TestGeneratedCodeIsFresh regenerates the protobuf code of proto/ (the
// artifact and the OIP gRPC service) with the pinned buf, protoc-gen-go
// and protoc-gen-go-grpc (make tools installs them) and compares it with
// what is committed.
func TestGeneratedCodeIsFresh(t *testing.T) {
	for _, tool := range []string{"buf", "protoc-gen-go", "protoc-gen-go-grpc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not on PATH: run `make tools` (or `make test`, which does)", tool)
		}
	}
	out := t.TempDir()
	cmd := exec.Command("buf", "generate", "--template", "buf.gen.yaml", "-o", filepath.Join(out, "x"))
	cmd.Dir = "../../proto"
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("buf generate: %v\n%s", err, b)
	}
	for _, file := range []string{"artifact/artifactpb/artifact.pb.go", "inferencepb/grpc_predict_v2.pb.go", "inferencepb/grpc_predict_v2_grpc.pb.go"} {
		fresh, err := os.ReadFile(filepath.Join(out, "pkg", file))
		if err != nil {
			t.Fatal(err)
		}
		committed, err := os.ReadFile("../" + file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fresh, committed) {
			t.Errorf("%s is stale: run `make generate` and commit the result", file)
		}
	}
}

func TestDecodeVersionChecksTheName(t *testing.T) {
	b, err := Encode(sample())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeVersion(b, "iris", "20261126T221500Z-1a2b3c4d"); err != nil {
		t.Fatalf("its own name: %v", err)
	}
	for _, where := range [][2]string{{"wine", "20261126T221500Z-1a2b3c4d"}, {"iris", "20261126T221500Z-00000000"}} {
		if _, err := DecodeVersion(b, where[0], where[1]); !errors.Is(err, ErrCorrupt) {
			t.Errorf("stored as %s/%s: %v, want ErrCorrupt", where[0], where[1], err)
		}
	}
}

func TestBaselineIsOptionalAndChecked(t *testing.T) {
	m := sample() // no baseline: an artifact made before monitoring existed
	if err := Validate(m); err != nil {
		t.Fatalf("without a baseline: %v", err)
	}
	good := &artifactpb.Baseline{Rows: 10,
		Features: []*artifactpb.FeatureBaseline{
			{Edges: []float64{1, 2}, Counts: []uint64{3, 3, 4}},
			{Edges: nil, Counts: []uint64{10}},
		},
		LabelCounts: []uint64{3, 3, 4}, PredictionCounts: []uint64{4, 3, 3}}
	m.Baseline = good
	b, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(b)
	if err != nil || !proto.Equal(back.Baseline, good) {
		t.Fatalf("round trip: %v, %v", back.GetBaseline(), err)
	}
	for name, damage := range map[string]func(*artifactpb.Baseline){
		"features":        func(b *artifactpb.Baseline) { b.Features = b.Features[:1] },
		"counts":          func(b *artifactpb.Baseline) { b.Features[0].Counts = b.Features[0].Counts[:2] },
		"no bins":         func(b *artifactpb.Baseline) { b.Features[0] = &artifactpb.FeatureBaseline{} },
		"edges order":     func(b *artifactpb.Baseline) { b.Features[0].Edges = []float64{2, 1} },
		"edges finite":    func(b *artifactpb.Baseline) { b.Features[0].Edges = []float64{1, math.Inf(1)} },
		"class counts":    func(b *artifactpb.Baseline) { b.LabelCounts = b.LabelCounts[:2] },
		"predicted class": func(b *artifactpb.Baseline) { b.PredictionCounts = nil },
	} {
		bad := proto.Clone(good).(*artifactpb.Baseline)
		damage(bad)
		m.Baseline = bad
		if err := Validate(m); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}
