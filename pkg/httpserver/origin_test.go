package httpserver

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

func TestSameOriginGuard(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	engine := func(s SameOrigin) *gin.Engine {
		e := gin.New()
		e.GET("/healthz", func(c *gin.Context) { c.String(200, "ok") }) // before the guard: open
		e.Use(s.Guard(logger))
		e.GET("/runs", func(c *gin.Context) { c.String(200, "runs") })
		e.POST("/train", func(c *gin.Context) { c.String(200, "trained") })
		return e
	}
	open := SameOrigin{Var: "TRAINER"}
	withToken := SameOrigin{Var: "TRAINER", TokenSet: true}
	listed := SameOrigin{Var: "TRAINER", Origins: []string{"https://console.example.com"}, Hosts: []string{"trainer", ".svc.cluster.local"}}
	for _, tc := range []struct {
		name         string
		s            SameOrigin
		method, path string
		host         string
		headers      []string
		want         int
		wantMsg      string
	}{
		{"loopback, no browser", open, "POST", "/train", "127.0.0.1:8080", nil, 200, ""},
		{"localhost", open, "GET", "/runs", "localhost:8080", nil, 200, ""},
		{"IPv6 loopback", open, "GET", "/runs", "[::1]:8080", nil, 200, ""},
		{"same-origin form", open, "POST", "/train", "localhost:8080", []string{"Origin", "http://localhost:8080", "Sec-Fetch-Site", "same-origin"}, 200, ""},
		{"cross-site multipart", open, "POST", "/train", "localhost:8080", []string{"Origin", "http://evil.example"}, 403, "is not this server's; list it in TRAINER_ALLOWED_ORIGINS"},
		{"another port is another origin", open, "POST", "/train", "localhost:8080", []string{"Origin", "http://localhost:9999"}, 403, "TRAINER_ALLOWED_ORIGINS"},
		{"opaque origin", open, "POST", "/train", "localhost:8080", []string{"Origin", "null"}, 403, "TRAINER_ALLOWED_ORIGINS"},
		{"cross-site without Origin", open, "POST", "/train", "localhost:8080", []string{"Sec-Fetch-Site", "cross-site"}, 403, "cross-site request refused"},
		{"cross-site read", open, "GET", "/runs", "localhost:8080", []string{"Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site"}, 200, ""},
		{"a token does not let a cross-site write through", withToken, "POST", "/train", "trainer:8080", []string{"Origin", "http://evil.example"}, 403, "TRAINER_ALLOWED_ORIGINS"},
		{"listed origin", listed, "POST", "/train", "localhost:8080", []string{"Origin", "https://console.example.com"}, 200, ""},
		{"DNS rebinding", open, "GET", "/runs", "evil.example:8080", nil, 403, "is not accepted: without TRAINER_TOKEN only loopback names are; list the name in TRAINER_ALLOWED_HOSTS"},
		{"rebinding to a write", open, "POST", "/train", "evil.example", []string{"Origin", "http://evil.example"}, 403, "TRAINER_ALLOWED_HOSTS"},
		{"a service name without a token", open, "GET", "/runs", "trainer:8080", nil, 403, "TRAINER_ALLOWED_HOSTS"},
		{"a service name with a token", withToken, "GET", "/runs", "trainer:8080", nil, 200, ""},
		{"a listed name", listed, "GET", "/runs", "trainer:8080", nil, 200, ""},
		{"a listed domain", listed, "POST", "/train", "trainer.ns.svc.cluster.local:8080", nil, 200, ""},
		{"not the domain itself", listed, "GET", "/runs", "svc.cluster.local", nil, 403, "TRAINER_ALLOWED_HOSTS"},
		{"a lookalike", listed, "GET", "/runs", "eviltrainer:8080", nil, 403, "TRAINER_ALLOWED_HOSTS"},
		{"health stays open", open, "GET", "/healthz", "10.0.0.7:8080", nil, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, nil)
			req.Host = tc.host
			for i := 0; i+1 < len(tc.headers); i += 2 {
				req.Header.Set(tc.headers[i], tc.headers[i+1])
			}
			w := httptest.NewRecorder()
			engine(tc.s).ServeHTTP(w, req)
			if w.Code != tc.want || !strings.Contains(w.Body.String(), tc.wantMsg) {
				t.Errorf("%d %s, want %d %q", w.Code, w.Body, tc.want, tc.wantMsg)
			}
		})
	}
}

func TestSplitList(t *testing.T) {
	if got := SplitList(" a, ,b,"); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("%q", got)
	}
	if got := SplitList(""); got != nil {
		t.Errorf("%q", got)
	}
}
