package httpserver

import (
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/errcode"
)

// BearerAuth returns a middleware that asks for an Authorization: Bearer
// token when the last of tokens (the one guarding the route) is set, and
// accepts any of them that is set, compared in constant time. With the
// guarding token empty it lets every request through.
func BearerAuth(logger *slog.Logger, realm string, tokens ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if tokens[len(tokens)-1] == "" {
			return
		}
		h := c.GetHeader("Authorization")
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if h == "" || !ok {
			c.Header("WWW-Authenticate", `Bearer realm="`+realm+`"`)
			WriteError(c, logger, Errorf(http.StatusUnauthorized, errcode.Unauthenticated,
				"this call needs an Authorization: Bearer <token> header"))
			return
		}
		if TokenAccepted(tok, tokens...) {
			return
		}
		WriteError(c, logger, Errorf(http.StatusForbidden, errcode.PermissionDenied, "the bearer token is not valid"))
	}
}

// TokenAccepted reports whether tok is one of the tokens that are set,
// compared in constant time: BearerAuth's rule, for a caller that gets the
// token another way (the console's sign-in form).
func TokenAccepted(tok string, tokens ...string) bool {
	for _, want := range tokens {
		if want != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(want)) == 1 {
			return true
		}
	}
	return false
}
