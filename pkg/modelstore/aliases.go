package modelstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Alias points a name at a version. It is the one document both services
// read: the trainer moves aliases, predictors follow them.
type Alias struct {
	Version   string    `json:"version"`
	SHA256    string    `json:"sha256"`
	UpdatedAt time.Time `json:"updated_at"`
	// Previous is the version the alias named before this one, when
	// known: where a rollback goes.
	Previous string `json:"previous_version,omitempty"`
}

func decodeAlias(key string, b []byte) (Alias, error) {
	var a Alias
	if err := json.Unmarshal(b, &a); err != nil {
		return Alias{}, &Error{Kind: ErrIntegrity, Op: "read", Key: key, Err: err}
	}
	if !ValidVersion(a.Version) || !ValidSHA256(a.SHA256) {
		return Alias{}, errorf(ErrIntegrity, "read", key, "alias names version %q, sha256 %q", a.Version, a.SHA256)
	}
	return a, nil
}

// GetAlias reads an alias and the ETag to pass to SetAlias or PollAlias.
// An alias that does not decode is ErrIntegrity, with its ETag.
func (s *Store) GetAlias(ctx context.Context, model, alias string) (Alias, string, error) {
	a, etag, _, err := s.PollAlias(ctx, model, alias, "")
	return a, etag, err
}

// PollAlias reads an alias unless its ETag is still lastETag: then it
// returns changed false and no body crosses the network (conditional GET,
// 304 Not Modified). An alias that does not decode is ErrIntegrity, with
// its ETag.
func (s *Store) PollAlias(ctx context.Context, model, alias, lastETag string) (a Alias, etag string, changed bool, err error) {
	if err := checkName("model", model); err != nil {
		return Alias{}, "", false, err
	}
	if err := checkName("alias", alias); err != nil {
		return Alias{}, "", false, err
	}
	key := aliasKey(model, alias)
	b, etag, err := s.get(ctx, key, GetOptions{IfNoneMatch: lastETag, MaxBytes: MaxAliasBytes})
	if errors.Is(err, errNotModified) {
		return Alias{}, lastETag, false, nil
	}
	if err != nil {
		return Alias{}, "", false, err
	}
	a, err = decodeAlias(key, b)
	if err != nil {
		// The ETag comes along so that a writer can replace the bad alias.
		return Alias{}, etag, true, err
	}
	return a, etag, true, nil
}

// ListAliases returns every alias of a model.
func (s *Store) ListAliases(ctx context.Context, model string) (map[string]Alias, error) {
	if err := checkName("model", model); err != nil {
		return nil, err
	}
	prefix := aliasPrefix(model)
	objs, err := s.list(ctx, prefix, ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make(map[string]Alias, len(objs))
	for _, o := range objs {
		name := strings.TrimSuffix(strings.TrimPrefix(o.Key, prefix), ".json")
		if !ValidName(name) {
			continue
		}
		a, _, err := s.GetAlias(ctx, model, name)
		if errors.Is(err, ErrNotFound) {
			continue // deleted between list and get
		}
		if err != nil {
			return nil, err
		}
		out[name] = a
	}
	return out, nil
}

// SetAliasOptions are the condition of an alias move.
type SetAliasOptions struct {
	// IfMatch is the ETag the alias must still have; empty means the
	// alias must not exist yet.
	IfMatch string
	// Current is the alias as read with IfMatch's ETag (zero when it was
	// missing or unreadable): what the write replaces. The new alias
	// records Current's version as its previous_version, or keeps
	// Current's previous_version when the alias stays on its version.
	Current Alias
}

// AliasMove is what SetAlias did: the alias it wrote, that alias's ETag,
// and the alias the compare-and-swap replaced (Current: the ETag matched,
// so it is exactly what the write replaced).
type AliasMove struct {
	Alias    Alias
	ETag     string
	Replaced Alias
}

// SetAlias points alias at ref when the alias is as the caller last read
// it (opts): one conditional write, no read. A writer that lost the race
// gets ErrConflict and should read the alias again and decide.
func (s *Store) SetAlias(ctx context.Context, alias string, ref Ref, opts SetAliasOptions) (AliasMove, error) {
	if err := checkNames(ref.Model, ref.Version); err != nil {
		return AliasMove{}, err
	}
	if err := checkName("alias", alias); err != nil {
		return AliasMove{}, err
	}
	if !ValidSHA256(ref.SHA256) {
		return AliasMove{}, errorf(ErrInvalid, "set alias", alias, "sha256 %q is not a hex SHA-256", ref.SHA256)
	}
	key := aliasKey(ref.Model, alias)
	prev := opts.Current.Version
	if prev == ref.Version {
		prev = opts.Current.Previous // moved onto itself: history unchanged
	}
	if prev == ref.Version || !ValidVersion(prev) {
		prev = ""
	}
	move := AliasMove{
		Alias:    Alias{Version: ref.Version, SHA256: ref.SHA256, UpdatedAt: time.Now().UTC(), Previous: prev},
		Replaced: opts.Current,
	}
	b, err := json.Marshal(move.Alias)
	if err != nil {
		return AliasMove{}, fmt.Errorf("encode alias: %w", err)
	}
	move.ETag, err = s.put(ctx, key, b, PutOptions{ContentType: "application/json", CreateOnly: opts.IfMatch == "", IfMatch: opts.IfMatch})
	if err == nil {
		return move, nil
	}
	if errors.Is(err, ErrConflict) || errors.Is(err, ErrUnavailable) {
		// A write whose answer was lost may have landed; the alias then
		// holds our exact bytes, timestamp included.
		if now, etag, gerr := s.get(ctx, key, GetOptions{MaxBytes: MaxAliasBytes}); gerr == nil && bytes.Equal(now, b) {
			move.ETag = etag
			return move, nil
		}
	}
	if errors.Is(err, ErrConflict) {
		return AliasMove{}, errorf(ErrConflict, "set alias", key, "the alias changed since it was read")
	}
	return AliasMove{}, err
}
