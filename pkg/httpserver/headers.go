package httpserver

import "github.com/gin-gonic/gin"

// ContentSecurityPolicy is the policy of every answer: scripts and
// stylesheets from the server itself only (no inline script; inline style
// attributes stay, for the console's bars and swatches and Swagger UI's
// React), images also as data: URIs (Swagger UI's icons), and no page of
// ours inside another site's frame.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; " +
	"frame-ancestors 'none'"

// SecurityHeaders sets the headers that keep a browser from running
// injected script, sniffing a JSON answer as HTML, framing a page or
// sending our URLs to other sites. NewEngine installs it for every route.
func SecurityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
}
