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
	return VersionView{Model: model, Version: version, SHA256: modelstore.SHA256(b), Aliases: pointing, Record: record}, nil
}

// Publish stores a new version: its artifact and its record, verified
// once written. Aliases are not touched.
func (r *Registry) Publish(ctx context.Context, m *artifactpb.Model, record VersionRecord) (modelstore.Ref, error) {
	pb, err := artifact.Encode(m)
	if err != nil {
		return modelstore.Ref{}, fmt.Errorf("encode artifact: %w", err)
	}
	rec, err := json.Marshal(record)
	if err != nil {
		return modelstore.Ref{}, fmt.Errorf("encode version record: %w", err)
	}
	return r.store.Publish(ctx, m.Name, m.Version, pb, rec)
}

// Unpublish removes what a failed publish of a version wrote, before any
// alias points to it.
func (r *Registry) Unpublish(ctx context.Context, model, version string) error {
	return r.store.Unpublish(ctx, model, version)
}
