package httpserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
)

// Error codes of the JSON error body. They are part of the API: clients
// switch on them.
const (
	CodeInvalidArgument      = "invalid_argument"
	CodeUnauthenticated      = "unauthenticated"
	CodePermissionDenied     = "permission_denied"
	CodeNotFound             = "not_found"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeConflict             = "conflict"
	CodeIntegrity            = "integrity"
	CodeTooLarge             = "payload_too_large"
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeResourceExhausted    = "resource_exhausted"
	CodeUnavailable          = "unavailable"
	CodeInternal             = "internal"
)

// Error is an error that is safe to show a client: a status, a stable code
// and a message. Cause, when set, is logged but never sent.
type Error struct {
	Status  int
	Code    string
	Message string
	Cause   error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Message + ": " + e.Cause.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// Errorf builds an Error with a formatted message.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Body is the JSON shape of every error answer:
// {"error": {"code": "invalid_argument", "message": "petal_width: missing"}}.
type Body struct {
	Error BodyError `json:"error"`
}

// BodyError is the inside of Body.
type BodyError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// WriteError answers with err. An *Error anywhere in err's chain is shown
// as it is; anything else is logged in full and answered with a bare 500.
func WriteError(c *gin.Context, logger *slog.Logger, err error) {
	var he *Error
	if !errors.As(err, &he) {
		logger.ErrorContext(c.Request.Context(), "internal error", "method", c.Request.Method,
			"path", c.Request.URL.Path, "err", err)
		he = &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error"}
	} else if he.Status >= 500 && he.Cause != nil {
		logger.WarnContext(c.Request.Context(), "request failed", "method", c.Request.Method,
			"path", c.Request.URL.Path, "status", he.Status, "err", err)
	}
	c.AbortWithStatusJSON(he.Status, Body{Error: BodyError{Code: he.Code, Message: he.Message}})
}
