package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// ErrUpload is wrapped by the error of a run whose upload broke off.
var ErrUpload = errors.New("the upload did not arrive whole")

// Upload is the file an HTTP upload is being written to while its run may
// already read it: loading the dataset overlaps the upload instead of
// following it. The bytes still go to disk first, to be stored in the
// bucket afterwards and to keep a second copy of the dataset off the heap.
type Upload struct {
	// Size is the length the request announced; -1 when it did not.
	Size int64

	mu      sync.Mutex
	grew    chan struct{} // closed, and replaced, when written or done change
	written int64
	done    bool
	err     error
}

// NewUpload returns an upload of size bytes, none written yet. Without a
// reader, Fill is a plain copy to disk (how a multipart upload is spooled).
func NewUpload(size int64) *Upload {
	return &Upload{Size: size, grew: make(chan struct{})}
}

// uploadBuffer bounds what Fill copies at a time.
const uploadBuffer = 256 << 10

// Fill copies r into the file at path, which exists, making every write
// visible to the run's reader. explain turns a failed read of r into the
// error both the caller and the run report; Fill returns it.
func (u *Upload) Fill(path string, r io.Reader, explain func(error) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		err = fmt.Errorf("open upload file: %w", err)
		u.update(0, true, err)
		return err
	}
	buf := make([]byte, uploadBuffer)
	// The run sees the client's part as ErrUpload; a failed write is the
	// trainer's own, an internal error.
	var runErr error
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			if _, werr := f.Write(buf[:n]); werr != nil {
				err = fmt.Errorf("write upload file: %w", werr)
				runErr = err
				break
			}
			u.update(int64(n), false, nil)
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			err = explain(rerr)
			runErr = fmt.Errorf("%w: %w", ErrUpload, err)
			break
		}
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write upload file: %w", cerr)
		runErr = err
	}
	u.update(0, true, runErr)
	return err
}

func (u *Upload) update(n int64, done bool, err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.written += n
	u.done, u.err = done, err
	close(u.grew)
	u.grew = make(chan struct{})
}

// open returns a reader of path that reads what Fill has written, waits
// for more until the upload is done, and ends with its error or io.EOF.
func (u *Upload) open(ctx context.Context, path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &uploadReader{ctx: ctx, u: u, f: f}, nil
}

type uploadReader struct {
	ctx context.Context
	u   *Upload
	f   *os.File
	off int64
}

func (r *uploadReader) Read(p []byte) (int, error) {
	for {
		r.u.mu.Lock()
		written, done, err, grew := r.u.written, r.u.done, r.u.err, r.u.grew
		r.u.mu.Unlock()
		if r.off < written {
			n, rerr := r.f.ReadAt(p[:min(int64(len(p)), written-r.off)], r.off)
			r.off += int64(n)
			if errors.Is(rerr, io.EOF) {
				rerr = nil // written is the file's size: nothing was lost
			}
			return n, rerr
		}
		if done && err != nil {
			return 0, err
		}
		if done {
			return 0, io.EOF
		}
		select {
		case <-grew:
		case <-r.ctx.Done():
			return 0, r.ctx.Err()
		}
	}
}

func (r *uploadReader) Close() error { return r.f.Close() }
