// Package artifact encodes, decodes and verifies model artifacts: a
// protobuf Model (schema in proto/modelferry/artifact/v1) wrapped in an
// Envelope that carries the payload's SHA-256.
package artifact

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/modelferry/modelferry/pkg/artifact/artifactpb"
	"github.com/modelferry/modelferry/pkg/logreg"
)

// FormatVersion is the payload format this package writes and reads.
const FormatVersion = 1

// ErrCorrupt is wrapped by every error about an artifact's content:
// undecodable bytes, a checksum mismatch or an inconsistent model.
var ErrCorrupt = errors.New("corrupt artifact")

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// Encode validates m and serializes it into an envelope.
func Encode(m *artifactpb.Model) ([]byte, error) {
	if err := Validate(m); err != nil {
		return nil, err
	}
	payload, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("marshal model: %w", err)
	}
	sum := sha256.Sum256(payload)
	env := &artifactpb.Envelope{FormatVersion: FormatVersion, Payload: payload, PayloadSha256: sum[:]}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("marshal envelope: %w", err)
	}
	return b, nil
}

// Decode reads an envelope, checks the payload's SHA-256 and format
// version, and returns the validated model. Any defect wraps ErrCorrupt.
func Decode(b []byte) (*artifactpb.Model, error) {
	var env artifactpb.Envelope
	if err := proto.Unmarshal(b, &env); err != nil {
		return nil, corrupt("envelope: %v", err)
	}
	if env.FormatVersion != FormatVersion {
		return nil, corrupt("format version %d, this build reads %d", env.FormatVersion, FormatVersion)
	}
	sum := sha256.Sum256(env.Payload)
	if !bytes.Equal(sum[:], env.PayloadSha256) {
		return nil, corrupt("payload sha256 %x does not match the recorded %x", sum, env.PayloadSha256)
	}
	var m artifactpb.Model
	if err := proto.Unmarshal(env.Payload, &m); err != nil {
		return nil, corrupt("payload: %v", err)
	}
	if err := Validate(&m); err != nil {
		return nil, err
	}
	return &m, nil
}

// DecodeVersion decodes the artifact stored as model/version and checks
// that it says it is that version: an artifact copied under another name
// is as corrupt as a damaged one.
func DecodeVersion(b []byte, model, version string) (*artifactpb.Model, error) {
	m, err := Decode(b)
	if err != nil {
		return nil, err
	}
	if m.Name != model || m.Version != version {
		return nil, corrupt("artifact stored as %s/%s says it is %s/%s", model, version, m.Name, m.Version)
	}
	return m, nil
}

// Validate checks that m is a usable model: names present and unique,
// dimensions consistent, every number finite.
func Validate(m *artifactpb.Model) error {
	if m == nil {
		return corrupt("no model")
	}
	if m.FormatVersion != FormatVersion {
		return corrupt("model format version %d, want %d", m.FormatVersion, FormatVersion)
	}
	if m.Name == "" || m.Version == "" {
		return corrupt("model name and version are required")
	}
	if err := uniqueNames("feature", m.FeatureNames, 1); err != nil {
		return err
	}
	if err := uniqueNames("class", m.ClassNames, 2); err != nil {
		return err
	}
	if err := validateTabular(m); err != nil {
		return err
	}
	lm, err := ToLogreg(m)
	if err != nil {
		return err
	}
	if err := lm.Validate(); err != nil {
		return corrupt("%v", err)
	}
	// A model that passes but cannot serve (its scaler folds into
	// overflowing weights) is refused here, at load, not at the first
	// request.
	if _, err := lm.Compile(); err != nil {
		return corrupt("%v", err)
	}
	if l := m.Linear; int(l.Rows) != lm.WeightRows() || int(l.Cols) != lm.Width() {
		return corrupt("coefficients are %d×%d, want %d×%d", l.Rows, l.Cols, lm.WeightRows(), lm.Width())
	}
	if mt := m.Metrics; mt != nil {
		for _, v := range []float64{mt.Accuracy, mt.LogLoss, mt.MacroF1} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return corrupt("metrics are not finite")
			}
		}
	}
	return validateBaseline(m)
}

// validateBaseline checks the drift baseline, when there is one: a
// predictor indexes its counts by feature, bin and class.
func validateBaseline(m *artifactpb.Model) error {
	b := m.Baseline
	if b == nil {
		return nil
	}
	if len(b.Features) != len(m.FeatureNames) {
		return corrupt("baseline has %d features, the model %d", len(b.Features), len(m.FeatureNames))
	}
	for j, f := range b.Features {
		if len(f.Counts) != len(f.Edges)+1 {
			return corrupt("baseline of feature %d: %d counts for %d edges", j, len(f.Counts), len(f.Edges))
		}
		for i, e := range f.Edges {
			if math.IsNaN(e) || math.IsInf(e, 0) || (i > 0 && e <= f.Edges[i-1]) {
				return corrupt("baseline of feature %d: edges are not finite and increasing", j)
			}
		}
	}
	if len(b.LabelCounts) != len(m.ClassNames) || len(b.PredictionCounts) != len(m.ClassNames) {
		return corrupt("baseline class counts do not match the %d classes", len(m.ClassNames))
	}
	return nil
}

func uniqueNames(kind string, names []string, least int) error {
	if len(names) < least {
		return corrupt("%d %s names, need at least %d", len(names), kind, least)
	}
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if n == "" {
			return corrupt("empty %s name", kind)
		}
		if seen[n] {
			return corrupt("duplicate %s name %q", kind, n)
		}
		seen[n] = true
	}
	return nil
}

// ToLogreg returns the model math of m: for a tabular model, its dense
// features and the levels of its categorical columns. It checks only what it needs to
// build the value; Validate checks the rest.
func ToLogreg(m *artifactpb.Model) (*logreg.Model, error) {
	if m.Linear == nil {
		return nil, corrupt("no coefficients")
	}
	lm := &logreg.Model{
		Features:  len(m.FeatureNames),
		Classes:   len(m.ClassNames),
		Coef:      m.Linear.Coefficients,
		Intercept: m.Linear.Intercepts,
	}
	if m.Tabular != nil {
		lm.Features, lm.Levels = layout(m.Tabular)
	}
	if s := m.Scaler; s != nil {
		lm.Mean, lm.Scale = s.Mean, s.Scale
		if lm.Mean == nil {
			lm.Mean = []float64{}
		}
		if lm.Scale == nil {
			lm.Scale = []float64{}
		}
	}
	return lm, nil
}

// LinearFromLogreg returns the coefficient and scaler messages of a fitted
// model.
func LinearFromLogreg(lm *logreg.Model) (*artifactpb.LinearModel, *artifactpb.Scaler) {
	lin := &artifactpb.LinearModel{
		Rows:         uint32(lm.WeightRows()),
		Cols:         uint32(lm.Width()),
		Coefficients: lm.Coef,
		Intercepts:   lm.Intercept,
	}
	var sc *artifactpb.Scaler
	if lm.Mean != nil {
		sc = &artifactpb.Scaler{Mean: lm.Mean, Scale: lm.Scale}
	}
	return lin, sc
}

// Compile turns a validated model into its inference form.
func Compile(m *artifactpb.Model) (*logreg.Compiled, error) {
	lm, err := ToLogreg(m)
	if err != nil {
		return nil, err
	}
	c, err := lm.Compile()
	if err != nil {
		return nil, corrupt("%v", err)
	}
	return c, nil
}
