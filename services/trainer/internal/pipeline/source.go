package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/modelferry/modelferry/pkg/dataset"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

// Datasets is where the pipeline reads and keeps datasets;
// *modelstore.Store has it.
type Datasets interface {
	OpenDataset(ctx context.Context, ref string) (io.ReadCloser, int64, error)
	PutDataset(ctx context.Context, sum string, r io.Reader, size int64) (string, error)
	DatasetKey(ref string) (string, error)
	DatasetURI(key string) string
}

// Source is where a run's CSV comes from: a local file (an upload written
// to disk, perhaps still arriving, or the model's default dataset) or an
// object in the bucket.
type Source struct {
	// Path is a local file; empty for an S3 source.
	Path string
	// Ref is a dataset in the bucket ("datasets/x.csv" or s3://bucket/key).
	Ref string
	// Temporary files are removed when the run ends.
	Temporary bool
	// Upload, when set, is still writing Path: the run reads it as it
	// arrives.
	Upload *Upload
	// Name is the file's original name, kept in the run record; empty
	// for an S3 source.
	Name string
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
	// errUploadGone: the spooled upload was removed before the run read
	// it (by hand, or by a trainer of an older release sharing the
	// directory).
	errUploadGone = errors.New("the uploaded dataset was removed from the trainer's upload directory before the run read it; send it again")
)

// load parses the source, hashing it on the way and reporting the bytes
// read.
func load(ctx context.Context, store Datasets, src Source, label string, lim Limits, report func(read, total int64)) (*dataset.Dataset, registry.DatasetInfo, error) {
	r, size, err := open(ctx, store, src)
	if err != nil {
		return nil, registry.DatasetInfo{}, err
	}
	lim = lim.orDefaults()
	h := sha256.New()
	report(0, size)
	counted := &countingReader{r: r, total: size, report: report}
	br := bufio.NewReaderSize(ctxReader{ctx, counted}, 64<<10)
	header, err := lim.readHeader(br)
	var d *dataset.Dataset
	if err == nil {
		d, err = dataset.Parse(io.MultiReader(bytes.NewReader(header), br),
			dataset.Options{Label: label, SizeHint: size, MaxClasses: lim.MaxClasses, MaxNameBytes: lim.MaxNameBytes, Digest: h})
		err = classLimit(err)
	}
	if cerr := r.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close dataset: %w", cerr)
	}
	if err == nil {
		err = lim.checkDataset(d)
	}
	if err != nil && ctx.Err() != nil {
		return nil, registry.DatasetInfo{}, ctx.Err()
	}
	if err != nil && src.Path == "" && !errors.Is(err, dataset.ErrInvalid) && !errors.Is(err, ErrLimit) {
		// Not the data's fault: the object stopped streaming.
		return nil, registry.DatasetInfo{}, fmt.Errorf("read dataset %s: %w: %w", src.Ref, modelstore.ErrUnavailable, err)
	}
	if err != nil {
		return nil, registry.DatasetInfo{}, err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	info := registry.DatasetInfo{Filename: src.Name, SHA256: sum, Bytes: size, Rows: d.Rows(), Features: d.Features, Classes: d.Classes}
	if src.Path == "" {
		key, err := store.DatasetKey(src.Ref)
		if err != nil {
			return nil, registry.DatasetInfo{}, err
		}
		info.URI = store.DatasetURI(key)
	}
	return d, info, nil
}

// open opens the source and returns its size (-1 when unknown).
func open(ctx context.Context, store Datasets, src Source) (io.ReadCloser, int64, error) {
	var r io.ReadCloser
	var size int64
	switch {
	case src.Upload != nil:
		var err error
		r, err = src.Upload.open(ctx, src.Path)
		if errors.Is(err, os.ErrNotExist) {
			return nil, 0, errUploadGone
		}
		if err != nil {
			return nil, 0, fmt.Errorf("open upload: %w", err)
		}
		size = src.Upload.Size
	case src.Path != "":
		f, err := os.Open(src.Path)
		if errors.Is(err, os.ErrNotExist) {
			return nil, 0, fmt.Errorf("%w: %s", errDatasetNotFound, src.Path)
		}
		if err != nil {
			return nil, 0, fmt.Errorf("open dataset: %w", err)
		}
		st, err := f.Stat()
		if err != nil {
			_ = f.Close()
			return nil, 0, fmt.Errorf("stat dataset: %w", err)
		}
		r, size = f, st.Size()
	default:
		var err error
		r, size, err = store.OpenDataset(ctx, src.Ref)
		if errors.Is(err, modelstore.ErrNotFound) {
			return nil, 0, fmt.Errorf("%w: %s", errDatasetNotFound, src.Ref)
		}
		if errors.Is(err, modelstore.ErrInvalid) {
			return nil, 0, fmt.Errorf("%w: %w", errDatasetRef, err)
		}
		if err != nil {
			return nil, 0, fmt.Errorf("open dataset %s: %w", src.Ref, err)
		}
	}
	return r, size, nil
}

// persist stores a local source in the bucket under its hash, so the run
// can be reproduced, and returns its URI. An S3 source is there already.
func persist(ctx context.Context, store Datasets, src Source, info registry.DatasetInfo) (string, error) {
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
