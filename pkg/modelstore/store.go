// Package modelstore is the model registry both services share, kept in
// any S3-compatible store (AWS S3, MinIO, versitygw) through minio-go:
//
//	models/<model>/versions/<version>/model.pb   immutable once written
//	models/<model>/versions/<version>/run.json   the run record
//	models/<model>/aliases/<alias>.json          {"version", "sha256", "updated_at"}
//	runs/<model>/<run-id>.json                   every run, failed ones too
//	datasets/<sha256>.csv                        uploaded data, content-addressed
//
// It relies on two S3 features beyond plain GET and PUT: conditional GET
// (If-None-Match, answered 304) so that polling an unchanged alias moves no
// body, and conditional PUT (If-Match on an ETag, If-None-Match: *) so that
// versions are never overwritten and two writers never lose an alias update.
package modelstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/modelferry/modelferry/pkg/artifact"
	"github.com/modelferry/modelferry/pkg/artifact/artifactpb"
)

// Options configures a Store.
type Options struct {
	Endpoint  string // host:port
	AccessKey string
	SecretKey string
	Bucket    string
	Region    string
	UseTLS    bool
	// Timeout bounds each small-object call (aliases, artifacts, records);
	// 0 means 10s. Dataset transfers are bounded by the caller's context.
	Timeout time.Duration
	// Transport replaces the HTTP transport, for tests.
	Transport http.RoundTripper
}

// Store reads and writes the registry in one bucket.
type Store struct {
	client  *minio.Client
	bucket  string
	region  string
	timeout time.Duration
}

// New returns a Store. It does not contact the server.
func New(opts Options) (*Store, error) {
	if opts.Endpoint == "" || opts.Bucket == "" {
		return nil, errors.New("modelstore: endpoint and bucket are required")
	}
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	c, err := minio.New(opts.Endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(opts.AccessKey, opts.SecretKey, ""),
		Secure:    opts.UseTLS,
		Region:    opts.Region,
		Transport: opts.Transport,
		// Retries are ours: only idempotent calls are retried, within
		// the caller's deadline.
		MaxRetries: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("modelstore: %w", err)
	}
	return &Store{client: c, bucket: opts.Bucket, region: opts.Region, timeout: opts.Timeout}, nil
}

// Bucket is the bucket the store uses.
func (s *Store) Bucket() string { return s.bucket }

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// ValidName reports whether name may be a model or alias name:
// [a-z0-9][a-z0-9_-]{0,62}.
func ValidName(name string) bool { return nameRE.MatchString(name) }

var versionRE = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$`)

// ValidVersion reports whether v has the form NewVersion makes.
func ValidVersion(v string) bool { return versionRE.MatchString(v) }

func checkName(kind, name string) error {
	if !ValidName(name) {
		return &Error{Kind: ErrInvalid, Op: "check", Key: kind,
			Err: fmt.Errorf("%s name %q must match [a-z0-9][a-z0-9_-]{0,62}", kind, name)}
	}
	return nil
}

func checkVersion(v string) error {
	if !ValidVersion(v) {
		return &Error{Kind: ErrInvalid, Op: "check", Key: "version",
			Err: fmt.Errorf("version %q must look like 20261126T221500Z-1a2b3c4d", v)}
	}
	return nil
}

func versionPrefix(model string) string   { return "models/" + model + "/versions/" }
func artifactKey(model, v string) string  { return versionPrefix(model) + v + "/model.pb" }
func recordKey(model, v string) string    { return versionPrefix(model) + v + "/run.json" }
func aliasPrefix(model string) string     { return "models/" + model + "/aliases/" }
func aliasKey(model, alias string) string { return aliasPrefix(model) + alias + ".json" }
func runKey(model, id string) string      { return "runs/" + model + "/" + id + ".json" }
func datasetKey(sum string) string        { return "datasets/" + sum + ".csv" }

// SHA256 returns the hex SHA-256 of b, as recorded in aliases.
func SHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// EnsureBucket creates the bucket when it does not exist.
func (s *Store) EnsureBucket(ctx context.Context) error {
	return s.retry(ctx, "ensure bucket", s.bucket, func(ctx context.Context) error {
		ok, err := s.client.BucketExists(ctx, s.bucket)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		err = s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: s.region})
		if code := minio.ToErrorResponse(err).Code; code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists" {
			return nil
		}
		return err
	})
}

// Ping checks that the server answers and the bucket exists.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return classify("ping", s.bucket, err)
	}
	if !ok {
		return &Error{Kind: ErrNotFound, Op: "ping", Key: s.bucket, Err: errors.New("bucket does not exist")}
	}
	return nil
}

// put writes b to key. With createOnly it refuses to replace an existing
// object (If-None-Match: *); with ifMatch it replaces only the object with
// that ETag. It returns the new ETag.
func (s *Store) put(ctx context.Context, key string, b []byte, contentType string, createOnly bool, ifMatch string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	opts := minio.PutObjectOptions{ContentType: contentType, DisableMultipart: true, SendContentMd5: true}
	switch {
	case createOnly:
		opts.SetMatchETagExcept("*")
	case ifMatch != "":
		opts.SetMatchETag(ifMatch)
	}
	info, err := s.client.PutObject(ctx, s.bucket, key, bytes.NewReader(b), int64(len(b)), opts)
	if err != nil {
		return "", classify("put", key, err)
	}
	return info.ETag, nil
}

// get reads key whole, retrying transient failures. With ifNoneMatch set
// it returns errNotModified when the object still has that ETag.
func (s *Store) get(ctx context.Context, key, ifNoneMatch string) (body []byte, etag string, err error) {
	err = s.retry(ctx, "get", key, func(ctx context.Context) error {
		opts := minio.GetObjectOptions{}
		if ifNoneMatch != "" {
			if err := opts.SetMatchETagExcept(ifNoneMatch); err != nil {
				return err
			}
		}
		obj, err := s.client.GetObject(ctx, s.bucket, key, opts)
		if err != nil {
			return err
		}
		defer obj.Close()
		info, err := obj.Stat()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(obj)
		if err != nil {
			return err
		}
		body, etag = b, info.ETag
		return nil
	})
	return body, etag, err
}

func (s *Store) exists(ctx context.Context, key string) (bool, error) {
	err := s.retry(ctx, "stat", key, func(ctx context.Context) error {
		_, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// list returns the keys (or, with delimited, the common prefixes one level
// below prefix).
func (s *Store) list(ctx context.Context, prefix string, delimited bool) ([]string, error) {
	var out []string
	err := s.retry(ctx, "list", prefix, func(ctx context.Context) error {
		out = out[:0]
		for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: !delimited}) {
			if obj.Err != nil {
				return obj.Err
			}
			out = append(out, obj.Key)
		}
		return nil
	})
	return out, err
}

// retry runs an idempotent call with a per-attempt timeout, retrying
// unavailability with backoff until the caller's context ends or three
// attempts failed.
func (s *Store) retry(ctx context.Context, op, key string, call func(context.Context) error) error {
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, s.timeout)
		err := call(actx)
		cancel()
		if err == nil {
			return nil
		}
		cerr := classify(op, key, err)
		if !errors.Is(cerr, ErrUnavailable) || attempt == 3 || ctx.Err() != nil {
			return cerr
		}
		select {
		case <-ctx.Done():
			return cerr
		case <-time.After(backoff):
		}
		backoff *= 3
	}
}

// Ref names a published version.
type Ref struct {
	Model   string `json:"model"`
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
}

// Publish writes a new version: the artifact and its run record, each
// create-only, then reads the artifact back and verifies it. It never
// touches an alias: a reader following an alias cannot see the version
// until the caller moves one with SetAlias.
func (s *Store) Publish(ctx context.Context, model, version string, modelPB, runRecord []byte) (Ref, error) {
	if err := checkName("model", model); err != nil {
		return Ref{}, err
	}
	if err := checkVersion(version); err != nil {
		return Ref{}, err
	}
	m, err := artifact.Decode(modelPB)
	if err != nil {
		return Ref{}, &Error{Kind: ErrInvalid, Op: "publish", Key: artifactKey(model, version), Err: err}
	}
	if m.Name != model || m.Version != version {
		return Ref{}, &Error{Kind: ErrInvalid, Op: "publish", Key: artifactKey(model, version),
			Err: fmt.Errorf("artifact says it is %s/%s", m.Name, m.Version)}
	}
	ref := Ref{Model: model, Version: version, SHA256: SHA256(modelPB)}
	if _, err := s.put(ctx, artifactKey(model, version), modelPB, "application/x-protobuf", true, ""); err != nil {
		return Ref{}, fmt.Errorf("publish %s/%s: %w", model, version, err)
	}
	if _, err := s.put(ctx, recordKey(model, version), runRecord, "application/json", true, ""); err != nil {
		return Ref{}, fmt.Errorf("publish %s/%s: %w", model, version, err)
	}
	if _, _, err := s.ReadVersion(ctx, model, version, ref.SHA256); err != nil {
		return Ref{}, fmt.Errorf("publish %s/%s: verify: %w", model, version, err)
	}
	return ref, nil
}

// ReadVersion reads and decodes a version's artifact. When wantSHA is set
// the bytes must hash to it. A mismatch or an undecodable artifact is
// ErrIntegrity.
func (s *Store) ReadVersion(ctx context.Context, model, version, wantSHA string) (*artifactpb.Model, []byte, error) {
	if err := checkName("model", model); err != nil {
		return nil, nil, err
	}
	if err := checkVersion(version); err != nil {
		return nil, nil, err
	}
	key := artifactKey(model, version)
	b, _, err := s.get(ctx, key, "")
	if err != nil {
		return nil, nil, err
	}
	if got := SHA256(b); wantSHA != "" && got != wantSHA {
		return nil, nil, &Error{Kind: ErrIntegrity, Op: "read", Key: key, Err: fmt.Errorf("sha256 %s, want %s", got, wantSHA)}
	}
	m, err := artifact.Decode(b)
	if err != nil {
		return nil, nil, &Error{Kind: ErrIntegrity, Op: "read", Key: key, Err: err}
	}
	if m.Name != model || m.Version != version {
		return nil, nil, &Error{Kind: ErrIntegrity, Op: "read", Key: key,
			Err: fmt.Errorf("artifact says it is %s/%s", m.Name, m.Version)}
	}
	return m, b, nil
}

// ReadRecord returns a version's run record.
func (s *Store) ReadRecord(ctx context.Context, model, version string) ([]byte, error) {
	if err := checkName("model", model); err != nil {
		return nil, err
	}
	if err := checkVersion(version); err != nil {
		return nil, err
	}
	b, _, err := s.get(ctx, recordKey(model, version), "")
	return b, err
}

// VersionExists reports whether a version's artifact is stored.
func (s *Store) VersionExists(ctx context.Context, model, version string) (bool, error) {
	if err := checkName("model", model); err != nil {
		return false, err
	}
	if err := checkVersion(version); err != nil {
		return false, err
	}
	return s.exists(ctx, artifactKey(model, version))
}

// ListVersions returns a model's versions, newest first.
func (s *Store) ListVersions(ctx context.Context, model string) ([]string, error) {
	if err := checkName("model", model); err != nil {
		return nil, err
	}
	prefix := versionPrefix(model)
	keys, err := s.list(ctx, prefix, true)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, k := range keys {
		v := strings.TrimSuffix(strings.TrimPrefix(k, prefix), "/")
		if ValidVersion(v) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out, nil
}

// ListModels returns the names of models with at least one object,
// sorted.
func (s *Store) ListModels(ctx context.Context) ([]string, error) {
	keys, err := s.list(ctx, "models/", true)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, k := range keys {
		name := strings.TrimSuffix(strings.TrimPrefix(k, "models/"), "/")
		if ValidName(name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Alias points a name at a version.
type Alias struct {
	Version   string    `json:"version"`
	SHA256    string    `json:"sha256"`
	UpdatedAt time.Time `json:"updated_at"`
}

func decodeAlias(key string, b []byte) (Alias, error) {
	var a Alias
	if err := json.Unmarshal(b, &a); err != nil {
		return Alias{}, &Error{Kind: ErrIntegrity, Op: "read", Key: key, Err: err}
	}
	if !ValidVersion(a.Version) || len(a.SHA256) != 64 {
		return Alias{}, &Error{Kind: ErrIntegrity, Op: "read", Key: key, Err: fmt.Errorf("alias names version %q, sha256 %q", a.Version, a.SHA256)}
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
	b, etag, err := s.get(ctx, key, lastETag)
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
	keys, err := s.list(ctx, prefix, false)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Alias, len(keys))
	for _, k := range keys {
		name := strings.TrimSuffix(strings.TrimPrefix(k, prefix), ".json")
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

// SetAlias points alias at ref, replacing only the alias whose ETag is
// expectETag, or creating it when expectETag is empty and it does not
// exist yet. A writer that lost the race gets ErrConflict and should read
// the alias again and decide. It returns the new ETag.
func (s *Store) SetAlias(ctx context.Context, alias string, ref Ref, expectETag string) (string, error) {
	if err := checkName("model", ref.Model); err != nil {
		return "", err
	}
	if err := checkName("alias", alias); err != nil {
		return "", err
	}
	if err := checkVersion(ref.Version); err != nil {
		return "", err
	}
	key := aliasKey(ref.Model, alias)
	a := Alias{Version: ref.Version, SHA256: ref.SHA256, UpdatedAt: time.Now().UTC()}
	b, err := json.Marshal(a)
	if err != nil {
		return "", fmt.Errorf("encode alias: %w", err)
	}
	etag, err := s.put(ctx, key, b, "application/json", expectETag == "", expectETag)
	if err == nil {
		return etag, nil
	}
	if errors.Is(err, ErrConflict) || errors.Is(err, ErrUnavailable) {
		// A write whose answer was lost may have landed; the alias then
		// holds our exact bytes, timestamp included.
		if now, etag, gerr := s.get(ctx, key, ""); gerr == nil && bytes.Equal(now, b) {
			return etag, nil
		}
	}
	if errors.Is(err, ErrConflict) {
		return "", &Error{Kind: ErrConflict, Op: "set alias", Key: key, Err: errors.New("the alias changed since it was read")}
	}
	return "", err
}

// PutRun writes a run record (runs/<model>/<id>.json), replacing an older
// state of the same run.
func (s *Store) PutRun(ctx context.Context, model, id string, record []byte) error {
	if err := checkName("model", model); err != nil {
		return err
	}
	if err := checkVersion(id); err != nil {
		return err
	}
	_, err := s.put(ctx, runKey(model, id), record, "application/json", false, "")
	return err
}

// GetRun reads a run record.
func (s *Store) GetRun(ctx context.Context, model, id string) ([]byte, error) {
	if err := checkName("model", model); err != nil {
		return nil, err
	}
	if err := checkVersion(id); err != nil {
		return nil, err
	}
	b, _, err := s.get(ctx, runKey(model, id), "")
	return b, err
}

// ListRuns returns a model's run ids, newest first.
func (s *Store) ListRuns(ctx context.Context, model string) ([]string, error) {
	if err := checkName("model", model); err != nil {
		return nil, err
	}
	prefix := "runs/" + model + "/"
	keys, err := s.list(ctx, prefix, false)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, k := range keys {
		id := strings.TrimSuffix(strings.TrimPrefix(k, prefix), ".json")
		if ValidVersion(id) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out, nil
}

// ListRunModels returns the models that have run records, sorted.
func (s *Store) ListRunModels(ctx context.Context) ([]string, error) {
	keys, err := s.list(ctx, "runs/", true)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, k := range keys {
		if name := strings.TrimSuffix(strings.TrimPrefix(k, "runs/"), "/"); ValidName(name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Env is the part of envconfig.Env that OptionsFromEnv needs.
type Env interface {
	String(name, def, help string) string
	Secret(name, help string) string
	Bool(name string, def bool, help string) bool
	Duration(name string, def time.Duration, help string) time.Duration
}

// OptionsFromEnv declares and reads the S3_* variables both services share.
func OptionsFromEnv(env Env) Options {
	return Options{
		Endpoint:  env.String("S3_ENDPOINT", "localhost:9000", "S3 endpoint, host:port"),
		AccessKey: env.Secret("S3_ACCESS_KEY", "S3 access key"),
		SecretKey: env.Secret("S3_SECRET_KEY", "S3 secret key"),
		Bucket:    env.String("S3_BUCKET", "modelferry", "bucket holding models, runs and datasets (created when missing)"),
		Region:    env.String("S3_REGION", "us-east-1", "S3 region"),
		UseTLS:    env.Bool("S3_USE_TLS", false, "use https to reach S3"),
		Timeout:   env.Duration("S3_TIMEOUT", 10*time.Second, "timeout of each S3 call"),
	}
}

// WaitForBucket calls EnsureBucket until it succeeds or ctx ends, backing
// off from half a second to ten; onRetry, when set, hears of each failure.
func (s *Store) WaitForBucket(ctx context.Context, onRetry func(err error, wait time.Duration)) error {
	wait := 500 * time.Millisecond
	for {
		err := s.EnsureBucket(ctx)
		if err == nil {
			return nil
		}
		if onRetry != nil {
			onRetry(err, wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, 10*time.Second)
	}
}
