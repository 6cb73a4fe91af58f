package api

import (
	"errors"
	"net/http"

	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/pkg/search"
)

// paramsDecodeError is the 400 of a params object that does not decode: a
// search spec refused by its own decoder says what is allowed; the rest
// is httpserver.JSONError's.
func paramsDecodeError(err error) *httpserver.Error {
	if errors.Is(err, search.ErrInvalid) {
		return httpserver.Errorf(http.StatusBadRequest, httpserver.CodeInvalidArgument, "params.search: %v", err)
	}
	return httpserver.JSONError(err, "params.")
}
