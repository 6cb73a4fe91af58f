package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/modelferry/modelferry/pkg/artifact"
	"github.com/modelferry/modelferry/pkg/artifact/artifactpb"
	"github.com/modelferry/modelferry/pkg/modelstore"
)

// ModelSummary is a model in the list of models.
type ModelSummary struct {
	Name    string                      `json:"name"`
	Aliases map[string]modelstore.Alias `json:"aliases"`
}

// Models lists every model with its aliases.
func (r *Registry) Models(ctx context.Context) ([]ModelSummary, error) {
	names, err := r.store.ListModels(ctx)
	if err != nil {
		return nil, fmt.Errorf("list models: %w", err)
	}
	out := make([]ModelSummary, 0, len(names))
	for _, n := range names {
		aliases, err := r.store.ListAliases(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("aliases of %s: %w", n, err)
		}
		out = append(out, ModelSummary{Name: n, Aliases: aliases})
	}
	return out, nil
}

// ModelView is one model: its versions, newest first, and its aliases.
type ModelView struct {
	Name     string                      `json:"name"`
	Versions []string                    `json:"versions"`
	Aliases  map[string]modelstore.Alias `json:"aliases"`
}

// Model shows one model; a model with neither versions nor aliases is
// ErrNotFound.
func (r *Registry) Model(ctx context.Context, name string) (ModelView, error) {
	versions, err := r.store.ListVersions(ctx, name)
	if err != nil {
		return ModelView{}, fmt.Errorf("versions of %s: %w", name, err)
	}
	aliases, err := r.store.ListAliases(ctx, name)
	if err != nil {
		return ModelView{}, fmt.Errorf("aliases of %s: %w", name, err)
	}
	if len(versions) == 0 && len(aliases) == 0 {
		return ModelView{}, fmt.Errorf("model %s: %w", name, modelstore.ErrNotFound)
	}
	if versions == nil {
		versions = []string{}
	}
	return ModelView{Name: name, Versions: versions, Aliases: aliases}, nil
}

// VersionView is one version: how it was made (its immutable record), its
// artifact's SHA-256, and the aliases that point at it.
type VersionView struct {
	Model   string        `json:"model"`
	Version string        `json:"version"`
	Number  int           `json:"number,omitempty"`
	SHA256  string        `json:"sha256"`
	Aliases []string      `json:"aliases"`
	Record  VersionRecord `json:"record"`
}

// Version shows one version.
func (r *Registry) Version(ctx context.Context, model, version string) (VersionView, error) {
	_, b, err := r.ReadModel(ctx, model, version)
	if err != nil {
		return VersionView{}, err
	}
	raw, err := r.store.ReadRecord(ctx, model, version)
	if err != nil {
		return VersionView{}, fmt.Errorf("record of %s/%s: %w", model, version, err)
	}
	var record VersionRecord
	if err := json.Unmarshal(raw, &record); err != nil {
		return VersionView{}, fmt.Errorf("decode record of %s/%s: %w", model, version, err)
	}
	aliases, err := r.store.ListAliases(ctx, model)
	if err != nil {
		return VersionView{}, fmt.Errorf("aliases of %s: %w", model, err)
	}
	pointing := []string{}
	for name, al := range aliases {
		if al.Version == version {
			pointing = append(pointing, name)
		}
	}
	slices.Sort(pointing)
	return VersionView{Model: model, Version: version, Number: record.Number, SHA256: modelstore.SHA256(b), Aliases: pointing, Record: record}, nil
}

// Publish stores a new version: its sequential number claimed first (a
// publish that then fails leaves the number unused, never given again),
// then its artifact and its record, verified once written. Aliases are
// not touched. It returns the version and its number.
func (r *Registry) Publish(ctx context.Context, m *artifactpb.Model, record VersionRecord) (modelstore.Ref, int, error) {
	pb, err := artifact.Encode(m)
	if err != nil {
		return modelstore.Ref{}, 0, fmt.Errorf("encode artifact: %w", err)
	}
	if record.Number, err = r.store.AssignNumber(ctx, m.Name, m.Version); err != nil {
		return modelstore.Ref{}, 0, err
	}
	rec, err := json.Marshal(record)
	if err != nil {
		return modelstore.Ref{}, 0, fmt.Errorf("encode version record: %w", err)
	}
	ref, err := r.store.Publish(ctx, m.Name, m.Version, pb, rec)
	return ref, record.Number, err
}

// ResolveVersion returns the version id that v names: v itself, or the
// id of the version with number v ("7"). A number no version has is
// ErrNotFound; anything else is ErrInvalid.
func (r *Registry) ResolveVersion(ctx context.Context, model, v string) (string, error) {
	if n, ok := modelstore.ParseNumber(v); ok {
		return r.store.VersionOfNumber(ctx, model, n)
	}
	if !modelstore.ValidVersion(v) {
		return "", fmt.Errorf("version %q: want an id (20261126T221500Z-1a2b3c4d) or a number (7): %w", v, modelstore.ErrInvalid)
	}
	return v, nil
}

// Unpublish removes what a failed publish of a version wrote, before any
// alias points to it.
func (r *Registry) Unpublish(ctx context.Context, model, version string) error {
	return r.store.Unpublish(ctx, model, version)
}
