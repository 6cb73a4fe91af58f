package modelstore

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeS3 answers every request with the given status and S3 error code.
func fakeS3(t *testing.T, status int, code string, calls *atomic.Int32) *Store {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>` + code + `</Code><Message>fake</Message></Error>`))
		}
	}))
	t.Cleanup(srv.Close)
	b, err := NewS3(S3Options{Endpoint: strings.TrimPrefix(srv.URL, "http://"), AccessKey: "a", SecretKey: "b", Bucket: "modelferry"})
	if err != nil {
		t.Fatal(err)
	}
	return New(b, Options{Timeout: time.Second})
}

func TestErrorKinds(t *testing.T) {
	for _, tc := range []struct {
		status  int
		code    string
		want    error
		retried bool
	}{
		{404, "NoSuchKey", ErrNotFound, false},
		{412, "PreconditionFailed", ErrConflict, false},
		{403, "InvalidAccessKeyId", ErrAccessDenied, false},
		{403, "SignatureDoesNotMatch", ErrAccessDenied, false},
		{500, "InternalError", ErrUnavailable, true},
		{503, "SlowDown", ErrUnavailable, true},
		{400, "InvalidArgument", ErrInvalid, false},
	} {
		t.Run(tc.code, func(t *testing.T) {
			var calls atomic.Int32
			s := fakeS3(t, tc.status, tc.code, &calls)
			_, _, err := s.GetAlias(context.Background(), "iris", "production")
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			// minio-go makes one attempt per call (MaxRetries 1); ours retry
			// only unavailability, three times.
			want := int32(1)
			if tc.retried {
				want = 3
			}
			if got := calls.Load(); got != want {
				t.Errorf("%d requests, want %d", got, want)
			}
		})
	}
}

func TestConditionalPutIsNotRetried(t *testing.T) {
	var calls atomic.Int32
	s := fakeS3(t, 503, "SlowDown", &calls)
	ref := Ref{Model: "iris", Version: "20261126T100000Z-00000001", SHA256: strings.Repeat("a", 64)}
	if _, err := s.SetAlias(context.Background(), "production", ref, SetAliasOptions{IfMatch: "etag"}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("got %v", err)
	}
	// One PUT, then one GET (retried: 3) to see whether the write landed.
	if got := calls.Load(); got != 4 {
		t.Errorf("%d requests, want 1 PUT + 3 GETs", got)
	}
}

func TestRetryStopsAtCallerDeadline(t *testing.T) {
	var calls atomic.Int32
	s := fakeS3(t, 503, "SlowDown", &calls)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	_, _, err := s.GetAlias(ctx, "iris", "production")
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("got %v", err)
	}
	// The second attempt would come 100ms in, the third 400ms in: the
	// 150ms deadline allows two.
	if calls.Load() > 2 {
		t.Errorf("%d attempts, want the retry loop to end with the context", calls.Load())
	}
}

func TestNamesAndVersions(t *testing.T) {
	for name, want := range map[string]bool{
		"iris": true, "a": true, "m0_del-2": true, strings.Repeat("a", 63): true,
		"": false, "Iris": false, "-x": false, "_x": false, "a.b": false, "a/b": false, strings.Repeat("a", 64): false,
	} {
		if ValidName(name) != want {
			t.Errorf("ValidName(%q) = %v", name, !want)
		}
	}
	v := NewVersion(time.Date(2026, 11, 26, 22, 15, 0, 0, time.UTC))
	if !ValidVersion(v) || !strings.HasPrefix(v, "20261126T221500Z-") {
		t.Errorf("NewVersion = %q", v)
	}
	if a, b := NewVersion(time.Now()), NewVersion(time.Now()); a == b {
		t.Error("two versions in the same second collide")
	}
}

// A dataset is stored without hashing its payload for the signature.
func TestPutDatasetSendsUnsignedPayload(t *testing.T) {
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if r.Method == http.MethodPut {
			got.Store(r.Header.Get("X-Amz-Content-Sha256"))
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	s, err := OpenS3(S3Options{Endpoint: strings.TrimPrefix(srv.URL, "http://"), AccessKey: "a", SecretKey: "b", Bucket: "modelferry"},
		Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	data := "a,label\n1,x\n"
	sum := strings.Repeat("ab", 32)
	if _, err := s.PutDataset(context.Background(), sum, strings.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	if h, _ := got.Load().(string); !strings.Contains(h, "UNSIGNED-PAYLOAD") {
		t.Errorf("x-amz-content-sha256 %q, want an unsigned payload", h)
	}
}
