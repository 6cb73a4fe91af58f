// Package oip is the Open Inference Protocol (KServe v2) as both of the
// predictor's transports, REST and gRPC, answer it: the server's and each
// model's metadata, a model and version resolved from a request, and the
// repository index. Decoding and encoding tensors is the serving
// package's; each transport maps the errors here to its own codes.
package oip

import (
	"errors"
	"fmt"

	"github.com/modelferry/modelferry/pkg/modelstore/names"
	"github.com/modelferry/modelferry/pkg/serving"
	"github.com/modelferry/modelferry/services/predictor/internal/catalog"
)

// The server's name and the protocol extensions it implements.
const (
	ServerName = "modelferry-predictor"
	// Platform is every model's platform in its metadata.
	Platform = "modelferry_logreg"
	// InputName names the [N, F] input tensor in a model's metadata (any
	// name that is not a feature's is read as that tensor).
	InputName = "input"
)

// Extensions are the protocol extensions the server implements: the
// repository index (models load and unload as their aliases move in the
// registry, not on request).
var Extensions = []string{"model_repository"}

// Errors of Resolve.
var (
	ErrNotFound    = errors.New("not found")
	ErrUnavailable = errors.New("unavailable")
)

// Models are the served models.
type Models interface {
	Lookup(name string) (*serving.Model, error)
}

// Resolve returns the loaded version of model name; version, when given,
// must be it. Its errors wrap ErrNotFound or ErrUnavailable.
func Resolve(models Models, name, version string) (*serving.Model, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: name a model", ErrNotFound)
	}
	m, err := models.Lookup(name)
	switch {
	case errors.Is(err, catalog.ErrNotServed):
		return nil, fmt.Errorf("%w: %s", ErrNotFound, detail(err, catalog.ErrNotServed))
	case err != nil:
		return nil, fmt.Errorf("%w: model %s is not loaded yet: %s", ErrUnavailable, names.Quote(name), detail(err, catalog.ErrNotLoaded))
	case version != "" && version != m.Version:
		return nil, fmt.Errorf("%w: version %s of model %s is not served: the loaded version is %q", ErrNotFound, names.Quote(version), names.Quote(name), m.Version)
	}
	return m, nil
}

// Message is an error of Resolve without its kind.
func Message(err error) string {
	for _, kind := range []error{ErrNotFound, ErrUnavailable} {
		if errors.Is(err, kind) {
			return detail(err, kind)
		}
	}
	return err.Error()
}

func detail(err, kind error) string {
	s := err.Error()
	if p := kind.Error() + ": "; len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// Tensor describes an input or output tensor.
type Tensor struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

// Metadata is a model's metadata.
type Metadata struct {
	Name     string   `json:"name"`
	Versions []string `json:"versions"`
	Platform string   `json:"platform"`
	Inputs   []Tensor `json:"inputs"`
	Outputs  []Tensor `json:"outputs"`
	// Parameters carry the feature and class names.
	Parameters map[string][]string `json:"parameters"`
}

// ModelMetadata describes m: one [-1, F] input (or one [-1] input per
// feature, named after it), outputs label, class_id and probabilities.
func ModelMetadata(m *serving.Model) Metadata {
	f, k := int64(m.NumFeatures()), int64(m.NumClasses())
	inputs := []Tensor{{Name: InputName, Datatype: "FP64", Shape: []int64{-1, f}}}
	if tb := m.Meta.GetTabular(); tb != nil {
		// One input per source column: BYTES for a categorical one.
		inputs = inputs[:0]
		for _, c := range tb.Columns {
			dt := "FP64"
			if c.Type == "categorical" {
				dt = "BYTES"
			}
			inputs = append(inputs, Tensor{Name: c.Name, Datatype: dt, Shape: []int64{-1}})
		}
	}
	return Metadata{
		Name: m.Name, Versions: []string{m.Version}, Platform: Platform,
		Inputs: inputs,
		Outputs: []Tensor{
			{Name: "label", Datatype: "BYTES", Shape: []int64{-1}},
			{Name: "class_id", Datatype: "INT64", Shape: []int64{-1}},
			{Name: "probabilities", Datatype: "FP64", Shape: []int64{-1, k}},
		},
		Parameters: map[string][]string{"feature_names": m.Features, "class_names": m.Classes},
	}
}

// IndexEntry is one model of the repository index.
type IndexEntry struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	// State is READY or UNAVAILABLE.
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

// RepositoryIndex lists the served models, only the ready ones with
// readyOnly.
func RepositoryIndex(models []catalog.Status, readyOnly bool) []IndexEntry {
	out := []IndexEntry{}
	for _, s := range models {
		e := IndexEntry{Name: s.Name, State: "UNAVAILABLE", Reason: s.Waiting}
		if s.Model != nil {
			e.Version, e.State, e.Reason = s.Model.Version, "READY", ""
		}
		if readyOnly && e.State != "READY" {
			continue
		}
		out = append(out, e)
	}
	return out
}
