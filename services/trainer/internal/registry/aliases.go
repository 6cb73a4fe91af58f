package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/modelferry/modelferry/pkg/artifact"
	"github.com/modelferry/modelferry/pkg/artifact/artifactpb"
	"github.com/modelferry/modelferry/pkg/modelstore"
)

// aliasAttempts bounds compare-and-swap retries when another writer moves
// the same alias between our read and our write.
const aliasAttempts = 5

// MoveAlias points alias at ref whatever it pointed at, re-reading and
// retrying when a concurrent writer wins the compare-and-swap. A missing
// alias is created, a corrupt one replaced.
func (r *Registry) MoveAlias(ctx context.Context, alias string, ref modelstore.Ref) error {
	_, err := r.moveAlias(ctx, alias, ref)
	return err
}

// moveAlias is MoveAlias returning what it wrote and what that replaced:
// one read and one conditional write a try.
func (r *Registry) moveAlias(ctx context.Context, alias string, ref modelstore.Ref) (modelstore.AliasMove, error) {
	var err error
	for range aliasAttempts {
		cur, etag, gerr := r.store.GetAlias(ctx, ref.Model, alias)
		if gerr != nil && !errors.Is(gerr, modelstore.ErrNotFound) && !errors.Is(gerr, modelstore.ErrIntegrity) {
			return modelstore.AliasMove{}, gerr
		}
		var move modelstore.AliasMove
		if move, err = r.store.SetAlias(ctx, alias, ref, modelstore.SetAliasOptions{IfMatch: etag, Current: cur}); !errors.Is(err, modelstore.ErrConflict) {
			return move, err
		}
	}
	return modelstore.AliasMove{}, err
}

// Promote moves production to ref when the gate passes against the
// production model as it is at the moment of the write: when production
// moves between the gate's read and the write, the gate is asked again.
// It reports whether production now points at ref and, when not, why.
func (r *Registry) Promote(ctx context.Context, cand *artifactpb.Model, ref modelstore.Ref) (bool, string, error) {
	for range aliasAttempts {
		cur, etag, err := r.store.GetAlias(ctx, ref.Model, AliasProduction)
		var prod *artifactpb.Model
		switch {
		case errors.Is(err, modelstore.ErrNotFound):
		case errors.Is(err, modelstore.ErrIntegrity):
			r.log.Warn("production alias unreadable; replacing it if the gate passes", "model", ref.Model, "err", err)
		case err != nil:
			return false, "", err
		default:
			prod, err = r.readModel(ctx, ref.Model, cur.Version, cur.SHA256)
			if errors.Is(err, modelstore.ErrIntegrity) || errors.Is(err, modelstore.ErrNotFound) {
				// A broken production model is no bar to a good one.
				r.log.Warn("production model unreadable; gating on minimum accuracy only",
					"model", ref.Model, "version", cur.Version, "err", err)
				prod = nil
			} else if err != nil {
				return false, "", err
			}
		}
		if ok, reason := r.gate.Decide(cand, prod); !ok {
			return false, reason, nil
		}
		if _, err = r.store.SetAlias(ctx, AliasProduction, ref, modelstore.SetAliasOptions{IfMatch: etag, Current: cur}); err == nil {
			return true, "", nil
		}
		if !errors.Is(err, modelstore.ErrConflict) {
			return false, "", err
		}
	}
	return false, "production moved concurrently too often; not promoted", nil
}

// readModel reads and decodes a version's artifact; one whose bytes do not
// hash to wantSHA (when set) or do not decode as that version is
// ErrIntegrity.
func (r *Registry) readModel(ctx context.Context, model, version, wantSHA string) (*artifactpb.Model, error) {
	b, err := r.store.ReadArtifact(ctx, model, version, wantSHA)
	if err != nil {
		return nil, err
	}
	m, err := artifact.DecodeVersion(b, model, version)
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w: %w", model, version, modelstore.ErrIntegrity, err)
	}
	return m, nil
}

// ReadModel reads, verifies and decodes a version's artifact and returns
// it with its bytes' SHA-256.
func (r *Registry) ReadModel(ctx context.Context, model, version string) (*artifactpb.Model, []byte, error) {
	b, err := r.store.ReadArtifact(ctx, model, version, "")
	if err != nil {
		return nil, nil, fmt.Errorf("version %s of %s: %w", version, model, err)
	}
	m, err := artifact.DecodeVersion(b, model, version)
	if err != nil {
		return nil, nil, fmt.Errorf("%s/%s: %w: %w", model, version, modelstore.ErrIntegrity, err)
	}
	return m, b, nil
}

// AliasChange is what moving an alias by hand did.
type AliasChange struct {
	Model           string    `json:"model"`
	Alias           string    `json:"alias"`
	Version         string    `json:"version"`
	SHA256          string    `json:"sha256"`
	PreviousVersion string    `json:"previous_version,omitempty"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// SetAlias promotes or rolls back: it points an alias at any published
// version after verifying that version's artifact (ErrIntegrity when it
// is corrupt: the alias stays).
func (r *Registry) SetAlias(ctx context.Context, model, alias, version string) (AliasChange, error) {
	_, b, err := r.ReadModel(ctx, model, version)
	if err != nil {
		return AliasChange{}, err
	}
	// A corrupt alias has no previous version to report, but is replaced.
	ref := modelstore.Ref{Model: model, Version: version, SHA256: modelstore.SHA256(b)}
	move, err := r.moveAlias(ctx, alias, ref)
	if err != nil {
		return AliasChange{}, fmt.Errorf("alias %s: %w", alias, err)
	}
	r.log.Info("alias moved", "model", model, "alias", alias, "version", ref.Version, "previous", move.Replaced.Version)
	return AliasChange{Model: model, Alias: alias, Version: move.Alias.Version, SHA256: move.Alias.SHA256,
		PreviousVersion: move.Replaced.Version, UpdatedAt: move.Alias.UpdatedAt}, nil
}
