package httpserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/errcode"
	"github.com/modelferry/modelferry/pkg/modelstore/names"
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
		he = &Error{Status: http.StatusInternalServerError, Code: errcode.Internal, Message: "internal error"}
	} else if he.Status >= 500 && he.Cause != nil {
		logger.WarnContext(c.Request.Context(), "request failed", "method", c.Request.Method,
			"path", c.Request.URL.Path, "status", he.Status, "err", err)
	}
	c.AbortWithStatusJSON(he.Status, Body{Error: BodyError{Code: he.Code, Message: he.Message}})
}

// JSONError explains an encoding/json decoding error to the client without
// Go's type names: 400 naming the byte or field, or 413 for a body over an
// http.MaxBytesReader limit. prefix locates the decoded value in the body
// ("params.").
func JSONError(err error, prefix string) *Error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var mbe *http.MaxBytesError
	bad := func(format string, args ...any) *Error {
		return Errorf(http.StatusBadRequest, errcode.InvalidArgument, format, args...)
	}
	switch {
	case errors.As(err, &mbe):
		return Errorf(http.StatusRequestEntityTooLarge, errcode.TooLarge, "JSON body is larger than %d bytes", mbe.Limit)
	case errors.As(err, &se):
		return bad("malformed JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	case errors.As(err, &te):
		field := prefix + te.Field
		if te.Field == "" {
			field = "body"
		}
		return bad("%s: expected %s, got JSON %s", field, jsonType(te.Type.Kind()), te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return bad("malformed JSON: unexpected end of body")
	}
	if name, ok := strings.CutPrefix(err.Error(), `json: unknown field "`); ok {
		return bad("unknown field %s", names.Quote(prefix+strings.TrimSuffix(name, `"`)))
	}
	return &Error{Status: http.StatusBadRequest, Code: errcode.InvalidArgument, Message: "malformed JSON", Cause: err}
}

// jsonType names a Go kind the way a JSON user thinks of it.
func jsonType(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another type"
}
