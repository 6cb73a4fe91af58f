// Package serving holds a loaded model in the form requests use: compiled
// weights, a JSON decoder specialised to its feature names, and response
// fragments encoded once at load time. It owns the wire contract of
// /predict, KServe V1 and the Open Inference Protocol's REST bodies: the
// predictor serves with it and the trainer's try-it answers with it, so
// both read and write the same bytes.
package serving

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelferry/modelferry/pkg/artifact"
	"github.com/modelferry/modelferry/pkg/artifact/artifactpb"
	"github.com/modelferry/modelferry/pkg/logreg"
	"github.com/modelferry/modelferry/pkg/tabular"
)

// Model is a verified, compiled model. It is immutable once built and is
// swapped as a whole when a new version arrives.
type Model struct {
	Name     string
	Version  string
	SHA256   string
	Features []string
	Classes  []string
	Meta     *artifactpb.Model
	LoadedAt time.Time

	compiled *logreg.Compiled
	index    map[string]int // feature name -> column
	// enc is the column transform of a model trained on a table as it
	// came; nil for a model of numeric features. Its rows are then packed
	// (dense features, then one code per categorical column; see
	// logreg.Packed) and width is their length, else len(Features).
	enc   *tabular.Encoder
	width int
	// Encoded once: `"setosa"` per class, the `"model":{...}` value, the
	// name and the version.
	classJSON   [][]byte
	classBytes  [][]byte
	modelJSON   []byte
	nameJSON    []byte
	versionJSON []byte
	counted     []prometheus.Counter // predictions per class
	drift       Observer
}

// Observer sees every row a model predicts, with its class: the
// predictor's drift watch.
type Observer interface {
	Observe(x []float64, class int)
}

// New builds a Model from a decoded artifact whose file hashed to sha256.
// predictions is curried with the model's name and version per class.
func New(m *artifactpb.Model, sha256 string, predictions *prometheus.CounterVec, now time.Time) (*Model, error) {
	compiled, err := artifact.Compile(m)
	if err != nil {
		return nil, err
	}
	sm := &Model{
		Name: m.Name, Version: m.Version, SHA256: sha256,
		Features: m.FeatureNames, Classes: m.ClassNames, Meta: m, LoadedAt: now,
		compiled: compiled,
		index:    make(map[string]int, len(m.FeatureNames)),
		width:    len(m.FeatureNames),
	}
	if t := artifact.Transform(m); t != nil {
		if sm.enc, err = t.Encoder(); err != nil {
			return nil, fmt.Errorf("compile the column transform: %w", err)
		}
		sm.width = sm.enc.Dense() + sm.enc.Codes()
	}
	for i, f := range m.FeatureNames {
		sm.index[f] = i
	}
	for _, c := range m.ClassNames {
		b, err := json.Marshal(c)
		if err != nil {
			return nil, fmt.Errorf("encode class name: %w", err)
		}
		sm.classJSON = append(sm.classJSON, b)
		sm.classBytes = append(sm.classBytes, []byte(c))
		if predictions != nil {
			sm.counted = append(sm.counted, predictions.WithLabelValues(m.Name, m.Version, c))
		}
	}
	sm.modelJSON, err = json.Marshal(struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}{m.Name, m.Version})
	if err != nil {
		return nil, fmt.Errorf("encode model reference: %w", err)
	}
	if sm.nameJSON, err = json.Marshal(m.Name); err != nil {
		return nil, fmt.Errorf("encode model name: %w", err)
	}
	if sm.versionJSON, err = json.Marshal(m.Version); err != nil {
		return nil, fmt.Errorf("encode model version: %w", err)
	}
	return sm, nil
}

// NumFeatures is the row width the model reads: its features, or for a
// tabular model the packed width (dense features, then codes).
func (m *Model) NumFeatures() int { return m.width }

// Tabular reports whether the model reads raw records through a column
// transform (categorical columns, missing values).
func (m *Model) Tabular() bool { return m.enc != nil }

// ClassBytes is class k's name as bytes, shared: callers must not write
// to it.
func (m *Model) ClassBytes(k int) []byte { return m.classBytes[k] }

// NumClasses is the number of probabilities per row.
func (m *Model) NumClasses() int { return len(m.Classes) }

// Predict writes the probabilities of row x into p and returns the class.
// It counts the prediction. It does not allocate. Values so large that a
// logit overflows get an *InputError rather than NaN probabilities.
func (m *Model) Predict(x, p []float64) (int, error) {
	k, err := m.Score(x, p)
	if err != nil {
		return 0, err
	}
	if m.counted != nil {
		m.counted[k].Inc()
	}
	if m.drift != nil {
		m.drift.Observe(x, k)
	}
	return k, nil
}

// Score is Predict without counting: for shadow scoring, which must not
// show in the served model's metrics.
func (m *Model) Score(x, p []float64) (int, error) {
	if len(x) != m.width { // a row of another model's (a shadow's) form
		return 0, &InputError{Msg: fmt.Sprintf("a row of %d values, the model reads %d", len(x), m.width)}
	}
	var k int
	if m.enc != nil {
		k = logreg.Packed{Compiled: m.compiled}.PredictProba(x, p)
	} else {
		k = m.compiled.PredictProba(x, p)
	}
	if math.IsNaN(p[k]) {
		return 0, &InputError{Msg: "values too large for the model: the class scores overflow float64"}
	}
	return k, nil
}

// Watch has the model show its rows to o for drift monitoring. Call it
// before the model serves.
func (m *Model) Watch(o Observer) { m.drift = o }

// Drift is the model's drift watch; nil when it is not monitored.
func (m *Model) Drift() Observer { return m.drift }
