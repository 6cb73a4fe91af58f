package swaggerui

import (
	"compress/gzip"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	h := Handler("Predictor API", "/openapi.json")
	for _, tc := range []struct {
		path, acceptEncoding string
		status               int
		contentType          string
		contentEncoding      string
		contains             string
	}{
		{"/", "", 200, "text/html", "", `<script src="swagger-initializer.js"`},
		{"/swagger-initializer.js", "", 200, "javascript", "", `SwaggerUIBundle({url: "/openapi.json"`},
		{"/index.html", "", 200, "text/html", "", "<title>Predictor API</title>"},
		{"/swagger-ui-bundle.js", "", 200, "javascript", "", "SwaggerUIBundle"},
		{"/swagger-ui-bundle.js", "gzip, deflate", 200, "javascript", "gzip", "SwaggerUIBundle"},
		{"/swagger-ui.css", "", 200, "text/css", "", ".swagger-ui"},
		{"/swagger-ui.css", "gzip", 200, "text/css", "gzip", ".swagger-ui"},
		// The module holds more than the page loads: none of it is served.
		{"/swagger-ui.js", "gzip", 404, "", "", ""},
		{"/swagger-ui-standalone-preset.js", "", 404, "", "", ""},
		{"/swagger-ui-bundle.js.gz", "", 404, "", "", ""},
		{"/favicon-32x32.png", "", 404, "", "", ""},
		{"/../swaggerui.go", "", 404, "", "", ""},
	} {
		t.Run(tc.path+" "+tc.acceptEncoding, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://x"+tc.path, nil)
			if tc.acceptEncoding != "" {
				r.Header.Set("Accept-Encoding", tc.acceptEncoding)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			if ct := w.Header().Get("Content-Type"); !strings.Contains(ct, tc.contentType) {
				t.Errorf("Content-Type %q, want %q", ct, tc.contentType)
			}
			if ce := w.Header().Get("Content-Encoding"); ce != tc.contentEncoding {
				t.Errorf("Content-Encoding %q, want %q", ce, tc.contentEncoding)
			}
			var body io.Reader = w.Body
			if tc.contentEncoding == "gzip" {
				zr, err := gzip.NewReader(w.Body)
				if err != nil {
					t.Fatal(err)
				}
				body = zr
			}
			b, err := io.ReadAll(body)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), tc.contains) {
				t.Errorf("body (%d bytes) lacks %q", len(b), tc.contains)
			}
		})
	}
}

// TestPageHasNoInlineScript holds the page to a Content-Security-Policy
// without 'unsafe-inline' for scripts: every script has a src.
func TestPageHasNoInlineScript(t *testing.T) {
	w := httptest.NewRecorder()
	Handler("Predictor API", "/openapi.json").ServeHTTP(w, httptest.NewRequest("GET", "http://x/", nil))
	page := w.Body.String()
	if n, src := strings.Count(page, "<script"), strings.Count(page, "<script src="); n != src || n == 0 {
		t.Errorf("%d scripts, %d with a src:\n%s", n, src, page)
	}
}
