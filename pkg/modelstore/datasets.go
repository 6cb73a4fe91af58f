package modelstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// PutDataset stores a CSV under datasets/<sha256>.csv, where sum is the
// SHA-256 the caller computed while receiving it. The same content stored
// twice is one object. It returns the dataset's s3:// URI.
func (s *Store) PutDataset(ctx context.Context, sum string, r io.Reader, size int64) (string, error) {
	if !ValidSHA256(sum) {
		return "", errorf(ErrInvalid, "put dataset", sum, "not a hex sha256")
	}
	key := datasetKey(sum)
	uri := s.DatasetURI(key)
	if ok, err := s.exists(ctx, key); err != nil {
		return "", err
	} else if ok {
		return uri, nil
	}
	_, err := s.bucket.Put(ctx, key, r, size, PutOptions{ContentType: "text/csv", CreateOnly: true, Multipart: true, UnhashedPayload: true})
	if errors.Is(err, ErrConflict) {
		return uri, nil // stored meanwhile by someone else: same content
	}
	if err != nil {
		return "", err
	}
	return uri, nil
}

// DatasetKey resolves a dataset reference, a key in the store's bucket
// ("datasets/big.csv") or "s3://<bucket>/<key>", to a key.
func (s *Store) DatasetKey(ref string) (string, error) {
	key := ref
	if rest, ok := strings.CutPrefix(ref, "s3://"); ok {
		bucket, k, _ := strings.Cut(rest, "/")
		if bucket != s.bucket.Name() {
			return "", errorf(ErrInvalid, "open dataset", ref, "bucket %q is not the registry's bucket %q", bucket, s.bucket.Name())
		}
		key = k
	}
	if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, "..") {
		return "", errorf(ErrInvalid, "open dataset", ref, "not an object key")
	}
	return key, nil
}

// DatasetURI is the s3:// URI of a key in the store's bucket.
func (s *Store) DatasetURI(key string) string { return "s3://" + s.bucket.Name() + "/" + key }

// OpenDataset streams a dataset object and returns its size. The caller
// closes the reader.
func (s *Store) OpenDataset(ctx context.Context, ref string) (io.ReadCloser, int64, error) {
	key, err := s.DatasetKey(ref)
	if err != nil {
		return nil, 0, err
	}
	r, size, err := s.bucket.Open(ctx, key)
	if err != nil {
		return nil, 0, fmt.Errorf("open dataset %s: %w", ref, err)
	}
	return r, size, nil
}

// Dataset is a content-addressed dataset in the bucket.
type Dataset struct {
	SHA256 string `json:"sha256"`
	URI    string `json:"uri"`
	Bytes  int64  `json:"bytes"`
}

// ListDatasets returns the content-addressed datasets
// (datasets/<sha256>.csv), sorted by hash; other objects under datasets/
// are not listed.
func (s *Store) ListDatasets(ctx context.Context) ([]Dataset, error) {
	objs, err := s.list(ctx, datasetPrefix, ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list datasets: %w", err)
	}
	out := []Dataset{}
	for _, o := range objs {
		sum, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, datasetPrefix), ".csv")
		if ok && ValidSHA256(sum) {
			out = append(out, Dataset{SHA256: sum, URI: s.DatasetURI(o.Key), Bytes: o.Size})
		}
	}
	return out, nil
}
