package pipeline

import (
	"context"
	"errors"

	"github.com/modelferry/modelferry/pkg/dataset"
	"github.com/modelferry/modelferry/pkg/errcode"
	"github.com/modelferry/modelferry/pkg/logreg"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/pkg/search"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

// stageError names the pipeline stage an error came from, for logs; users
// see only the error itself (RunError).
type stageError struct {
	stage string
	err   error
}

func (e stageError) Error() string { return e.stage + ": " + e.err.Error() }
func (e stageError) Unwrap() error { return e.err }

// RunError turns a pipeline error into what the run record shows: input
// problems verbatim, infrastructure problems without internals.
func RunError(err error) *registry.RunError {
	switch {
	case errors.Is(err, dataset.ErrInvalid), errors.Is(err, logreg.ErrInvalidData), errors.Is(err, ErrLimit), errors.Is(err, ErrUpload),
		errors.Is(err, search.ErrInvalid):
		return &registry.RunError{Code: errcode.InvalidArgument, Message: userMessage(err)}
	case errors.Is(err, context.Canceled):
		return &registry.RunError{Code: errcode.Unavailable, Message: "the trainer shut down before the run finished"}
	case errors.Is(err, errDatasetNotFound):
		return &registry.RunError{Code: errcode.NotFound, Message: userMessage(err)}
	case errors.Is(err, errUploadGone):
		return &registry.RunError{Code: errcode.Unavailable, Message: errUploadGone.Error()}
	case errors.Is(err, errDatasetRef):
		return &registry.RunError{Code: errcode.InvalidArgument, Message: "invalid dataset reference: name an object in the bucket (datasets/x.csv) or s3://<bucket>/<key>"}
	case errors.Is(err, modelstore.ErrUnavailable):
		return &registry.RunError{Code: errcode.Unavailable, Message: "model storage is unavailable; try again later"}
	case errors.Is(err, modelstore.ErrAccessDenied):
		return &registry.RunError{Code: errcode.Unavailable, Message: "model storage refused the trainer's credentials"}
	}
	return &registry.RunError{Code: errcode.Internal, Message: "internal error"}
}

// userMessage is the error as the failing stage reported it, without the
// stage's name.
func userMessage(err error) string {
	var se stageError
	if errors.As(err, &se) {
		return se.err.Error()
	}
	return err.Error()
}
