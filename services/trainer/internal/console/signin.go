package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/httpserver"
)

// A browser cannot send a bearer token when it follows a link, so with a
// read token the console asks for it once (/ui/signin) and keeps it in a
// cookie: HttpOnly, SameSite=Strict, and turned into the Authorization
// header for reads only (GET and HEAD), so that no other site can make
// the browser change anything with it. Mutations (promote, roll back)
// send the token the page's script asks for instead.
const tokenCookie = "modelferry_token"

// TokenFromCookie gives a GET or HEAD request that carries no
// Authorization header the token of the console's cookie as a bearer
// token. Install it before the routes it serves (the API's reads, the
// console's pages).
func TokenFromCookie(c *gin.Context) {
	if c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead {
		return
	}
	if c.GetHeader("Authorization") != "" {
		return
	}
	if tok, err := c.Cookie(tokenCookie); err == nil && tok != "" {
		c.Request.Header.Set("Authorization", "Bearer "+tok)
	}
}

type signinPage struct {
	layout
	Next    string
	Refused bool
}

func (c *Console) signinPage(ctx *gin.Context) {
	c.render(ctx, http.StatusOK, "signin", signinPage{layout: c.layout("Sign in", ""),
		Next: nextPage(ctx.Query("next")), Refused: ctx.Query("refused") != ""})
}

// signin keeps a token the pages accept in the cookie and goes on to the
// page asked for; another token comes back here, refused, and sets no
// cookie.
func (c *Console) signin(ctx *gin.Context) {
	tok := strings.TrimSpace(ctx.PostForm("token"))
	next := url.QueryEscape(nextPage(ctx.PostForm("next")))
	if tok == "" {
		ctx.Redirect(http.StatusSeeOther, "/ui/signin?next="+next)
		return
	}
	if !httpserver.TokenValid(tok, c.cfg.Tokens...) {
		ctx.Redirect(http.StatusSeeOther, "/ui/signin?refused=1&next="+next)
		return
	}
	setTokenCookie(ctx, tok, 0)
	ctx.Redirect(http.StatusSeeOther, nextPage(ctx.PostForm("next")))
}

func (c *Console) signout(ctx *gin.Context) {
	setTokenCookie(ctx, "", -1)
	ctx.Redirect(http.StatusSeeOther, "/ui/signin")
}

func setTokenCookie(ctx *gin.Context, tok string, maxAge int) {
	ctx.SetSameSite(http.SameSiteStrictMode)
	ctx.SetCookie(tokenCookie, tok, maxAge, "/", "", ctx.Request.TLS != nil, true)
}

// nextPage keeps a redirect inside the console.
func nextPage(p string) string {
	if !strings.HasPrefix(p, "/ui/") || strings.HasPrefix(p, "/ui//") {
		return "/ui/"
	}
	return p
}

// guard runs auth for a page, sending a browser that has no token or a
// refused one to the sign-in page instead of the JSON error auth writes.
func guard(auth gin.HandlerFunc) gin.HandlerFunc {
	return func(ctx *gin.Context) {
		if ctx.GetHeader("Authorization") == "" && strings.HasPrefix(ctx.Request.URL.Path, "/ui/") &&
			!strings.HasPrefix(ctx.Request.URL.Path, "/ui/static/") {
			ctx.Redirect(http.StatusSeeOther, "/ui/signin?next="+url.QueryEscape(ctx.Request.URL.RequestURI()))
			ctx.Abort()
			return
		}
		w := ctx.Writer
		ctx.Writer = &discardWriter{ResponseWriter: w}
		auth(ctx)
		ctx.Writer = w
		if ctx.IsAborted() {
			setTokenCookie(ctx, "", -1)
			ctx.Redirect(http.StatusSeeOther, "/ui/signin?refused=1&next="+url.QueryEscape(ctx.Request.URL.RequestURI()))
		}
	}
}

// discardWriter swallows what auth writes when it refuses a page.
type discardWriter struct {
	gin.ResponseWriter
	status int
}

func (w *discardWriter) WriteHeader(code int)              { w.status = code }
func (w *discardWriter) WriteHeaderNow()                   {}
func (w *discardWriter) Write(b []byte) (int, error)       { return len(b), nil }
func (w *discardWriter) WriteString(s string) (int, error) { return len(s), nil }
func (w *discardWriter) Status() int                       { return w.status }
func (w *discardWriter) Written() bool                     { return false }
