package pipeline

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelferry/modelferry/pkg/errcode"
)

// newUpload starts filling an upload of size bytes from a pipe, which
// stands for the request body: each write to it is one Read of Fill.
func newUpload(t *testing.T, size int64) (*Upload, string, *io.PipeWriter, <-chan error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "upload.csv")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	u := NewUpload(size)
	pr, pw := io.Pipe()
	filled := make(chan error, 1)
	go func() { filled <- u.Fill(path, pr, func(err error) error { return err }) }()
	return u, path, pw, filled
}

func TestUploadReaderFollowsTheWriter(t *testing.T) {
	u, path, pw, filled := newUpload(t, 8)
	r, err := u.open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := make(chan []byte, 1)
	go func() {
		b, err := io.ReadAll(r)
		if err != nil {
			b = []byte(err.Error())
		}
		got <- b
	}()
	for _, part := range []string{"a,b\n", "1,", "x\n"} {
		if _, err := pw.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case b := <-got:
		t.Fatalf("read %q before the upload ended", b)
	case <-time.After(20 * time.Millisecond):
	}
	pw.Close()
	if b := <-got; string(b) != "a,b\n1,x\n" {
		t.Errorf("read %q", b)
	}
	if err := <-filled; err != nil {
		t.Error(err)
	}
}

func TestUploadReaderEnds(t *testing.T) {
	t.Run("with the upload's error", func(t *testing.T) {
		u, path, pw, filled := newUpload(t, 8)
		r, _ := u.open(context.Background(), path)
		defer r.Close()
		pw.Write([]byte("a,b\n"))
		pw.CloseWithError(errors.New("connection reset"))
		if err := <-filled; err == nil || errors.Is(err, ErrUpload) {
			t.Errorf("Fill: %v, want the explained error", err)
		}
		b, err := io.ReadAll(r)
		if string(b) != "a,b\n" || !errors.Is(err, ErrUpload) || RunError(err).Code != errcode.InvalidArgument {
			t.Errorf("read %q, %v (%+v)", b, err, RunError(err))
		}
	})
	t.Run("when its run is cancelled", func(t *testing.T) {
		u, path, pw, _ := newUpload(t, 8)
		defer pw.Close()
		ctx, cancel := context.WithCancel(context.Background())
		r, _ := u.open(ctx, path)
		defer r.Close()
		time.AfterFunc(10*time.Millisecond, cancel)
		if _, err := r.Read(make([]byte, 8)); !errors.Is(err, context.Canceled) {
			t.Errorf("read: %v, want context.Canceled", err)
		}
	})
}
