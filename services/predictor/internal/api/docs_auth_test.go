package api

import (
	"net/http/httptest"
	"testing"
)

// TestOpenAPINeedsTheToken is the regression test of a token-protected
// predictor showing its models, features and classes in /openapi.json:
// with PREDICTOR_TOKEN set, the document needs the token unless
// PREDICTOR_PUBLIC_DOCS; the Swagger UI's files stay open.
func TestOpenAPINeedsTheToken(t *testing.T) {
	for _, tc := range []struct {
		name        string
		token, auth string
		public      bool
		want        int
	}{
		{"no token configured", "", "", false, 200},
		{"without the token", "s3cret", "", false, 401},
		{"wrong token", "s3cret", "Bearer nope", false, 403},
		{"with the token", "s3cret", "Bearer s3cret", false, 200},
		{"public docs", "s3cret", "", true, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newAPIConfig(t, func(c *Config) { c.Token, c.PublicDocs = tc.token, tc.public })
			req := httptest.NewRequest("GET", "/openapi.json", nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			w := httptest.NewRecorder()
			e.ServeHTTP(w, req)
			if w.Code != tc.want {
				t.Errorf("/openapi.json: %d, want %d: %.200s", w.Code, tc.want, w.Body)
			}
			if w := do(e, "GET", "/docs/", "", ""); w.Code != 200 {
				t.Errorf("/docs/: %d", w.Code)
			}
		})
	}
}
