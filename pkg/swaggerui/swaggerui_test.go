package swaggerui

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	h := Handler("Predictor API", "/openapi.json")
	for _, tc := range []struct {
		path, contentType, contains string
		status                      int
	}{
		{"/", "text/html", `SwaggerUIBundle({url: "/openapi.json"`, 200},
		{"/index.html", "text/html", "<title>Predictor API</title>", 200},
		{"/swagger-ui-bundle.js", "javascript", "SwaggerUIBundle", 200},
		{"/swagger-ui.css", "text/css", ".swagger-ui", 200},
		{"/swagger-ui-bundle.js.map", "", "", 404},
		{"/../swaggerui.go", "", "", 404},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "http://x"+tc.path, nil))
		if w.Code != tc.status || !strings.Contains(w.Header().Get("Content-Type"), tc.contentType) || !strings.Contains(w.Body.String(), tc.contains) {
			t.Errorf("%s: %d %q, body has %q: %v", tc.path, w.Code, w.Header().Get("Content-Type"), tc.contains, strings.Contains(w.Body.String(), tc.contains))
		}
	}
}
