package modelstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"

	"github.com/minio/minio-go/v7"
)

// Kinds of failure, for errors.Is. Every error the Store returns about
// storage matches one of them.
var (
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
	ErrIntegrity    = errors.New("integrity check failed")
	ErrUnavailable  = errors.New("storage unavailable")
	ErrAccessDenied = errors.New("storage access denied")
	ErrInvalid      = errors.New("invalid argument")
)

// errNotModified is what a conditional GET answers for an unchanged object.
var errNotModified = errors.New("not modified")

// Error is a storage failure of one kind on one key.
type Error struct {
	Kind error // one of the Err* kinds above
	Op   string
	Key  string
	Err  error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s %s: %v: %v", e.Op, e.Key, e.Kind, e.Err)
}

// Is matches the kind, so errors.Is(err, ErrNotFound) works.
func (e *Error) Is(target error) bool { return target == e.Kind }

func (e *Error) Unwrap() error { return e.Err }

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
	return errors.As(err, &ne) || errors.As(err, &ue) || errors.Is(err, context.DeadlineExceeded)
}
