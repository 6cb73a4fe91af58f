package modelstore

import (
	"context"
	"io"
)

// Bucket is the object storage a Store keeps the registry in: one bucket
// with conditional reads and writes. S3 (any S3-compatible server, through
// minio-go) and Memory implement it. Every error it returns is classified
// as one of the Err* kinds.
type Bucket interface {
	// Name is the bucket's name, as s3:// URIs show it.
	Name() string
	// Get reads a whole small object and its ETag. With IfNoneMatch set
	// it returns errNotModified while the object still has that ETag.
	Get(ctx context.Context, key string, opts GetOptions) (body []byte, etag string, err error)
	// Open streams an object; the caller closes it.
	Open(ctx context.Context, key string) (io.ReadCloser, int64, error)
	// Put writes an object and returns its new ETag.
	Put(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions) (etag string, err error)
	// Stat returns an object's metadata.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// List returns the keys under prefix in lexical order or, with
	// Delimited, the common prefixes one level below it.
	List(ctx context.Context, prefix string, opts ListOptions) ([]ObjectInfo, error)
	// Delete removes an object; a missing one is not an error.
	Delete(ctx context.Context, key string) error
	// EnsureBucket creates the bucket when it does not exist.
	EnsureBucket(ctx context.Context) error
	// Exists reports whether the bucket exists.
	Exists(ctx context.Context) (bool, error)
}

// GetOptions are the conditions of a read.
type GetOptions struct {
	// IfNoneMatch makes the read conditional: an object that still has
	// this ETag is not sent again (errNotModified).
	IfNoneMatch string
	// MaxBytes, when positive, refuses an object larger than it
	// (ErrTooLarge) without reading more than MaxBytes+1 bytes of it.
	MaxBytes int64
}

// PutOptions are the conditions and headers of a write.
type PutOptions struct {
	ContentType string
	// CreateOnly refuses to replace an existing object (If-None-Match: *).
	CreateOnly bool
	// IfMatch replaces only the object with this ETag (compare-and-swap).
	IfMatch string
	// Multipart allows a large streamed body to go up in parts; small
	// objects go up in one request with their MD5.
	Multipart bool
	// UnhashedPayload leaves the body out of the request's signature:
	// over plain HTTP it would otherwise be hashed once more on each side.
	// For content-addressed objects, whose key names their hash.
	UnhashedPayload bool
}

// ListOptions shape a listing.
type ListOptions struct {
	// Delimited lists the common prefixes one level below the prefix
	// instead of every key under it.
	Delimited bool
}

// ObjectInfo describes a stored object (or, in a delimited listing, a
// common prefix, with only Key set).
type ObjectInfo struct {
	Key  string
	Size int64
	ETag string
}
