package modelstore

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Ref names a published version.
type Ref struct {
	Model   string `json:"model"`
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
}

// Publish writes a new version, each object create-only: the record
// first, then the artifact, which makes the version exist, then reads the
// artifact back and compares. A publish cut short leaves at most a record
// without an artifact: never listed, never read, and removed by
// DeleteIncompleteVersions. It never touches an alias: a reader following
// one cannot see the version until the caller moves it with SetAlias.
// The caller checks that the artifact is what it means to publish.
func (s *Store) Publish(ctx context.Context, model, version string, artifact, record []byte) (Ref, error) {
	if err := checkNames(model, version); err != nil {
		return Ref{}, err
	}
	if len(artifact) == 0 {
		return Ref{}, errorf(ErrInvalid, "publish", artifactKey(model, version), "empty artifact")
	}
	ref := Ref{Model: model, Version: version, SHA256: SHA256(artifact)}
	if _, err := s.put(ctx, recordKey(model, version), record, PutOptions{ContentType: "application/json", CreateOnly: true}); err != nil {
		return Ref{}, fmt.Errorf("publish %s/%s: %w", model, version, err)
	}
	if _, err := s.put(ctx, artifactKey(model, version), artifact, PutOptions{ContentType: "application/x-protobuf", CreateOnly: true}); err != nil {
		return Ref{}, fmt.Errorf("publish %s/%s: %w", model, version, err)
	}
	got, err := s.ReadArtifact(ctx, model, version, ref.SHA256)
	if err != nil {
		return Ref{}, fmt.Errorf("publish %s/%s: verify: %w", model, version, err)
	}
	if !bytes.Equal(got, artifact) {
		return Ref{}, errorf(ErrIntegrity, "publish", artifactKey(model, version), "read back other bytes")
	}
	return ref, nil
}

// Unpublish removes what a publish that failed or was abandoned wrote of a
// version no alias points to yet: its artifact first, which makes it stop
// existing, then its record. Removing what is not there is not an error.
func (s *Store) Unpublish(ctx context.Context, model, version string) error {
	if err := checkNames(model, version); err != nil {
		return err
	}
	if err := s.retry(ctx, func(ctx context.Context) error { return s.bucket.Delete(ctx, artifactKey(model, version)) }); err != nil {
		return fmt.Errorf("unpublish %s/%s: %w", model, version, err)
	}
	if err := s.deleteRecord(ctx, model, version); err != nil {
		return fmt.Errorf("unpublish %s/%s: %w", model, version, err)
	}
	return nil
}

// ReadArtifact reads a version's artifact bytes. When wantSHA is set they
// must hash to it, else the read is ErrIntegrity: whoever decodes them
// (the artifact package) checks their structure.
func (s *Store) ReadArtifact(ctx context.Context, model, version, wantSHA string) ([]byte, error) {
	if err := checkNames(model, version); err != nil {
		return nil, err
	}
	key := artifactKey(model, version)
	b, _, err := s.get(ctx, key, GetOptions{MaxBytes: s.maxArtifactBytes})
	if err != nil {
		return nil, err
	}
	if got := SHA256(b); wantSHA != "" && got != wantSHA {
		return nil, errorf(ErrIntegrity, "read", key, "sha256 %s, want %s", got, wantSHA)
	}
	return b, nil
}

// ReadRecord returns a version's record.
func (s *Store) ReadRecord(ctx context.Context, model, version string) ([]byte, error) {
	if err := checkNames(model, version); err != nil {
		return nil, err
	}
	b, _, err := s.get(ctx, recordKey(model, version), GetOptions{})
	return b, err
}

// ListVersions returns a model's complete versions (those with an
// artifact), newest first.
func (s *Store) ListVersions(ctx context.Context, model string) ([]string, error) {
	complete, _, err := s.versionFiles(ctx, model)
	return complete, err
}

// versionFiles lists a model's versions, newest first: those with an
// artifact, and those with only a record (a publish cut short).
func (s *Store) versionFiles(ctx context.Context, model string) (complete, incomplete []string, err error) {
	if err := checkName("model", model); err != nil {
		return nil, nil, err
	}
	prefix := versionPrefix(model)
	objs, err := s.list(ctx, prefix, ListOptions{})
	if err != nil {
		return nil, nil, err
	}
	files := map[string][]string{}
	for _, o := range objs {
		v, file, ok := strings.Cut(strings.TrimPrefix(o.Key, prefix), "/")
		if ok && ValidVersion(v) {
			files[v] = append(files[v], file)
		}
	}
	for v, fs := range files {
		if slices.Contains(fs, artifactFile) {
			complete = append(complete, v)
		} else {
			incomplete = append(incomplete, v)
		}
	}
	newestFirst := func(a, b string) int { return strings.Compare(b, a) }
	slices.SortFunc(complete, newestFirst)
	slices.SortFunc(incomplete, newestFirst)
	return complete, incomplete, nil
}

// DeleteIncompleteVersions removes what publishes cut short left of a
// model's versions made before the given time (a version's id says when):
// records without an artifact. It returns the versions it removed.
func (s *Store) DeleteIncompleteVersions(ctx context.Context, model string, before time.Time) ([]string, error) {
	_, incomplete, err := s.versionFiles(ctx, model)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, v := range incomplete {
		if t, ok := VersionTime(v); !ok || !t.Before(before) {
			continue
		}
		if err := s.deleteRecord(ctx, model, v); err != nil {
			return removed, err
		}
		removed = append(removed, v)
	}
	return removed, nil
}

// DeleteIncompleteVersion removes one version's record when it has no
// artifact (its publish was cut short), whenever the version was made; it
// reports whether there was one to remove. A complete version is left
// alone.
func (s *Store) DeleteIncompleteVersion(ctx context.Context, model, version string) (bool, error) {
	if err := checkNames(model, version); err != nil {
		return false, err
	}
	complete, err := s.exists(ctx, artifactKey(model, version))
	if err != nil || complete {
		return false, err
	}
	record, err := s.exists(ctx, recordKey(model, version))
	if err != nil || !record {
		return false, err
	}
	return true, s.deleteRecord(ctx, model, version)
}

func (s *Store) deleteRecord(ctx context.Context, model, version string) error {
	return s.retry(ctx, func(ctx context.Context) error { return s.bucket.Delete(ctx, recordKey(model, version)) })
}

// ListModels returns the names of models with at least one object,
// sorted.
func (s *Store) ListModels(ctx context.Context) ([]string, error) {
	return s.listNames(ctx, "models/")
}

// listNames returns the valid names one level below prefix, sorted.
func (s *Store) listNames(ctx context.Context, prefix string) ([]string, error) {
	objs, err := s.list(ctx, prefix, ListOptions{Delimited: true})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, o := range objs {
		if name := strings.TrimSuffix(strings.TrimPrefix(o.Key, prefix), "/"); ValidName(name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, nil
}
