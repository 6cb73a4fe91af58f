package modelstore

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
)

// Memory is a Bucket in memory with the semantics of S3 that the Store
// relies on (ETags, conditional reads and writes, lexical listings) and a
// hook that injects faults. Handler and registry tests use it; the real
// S3 tier runs the same Store against versitygw.
type Memory struct {
	name string

	mu      sync.Mutex
	objects map[string]memObject
	exists  bool
	hook    func(op, key string) error
}

type memObject struct {
	body []byte
	etag string
}

// NewMemory returns an empty in-memory bucket that already exists.
func NewMemory(name string) *Memory {
	return &Memory{name: name, objects: map[string]memObject{}, exists: true}
}

// SetHook installs f, called before every operation with its name ("get",
// "open", "put", "stat", "list", "delete", "ensure", "exists", and "read"
// before each Read of an opened object) and key. A
// non-nil error fails the operation; an error of no Err* kind is reported
// as ErrUnavailable. f runs without the bucket's lock held, so it may read
// and write the bucket itself (to race a writer, for example).
func (m *Memory) SetHook(f func(op, key string) error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hook = f
}

// Keys returns every stored key, sorted.
func (m *Memory) Keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([]string, 0, len(m.objects))
	for k := range m.objects {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Overwrite replaces an object unconditionally, as a corrupting disk or a
// careless operator would.
func (m *Memory) Overwrite(key string, body []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objects[key] = memObject{body: bytes.Clone(body), etag: etagOf(body)}
}

// check fails an operation whose context has ended, as a network client
// does, then asks the hook.
func (m *Memory) check(ctx context.Context, op, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s %s: %w", op, key, err)
	}
	m.mu.Lock()
	hook := m.hook
	m.mu.Unlock()
	if hook == nil {
		return nil
	}
	err := hook(op, key)
	if err == nil {
		return nil
	}
	var se *Error
	if errors.As(err, &se) {
		return err
	}
	for _, kind := range []error{ErrNotFound, ErrConflict, ErrIntegrity, ErrUnavailable, ErrAccessDenied, ErrInvalid} {
		if errors.Is(err, kind) {
			return &Error{Kind: kind, Op: op, Key: key, Err: err}
		}
	}
	return &Error{Kind: ErrUnavailable, Op: op, Key: key, Err: err}
}

// etagOf is the MD5 of the body, as S3 makes it for a single-part upload.
func etagOf(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

func (m *Memory) notFound(op, key string) error {
	return errorf(ErrNotFound, op, key, "no such key")
}

// Name implements Bucket.
func (m *Memory) Name() string { return m.name }

// Get implements Bucket.
func (m *Memory) Get(ctx context.Context, key string, opts GetOptions) ([]byte, string, error) {
	if err := m.check(ctx, "get", key); err != nil {
		return nil, "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objects[key]
	switch {
	case !ok:
		return nil, "", m.notFound("get", key)
	case opts.IfNoneMatch != "" && opts.IfNoneMatch == o.etag:
		return nil, "", errNotModified
	case opts.MaxBytes > 0 && int64(len(o.body)) > opts.MaxBytes:
		return nil, "", tooLarge(key, int64(len(o.body)), opts.MaxBytes)
	}
	return bytes.Clone(o.body), o.etag, nil
}

// Open implements Bucket.
func (m *Memory) Open(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	if err := m.check(ctx, "open", key); err != nil {
		return nil, 0, err
	}
	m.mu.Lock()
	o, ok := m.objects[key]
	m.mu.Unlock()
	if !ok {
		return nil, 0, m.notFound("open", key)
	}
	return io.NopCloser(&memReader{m: m, key: key, r: bytes.NewReader(o.body)}), int64(len(o.body)), nil
}

// memReader reads an opened object, asking the hook before each read.
type memReader struct {
	m   *Memory
	key string
	r   *bytes.Reader
}

func (r *memReader) Read(p []byte) (int, error) {
	if err := r.m.check(context.Background(), "read", r.key); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// Put implements Bucket.
func (m *Memory) Put(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions) (string, error) {
	if err := m.check(ctx, "put", key); err != nil {
		return "", err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return "", &Error{Kind: ErrUnavailable, Op: "put", Key: key, Err: err}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objects[key]
	switch {
	case opts.CreateOnly && ok:
		return "", errorf(ErrConflict, "put", key, "object exists (If-None-Match: *)")
	case opts.IfMatch != "" && (!ok || o.etag != opts.IfMatch):
		return "", errorf(ErrConflict, "put", key, "etag is not %s (If-Match)", opts.IfMatch)
	}
	o = memObject{body: b, etag: etagOf(b)}
	m.objects[key] = o
	return o.etag, nil
}

// Stat implements Bucket.
func (m *Memory) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	if err := m.check(ctx, "stat", key); err != nil {
		return ObjectInfo{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objects[key]
	if !ok {
		return ObjectInfo{}, m.notFound("stat", key)
	}
	return ObjectInfo{Key: key, Size: int64(len(o.body)), ETag: o.etag}, nil
}

// List implements Bucket.
func (m *Memory) List(ctx context.Context, prefix string, opts ListOptions) ([]ObjectInfo, error) {
	if err := m.check(ctx, "list", prefix); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []ObjectInfo
	seen := map[string]bool{}
	for k, o := range m.objects {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		if opts.Delimited {
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				p := prefix + rest[:i+1]
				if !seen[p] {
					seen[p] = true
					out = append(out, ObjectInfo{Key: p})
				}
				continue
			}
		}
		out = append(out, ObjectInfo{Key: k, Size: int64(len(o.body)), ETag: o.etag})
	}
	slices.SortFunc(out, func(a, b ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// Delete implements Bucket.
func (m *Memory) Delete(ctx context.Context, key string) error {
	if err := m.check(ctx, "delete", key); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objects, key)
	return nil
}

// EnsureBucket implements Bucket.
func (m *Memory) EnsureBucket(ctx context.Context) error {
	if err := m.check(ctx, "ensure", m.name); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.exists = true
	return nil
}

// Exists implements Bucket.
func (m *Memory) Exists(ctx context.Context) (bool, error) {
	if err := m.check(ctx, "exists", m.name); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.exists, nil
}
