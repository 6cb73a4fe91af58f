package httpserver

import (
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/errcode"
)

// BearerToken is the token of an Authorization header value
// ("Bearer <token>"), and whether it had that form.
func BearerToken(header string) (string, bool) {
	tok, ok := strings.CutPrefix(header, "Bearer ")
	return tok, ok && header != ""
}

// TokenValid reports whether tok is one of tokens that is set, compared
// in constant time. It is the one comparison of bearer tokens, for every
// transport (REST here, gRPC in the predictor).
func TokenValid(tok string, tokens ...string) bool {
	valid := false
	for _, want := range tokens {
		if want != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(want)) == 1 {
			valid = true
		}
	}
	return valid
}

// BearerAuth returns a middleware that asks for an Authorization: Bearer
// token when the last of tokens (the one guarding the route) is set, and
// accepts any of them that is set (TokenValid). With the guarding token
// empty it lets every request through.
func BearerAuth(logger *slog.Logger, realm string, tokens ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if tokens[len(tokens)-1] == "" {
			return
		}
		tok, ok := BearerToken(c.GetHeader("Authorization"))
		if !ok {
			c.Header("WWW-Authenticate", `Bearer realm="`+realm+`"`)
			WriteError(c, logger, Errorf(http.StatusUnauthorized, errcode.Unauthenticated,
				"this call needs an Authorization: Bearer <token> header"))
			return
		}
		if !TokenValid(tok, tokens...) {
			WriteError(c, logger, Errorf(http.StatusForbidden, errcode.PermissionDenied, "the bearer token is not valid"))
		}
	}
}
