package training

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/modelferry/modelferry/pkg/dataset"
	"github.com/modelferry/modelferry/pkg/modelstore"
)

// Source is where a run's CSV comes from: a local file (an upload spooled
// to disk, or the model's default dataset) or an object in the bucket.
type Source struct {
	// Path is a local file; empty for an S3 source.
	Path string
	// Ref is a dataset in the bucket ("datasets/x.csv" or s3://bucket/key).
	Ref string
	// Temporary files are removed when the run ends.
	Temporary bool
}

// Release removes a temporary file.
func (s Source) Release() {
	if s.Temporary && s.Path != "" {
		_ = os.Remove(s.Path)
	}
}

// Errors of load that the run record explains to the user.
var (
	errDatasetNotFound = errors.New("dataset not found")
	errDatasetRef      = errors.New("invalid dataset reference")
)

// load parses the source, hashing it on the way.
func load(ctx context.Context, store *modelstore.Store, src Source, label string) (*dataset.Dataset, DatasetInfo, error) {
	var r io.ReadCloser
	var size int64
	if src.Path != "" {
		f, err := os.Open(src.Path)
		if errors.Is(err, os.ErrNotExist) {
			return nil, DatasetInfo{}, fmt.Errorf("%w: %s", errDatasetNotFound, src.Path)
		}
		if err != nil {
			return nil, DatasetInfo{}, fmt.Errorf("open dataset: %w", err)
		}
		st, err := f.Stat()
		if err != nil {
			_ = f.Close()
			return nil, DatasetInfo{}, fmt.Errorf("stat dataset: %w", err)
		}
		r, size = f, st.Size()
	} else {
		var err error
		r, size, err = store.OpenDataset(ctx, src.Ref)
		if errors.Is(err, modelstore.ErrNotFound) {
			return nil, DatasetInfo{}, fmt.Errorf("%w: %s", errDatasetNotFound, src.Ref)
		}
		if errors.Is(err, modelstore.ErrInvalid) {
			return nil, DatasetInfo{}, fmt.Errorf("%w: %w", errDatasetRef, err)
		}
		if err != nil {
			return nil, DatasetInfo{}, fmt.Errorf("open dataset %s: %w", src.Ref, err)
		}
	}
	h := sha256.New()
	d, err := dataset.Parse(r, dataset.Options{Label: label, SizeHint: size, Digest: h})
	if cerr := r.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close dataset: %w", cerr)
	}
	if err != nil && src.Path == "" && !errors.Is(err, dataset.ErrInvalid) {
		// Not the data's fault: the object stopped streaming.
		return nil, DatasetInfo{}, fmt.Errorf("read dataset %s: %w: %w", src.Ref, modelstore.ErrUnavailable, err)
	}
	if err != nil {
		return nil, DatasetInfo{}, err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	info := DatasetInfo{SHA256: sum, Bytes: size, Rows: d.Rows(), Features: d.Features, Classes: d.Classes}
	if src.Path == "" {
		key, err := store.DatasetKey(src.Ref)
		if err != nil {
			return nil, DatasetInfo{}, err
		}
		info.URI = "s3://" + store.Bucket() + "/" + key
	}
	return d, info, nil
}

// persist stores a local source in the bucket under its hash, so the run
// can be reproduced, and returns its URI. An S3 source is there already.
func persist(ctx context.Context, store *modelstore.Store, src Source, info DatasetInfo) (string, error) {
	if src.Path == "" {
		return info.URI, nil
	}
	f, err := os.Open(src.Path)
	if err != nil {
		return "", fmt.Errorf("reopen dataset: %w", err)
	}
	defer f.Close()
	uri, err := store.PutDataset(ctx, info.SHA256, f, info.Bytes)
	if err != nil {
		return "", fmt.Errorf("store dataset: %w", err)
	}
	return uri, nil
}
