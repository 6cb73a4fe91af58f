package modelstore

import (
	"errors"
	"fmt"
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
	// ErrTooLarge is an object over the size a read takes (an alias over
	// MaxAliasBytes, an artifact over Options.MaxArtifactBytes): it is
	// refused unread.
	ErrTooLarge = errors.New("object too large")
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

// tooLarge is the ErrTooLarge of an object of size bytes (at least) read
// with a limit of max.
func tooLarge(key string, size, max int64) *Error {
	return errorf(ErrTooLarge, "get", key, "%d bytes or more, over the limit of %d bytes", size, max)
}

func errorf(kind error, op, key, format string, args ...any) *Error {
	return &Error{Kind: kind, Op: op, Key: key, Err: fmt.Errorf(format, args...)}
}
