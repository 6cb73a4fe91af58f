package httpserver

import (
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/errcode"
	"github.com/modelferry/modelferry/pkg/modelstore/names"
)

// SameOrigin is what a service accepts of browsers and of names it is
// reached by (the <SVC>_ALLOWED_ORIGINS and <SVC>_ALLOWED_HOSTS variables).
type SameOrigin struct {
	// Var is the variables' prefix ("TRAINER"), for the errors.
	Var string
	// TokenSet says every state-changing route asks for a bearer token:
	// then any Host is accepted.
	TokenSet bool
	// Origins may send state-changing requests besides the server's own
	// ("https://console.example.com").
	Origins []string
	// Hosts are names accepted besides loopback ones when no token is
	// set: "trainer" matches that name, ".example.com" any name under it.
	Hosts []string
}

// Guard refuses what a browser can be made to send against a server
// without credentials:
//   - a state-changing request (not GET, HEAD or OPTIONS) whose Origin is
//     not the server's own (its Host) nor listed in Origins, or, without
//     an Origin, that a browser marks Sec-Fetch-Site: cross-site: 403;
//   - with no token set, a request whose Host is not a loopback name nor
//     listed in Hosts (a DNS rebinding): 403.
//
// Clients that are not browsers send neither header and are not
// affected. Install it before the routes it guards: health, readiness
// and metrics are registered before it and stay open to any Host.
func (s SameOrigin) Guard(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		r := c.Request
		if !s.TokenSet && !s.hostAllowed(r.Host) {
			WriteError(c, logger, Errorf(http.StatusForbidden, errcode.PermissionDenied,
				"Host %s is not accepted: without %s_TOKEN only loopback names are; list the name in %s_ALLOWED_HOSTS or set %s_TOKEN",
				names.Quote(r.Host), s.Var, s.Var, s.Var))
			return
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" {
			if !s.originAllowed(origin, r.Host) {
				WriteError(c, logger, Errorf(http.StatusForbidden, errcode.PermissionDenied,
					"cross-site request refused: Origin %s is not this server's; list it in %s_ALLOWED_ORIGINS",
					names.Quote(origin), s.Var))
			}
			return
		}
		if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
			WriteError(c, logger, Errorf(http.StatusForbidden, errcode.PermissionDenied,
				"cross-site request refused; list the site's origin in %s_ALLOWED_ORIGINS", s.Var))
		}
	}
}

// originAllowed: the server's own origin is the one whose host and port
// are the request's Host (the scheme may differ behind a proxy that
// terminates TLS); others must be listed.
func (s SameOrigin) originAllowed(origin, host string) bool {
	for _, o := range s.Origins {
		if strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return true
		}
	}
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && strings.EqualFold(u.Host, host)
}

func (s SameOrigin) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if LoopbackHost(host) {
		return true
	}
	for _, h := range s.Hosts {
		if strings.HasPrefix(h, ".") && len(host) > len(h) && strings.HasSuffix(strings.ToLower(host), strings.ToLower(h)) {
			return true
		}
		if strings.EqualFold(h, host) || strings.EqualFold(h, hostport) {
			return true
		}
	}
	return false
}

// LoopbackHost reports whether host (a name or an IP, without a port)
// is this machine's own: localhost (and names under it), or a loopback
// address.
func LoopbackHost(host string) bool {
	host = strings.ToLower(host)
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// SplitList splits a comma-separated variable into its trimmed, non-empty
// items.
func SplitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
