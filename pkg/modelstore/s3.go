package modelstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"

	"github.com/minio/minio-go/v7"
)

// S3Options configures an S3 bucket.
type S3Options struct {
	Endpoint  string // host:port
	AccessKey string
	SecretKey string
	Bucket    string
	Region    string
	UseTLS    bool
	// AWS are the credential sources tried when AccessKey and SecretKey
	// are empty.
	AWS AWS
	// Transport replaces the HTTP transport, for tests.
	Transport http.RoundTripper
}

// S3 is a Bucket in any S3-compatible server (AWS S3, MinIO, versitygw),
// through minio-go. It relies on two features beyond plain GET and PUT:
// conditional GET (If-None-Match, answered 304) and conditional PUT
// (If-Match on an ETag, If-None-Match: *).
type S3 struct {
	client *minio.Client
	bucket string
	region string
}

// NewS3 returns an S3 bucket. It does not contact the server.
func NewS3(opts S3Options) (*S3, error) {
	if opts.Endpoint == "" || opts.Bucket == "" {
		return nil, errors.New("modelstore: endpoint and bucket are required")
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	c, err := minio.New(opts.Endpoint, &minio.Options{
		Creds:     credentialChain(opts),
		Secure:    opts.UseTLS,
		Region:    opts.Region,
		Transport: opts.Transport,
		// Retries are the Store's: only idempotent calls are retried,
		// within the caller's deadline.
		MaxRetries: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("modelstore: %w", err)
	}
	return &S3{client: c, bucket: opts.Bucket, region: opts.Region}, nil
}

// Name implements Bucket.
func (s *S3) Name() string { return s.bucket }

// Get implements Bucket.
func (s *S3) Get(ctx context.Context, key string, opts GetOptions) ([]byte, string, error) {
	gopts := minio.GetObjectOptions{}
	if opts.IfNoneMatch != "" {
		if err := gopts.SetMatchETagExcept(opts.IfNoneMatch); err != nil {
			return nil, "", classify("get", key, err)
		}
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, gopts)
	if err != nil {
		return nil, "", classify("get", key, err)
	}
	defer obj.Close()
	info, err := obj.Stat()
	if err != nil {
		return nil, "", classify("get", key, err)
	}
	if opts.MaxBytes > 0 && info.Size > opts.MaxBytes {
		return nil, "", tooLarge(key, info.Size, opts.MaxBytes)
	}
	var r io.Reader = obj
	if opts.MaxBytes > 0 {
		r = io.LimitReader(obj, opts.MaxBytes+1)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, "", classify("get", key, err)
	}
	if opts.MaxBytes > 0 && int64(len(b)) > opts.MaxBytes {
		return nil, "", tooLarge(key, int64(len(b)), opts.MaxBytes)
	}
	return b, info.ETag, nil
}

// Open implements Bucket.
func (s *S3) Open(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, 0, classify("get", key, err)
	}
	info, err := obj.Stat()
	if err != nil {
		_ = obj.Close()
		return nil, 0, classify("get", key, err)
	}
	return obj, info.Size, nil
}

// Put implements Bucket.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions) (string, error) {
	popts := minio.PutObjectOptions{ContentType: opts.ContentType, DisableMultipart: !opts.Multipart, SendContentMd5: !opts.Multipart,
		DisableContentSha256: opts.UnhashedPayload}
	switch {
	case opts.CreateOnly:
		popts.SetMatchETagExcept("*")
	case opts.IfMatch != "":
		popts.SetMatchETag(opts.IfMatch)
	}
	info, err := s.client.PutObject(ctx, s.bucket, key, r, size, popts)
	if err != nil {
		return "", classify("put", key, err)
	}
	return info.ETag, nil
}

// Stat implements Bucket.
func (s *S3) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	info, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return ObjectInfo{}, classify("stat", key, err)
	}
	return ObjectInfo{Key: key, Size: info.Size, ETag: info.ETag}, nil
}

// List implements Bucket.
func (s *S3) List(ctx context.Context, prefix string, opts ListOptions) ([]ObjectInfo, error) {
	var out []ObjectInfo
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: !opts.Delimited}) {
		if obj.Err != nil {
			return nil, classify("list", prefix, obj.Err)
		}
		out = append(out, ObjectInfo{Key: obj.Key, Size: obj.Size, ETag: obj.ETag})
	}
	return out, nil
}

// Delete implements Bucket.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return classify("delete", key, err)
	}
	return nil
}

// EnsureBucket implements Bucket.
func (s *S3) EnsureBucket(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return classify("ensure bucket", s.bucket, err)
	}
	if ok {
		return nil
	}
	err = s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: s.region})
	if code := minio.ToErrorResponse(err).Code; code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists" {
		return nil
	}
	return classify("make bucket", s.bucket, err)
}

// Exists implements Bucket.
func (s *S3) Exists(ctx context.Context) (bool, error) {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return false, classify("ping", s.bucket, err)
	}
	return ok, nil
}

// classify reads the S3 error code before anything wraps it
// (minio.ToErrorResponse does not unwrap) and returns a typed Error.
func classify(op, key string, err error) error {
	if err == nil {
		return nil
	}
	var se *Error
	if errors.As(err, &se) {
		return err
	}
	resp := minio.ToErrorResponse(err)
	kind := ErrUnavailable
	switch {
	case resp.StatusCode == http.StatusNotModified || resp.Code == "NotModified":
		return errNotModified
	case resp.Code == "NoSuchKey" || resp.Code == "NoSuchBucket" || resp.StatusCode == http.StatusNotFound:
		kind = ErrNotFound
	case resp.Code == "PreconditionFailed" || resp.StatusCode == http.StatusPreconditionFailed ||
		resp.Code == "ConditionalRequestConflict" || resp.StatusCode == http.StatusConflict:
		kind = ErrConflict
	case resp.Code == "InvalidAccessKeyId" || resp.Code == "SignatureDoesNotMatch" || resp.Code == "AccessDenied" ||
		resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized:
		kind = ErrAccessDenied
	case resp.StatusCode >= 500, isNetwork(err):
		kind = ErrUnavailable
	case resp.StatusCode >= 400:
		kind = ErrInvalid
	}
	return &Error{Kind: kind, Op: op, Key: key, Err: err}
}

func isNetwork(err error) bool {
	var ne net.Error
	var ue *url.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) || errors.As(err, &ue)
}

// OpenS3 returns a Store over an S3 bucket. It does not contact the
// server.
func OpenS3(s3 S3Options, opts Options) (*Store, error) {
	b, err := NewS3(s3)
	if err != nil {
		return nil, err
	}
	return New(b, opts), nil
}
