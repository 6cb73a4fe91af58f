package serving

import (
	"net/http"

	"github.com/modelferry/modelferry/pkg/errcode"
)

// Status is the HTTP status and error code of an answer refusing the
// request: 413 payload_too_large for a batch over the row limit, 400
// invalid_argument otherwise. Every service that decodes with this
// package answers its errors so.
func (e *InputError) Status() (status int, code string) {
	if e.TooLarge {
		return http.StatusRequestEntityTooLarge, errcode.TooLarge
	}
	return http.StatusBadRequest, errcode.InvalidArgument
}
