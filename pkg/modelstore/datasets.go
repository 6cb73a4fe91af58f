package modelstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/minio/minio-go/v7"
)

var sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// PutDataset stores a CSV under datasets/<sha256>.csv, where sum is the
// SHA-256 the caller computed while receiving it. The same content stored
// twice is one object. It returns the dataset's s3:// URI.
func (s *Store) PutDataset(ctx context.Context, sum string, r io.Reader, size int64) (string, error) {
	if !sha256RE.MatchString(sum) {
		return "", &Error{Kind: ErrInvalid, Op: "put dataset", Key: sum, Err: errors.New("not a hex sha256")}
	}
	key := datasetKey(sum)
	uri := "s3://" + s.bucket + "/" + key
	if ok, err := s.exists(ctx, key); err != nil {
		return "", err
	} else if ok {
		return uri, nil
	}
	// The payload is not hashed for the request's signature: over plain
	// HTTP that would hash the whole file once more on each side, and the
	// key already names the content's sha256.
	opts := minio.PutObjectOptions{ContentType: "text/csv", DisableContentSha256: true}
	opts.SetMatchETagExcept("*")
	if _, err := s.client.PutObject(ctx, s.bucket, key, r, size, opts); err != nil {
		cerr := classify("put", key, err)
		if errors.Is(cerr, ErrConflict) {
			return uri, nil // stored meanwhile by someone else: same content
		}
		return "", cerr
	}
	return uri, nil
}

// DatasetKey resolves a dataset reference, a key in the store's bucket
// ("datasets/big.csv") or "s3://<bucket>/<key>", to a key.
func (s *Store) DatasetKey(ref string) (string, error) {
	key := ref
	if rest, ok := strings.CutPrefix(ref, "s3://"); ok {
		bucket, k, _ := strings.Cut(rest, "/")
		if bucket != s.bucket {
			return "", &Error{Kind: ErrInvalid, Op: "open dataset", Key: ref,
				Err: fmt.Errorf("bucket %q is not the registry's bucket %q", bucket, s.bucket)}
		}
		key = k
	}
	if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, "..") {
		return "", &Error{Kind: ErrInvalid, Op: "open dataset", Key: ref, Err: errors.New("not an object key")}
	}
	return key, nil
}

// OpenDataset streams a dataset object and returns its size. The caller
// closes the reader.
func (s *Store) OpenDataset(ctx context.Context, ref string) (io.ReadCloser, int64, error) {
	key, err := s.DatasetKey(ref)
	if err != nil {
		return nil, 0, err
	}
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
