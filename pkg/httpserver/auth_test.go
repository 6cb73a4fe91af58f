package httpserver

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
)

// BearerAuth on its own, as defence in depth: whatever the routes do, an
// empty or wrong bearer token never passes a configured one.
func TestBearerAuth(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tokens []string // as the services pass them: read token, then write
		header string
		status int
	}{
		{"no token configured: open", []string{""}, "", 200},
		{"read token only, write route open", []string{"reader", ""}, "", 200},
		{"no header", []string{"s3cret"}, "", 401},
		{"empty bearer token", []string{"s3cret"}, "Bearer ", 403},
		{"empty bearer token, read token unset", []string{"", "writer"}, "Bearer ", 403},
		{"wrong token", []string{"s3cret"}, "Bearer s3cre", 403},
		{"a longer token", []string{"s3cret"}, "Bearer s3cret!", 403},
		{"no Bearer scheme", []string{"s3cret"}, "s3cret", 401},
		{"basic auth", []string{"s3cret"}, "Basic czNjcmV0", 401},
		{"right token", []string{"s3cret"}, "Bearer s3cret", 200},
		{"read token on a write route", []string{"reader", "writer"}, "Bearer reader", 200},
		{"write token", []string{"reader", "writer"}, "Bearer writer", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := gin.New()
			e.GET("/x", BearerAuth(slog.New(slog.NewTextHandler(io.Discard, nil)), "test", tc.tokens...), func(c *gin.Context) {
				c.String(http.StatusOK, "through")
			})
			req := httptest.NewRequest(http.MethodGet, "/x", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			w := httptest.NewRecorder()
			e.ServeHTTP(w, req)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if (w.Body.String() == "through") != (tc.status == 200) {
				t.Errorf("the handler ran: %q", w.Body)
			}
			if tc.status == 401 && w.Header().Get("WWW-Authenticate") != `Bearer realm="test"` {
				t.Errorf("WWW-Authenticate %q", w.Header().Get("WWW-Authenticate"))
			}
		})
	}
}
