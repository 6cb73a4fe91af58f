package modelstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelferry/modelferry/devstack/testkit/s3test"
)

// countingTransport counts requests and response body bytes, to show what
// a poll moves.
type countingTransport struct {
	bodyBytes atomic.Int64
	requests  atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	c.requests.Add(1)
	if err == nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, n: &c.bodyBytes}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func newS3Store(t testing.TB, srv *s3test.Server, timeout time.Duration, mutate ...func(*S3Options)) *Store {
	t.Helper()
	opts := S3Options{Endpoint: srv.Endpoint, AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, Bucket: "modelferry"}
	for _, m := range mutate {
		m(&opts)
	}
	b, err := NewS3(opts)
	if err != nil {
		t.Fatal(err)
	}
	return New(b, Options{Timeout: timeout})
}

func TestStoreAgainstVersitygw(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	ct := &countingTransport{}
	s := newS3Store(t, srv, 2*time.Second, func(o *S3Options) { o.Transport = ct })

	t.Run("missing bucket is created", func(t *testing.T) {
		if err := s.Ping(ctx); !errors.Is(err, ErrNotFound) {
			t.Fatalf("ping before create: %v, want ErrNotFound", err)
		}
		if err := s.EnsureBucket(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.EnsureBucket(ctx); err != nil {
			t.Fatalf("second EnsureBucket: %v", err)
		}
		if err := s.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})

	// Damage goes in through S3 without conditions, as a careless writer's
	// would.
	raw, err := NewS3(S3Options{Endpoint: srv.Endpoint, AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, Bucket: "modelferry"})
	if err != nil {
		t.Fatal(err)
	}
	storeSuite(t, s, func(key string, b []byte) {
		if _, err := raw.Put(ctx, key, bytes.NewReader(b), int64(len(b)), PutOptions{}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("an unchanged poll moves no body", func(t *testing.T) {
		_, etag, err := s.GetAlias(ctx, "iris", "production")
		if err != nil {
			t.Fatal(err)
		}
		before := ct.bodyBytes.Load()
		if _, _, changed, err := s.PollAlias(ctx, "iris", "production", etag); err != nil || changed {
			t.Fatalf("unchanged poll: changed=%v err=%v", changed, err)
		}
		if moved := ct.bodyBytes.Load() - before; moved != 0 {
			t.Errorf("unchanged poll moved %d body bytes, want 0", moved)
		}
	})

	t.Run("invalid names never reach the server", func(t *testing.T) {
		n := ct.requests.Load()
		_, _ = s.ListVersions(ctx, "Bad Name")
		_, _, _ = s.GetAlias(ctx, "iris", "../x")
		_, _ = s.ReadArtifact(ctx, "iris", "latest", "")
		if ct.requests.Load() != n {
			t.Error("invalid names reached the server")
		}
	})
}

func TestConcurrentAliasWritersAgainstVersitygw(t *testing.T) {
	concurrentAliasWriters(t, newS3Store(t, s3test.Start(t), 2*time.Second))
}

func TestOutageIsUnavailableAndRecovers(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	s := newS3Store(t, srv, time.Second)
	if err := s.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, _, err := s.GetAlias(cctx, "iris", "production"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("get during outage: %v, want ErrUnavailable", err)
	}
	if cctx.Err() != nil {
		t.Error("outage error took longer than the caller's deadline")
	}
	if _, err := s.SetAlias(ctx, "production", Ref{Model: "iris", Version: "20261126T100000Z-00000001", SHA256: strings.Repeat("0", 64)}, SetAliasOptions{}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("set during outage: %v, want ErrUnavailable", err)
	}
	srv.Restart()
	if err := s.Ping(ctx); err != nil {
		t.Errorf("after restart: %v", err)
	}

	// WaitForBucket rides out an outage.
	srv.Stop()
	var retries atomic.Int32
	waited := make(chan error, 1)
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	go func() { waited <- s.WaitForBucket(wctx, func(error, time.Duration) { retries.Add(1) }) }()
	for retries.Load() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	srv.Restart()
	if err := <-waited; err != nil {
		t.Errorf("WaitForBucket: %v after %d retries", err, retries.Load())
	}
}

func TestWrongCredentialsAreAccessDenied(t *testing.T) {
	srv := s3test.Start(t)
	s := newS3Store(t, srv, 2*time.Second, func(o *S3Options) { o.SecretKey = "wrong" })
	err := s.EnsureBucket(context.Background())
	if !errors.Is(err, ErrAccessDenied) {
		t.Fatalf("got %v, want ErrAccessDenied", err)
	}
	if !strings.Contains(err.Error(), "access denied") {
		t.Errorf("message %q does not say access was denied", err)
	}
}
