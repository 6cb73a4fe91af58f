// Package modelstore is the model registry both services share, kept in
// one bucket of object storage (any S3-compatible server, or memory for
// tests):
//
//	models/<model>/versions/<version>/run.json   the version's record, written first
//	models/<model>/versions/<version>/model.pb   the artifact, written last: the version exists once it does
//	models/<model>/aliases/<alias>.json          {"version", "sha256", "updated_at"}
//	runs/<model>/<run-id>.json                   every run, failed ones too
//	index/runs/<run-id>.json                     {"model"}: finds a run by id alone
//	datasets/<sha256>.csv                        uploaded data, content-addressed
//
// Versions are immutable (create-only writes) and aliases move by
// compare-and-swap on their ETag, so two writers never lose an update and
// a reader following an alias never sees a half-written model. The Store
// keeps the layout and these rules; what the documents mean is the
// services' business: it stores artifacts and records as bytes.
package modelstore

import (
	"bytes"
	"context"
	"errors"
	"time"
)

// Options configures a Store.
type Options struct {
	// Timeout bounds each attempt of a small-object call (aliases,
	// artifacts, records); 0 means 10s. Dataset transfers are bounded by
	// the caller's context.
	Timeout time.Duration
	// ReadParallelism bounds the reads GetRuns has in flight; 0 means 16.
	ReadParallelism int
	// MaxArtifactBytes bounds the artifact ReadArtifact takes; 0 means
	// DefaultMaxArtifactBytes.
	MaxArtifactBytes int64
}

// Bounds of reads: an alias is a small document; an artifact is refused
// past Options.MaxArtifactBytes, by default 256 MiB.
const (
	MaxAliasBytes           = 64 << 10
	DefaultMaxArtifactBytes = 256 << 20
)

// Store reads and writes the registry in one bucket.
type Store struct {
	bucket           Bucket
	timeout          time.Duration
	readParallelism  int
	maxArtifactBytes int64
}

// New returns a Store over b. It does not contact the storage.
func New(b Bucket, opts Options) *Store {
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.ReadParallelism < 1 {
		opts.ReadParallelism = readParallelism
	}
	if opts.MaxArtifactBytes <= 0 {
		opts.MaxArtifactBytes = DefaultMaxArtifactBytes
	}
	return &Store{bucket: b, timeout: opts.Timeout, readParallelism: opts.ReadParallelism, maxArtifactBytes: opts.MaxArtifactBytes}
}

// WithMaxArtifactBytes is the store over the same bucket, reading
// artifacts of at most n bytes (n > 0).
func (s *Store) WithMaxArtifactBytes(n int64) *Store {
	c := *s
	c.maxArtifactBytes = n
	return &c
}

// Bucket is the name of the bucket the store uses.
func (s *Store) Bucket() string { return s.bucket.Name() }

// EnsureBucket creates the bucket when it does not exist.
func (s *Store) EnsureBucket(ctx context.Context) error {
	return s.retry(ctx, func(ctx context.Context) error { return s.bucket.EnsureBucket(ctx) })
}

// Ping checks that the storage answers and the bucket exists.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	ok, err := s.bucket.Exists(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return errorf(ErrNotFound, "ping", s.bucket.Name(), "bucket does not exist")
	}
	return nil
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

// put writes a small object within the store's timeout. Writes are not
// retried: a conditional write whose answer was lost is the caller's to
// resolve.
func (s *Store) put(ctx context.Context, key string, b []byte, opts PutOptions) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.bucket.Put(ctx, key, bytes.NewReader(b), int64(len(b)), opts)
}

// get reads a small object whole, retrying transient failures.
func (s *Store) get(ctx context.Context, key string, opts GetOptions) (body []byte, etag string, err error) {
	err = s.retry(ctx, func(ctx context.Context) error {
		body, etag, err = s.bucket.Get(ctx, key, opts)
		return err
	})
	return body, etag, err
}

func (s *Store) list(ctx context.Context, prefix string, opts ListOptions) (out []ObjectInfo, err error) {
	err = s.retry(ctx, func(ctx context.Context) error {
		out, err = s.bucket.List(ctx, prefix, opts)
		return err
	})
	return out, err
}

func (s *Store) exists(ctx context.Context, key string) (bool, error) {
	err := s.retry(ctx, func(ctx context.Context) error {
		_, err := s.bucket.Stat(ctx, key)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// retry runs an idempotent call with a per-attempt timeout, retrying
// unavailability with backoff until the caller's context ends or three
// attempts failed.
func (s *Store) retry(ctx context.Context, call func(context.Context) error) error {
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, s.timeout)
		err := call(actx)
		cancel()
		if err == nil || !errors.Is(err, ErrUnavailable) || attempt == 3 || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
		backoff *= 3
	}
}
