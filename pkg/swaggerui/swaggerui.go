// Package swaggerui serves Swagger UI for an OpenAPI document, from assets
// embedded in the binary: the page works without network access. Only the
// two files the page needs are embedded (1.6 MB), not the whole
// distribution with its source maps (11 MB); dist/NOTICE says where they
// come from.
package swaggerui

import (
	"embed"
	"fmt"
	"html"
	"net/http"
	"strings"
)

//go:embed dist/swagger-ui-bundle.js dist/swagger-ui.css
var dist embed.FS

const page = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<title>%s</title>
<link rel="stylesheet" type="text/css" href="swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="swagger-ui-bundle.js" charset="UTF-8"></script>
<script>
window.onload = function () {
  window.ui = SwaggerUIBundle({url: %q, dom_id: "#swagger-ui", deepLinking: true});
};
</script>
</body>
</html>
`

// Handler serves the page at its root and the assets beside it; mount it
// under a prefix with http.StripPrefix (or a router's wildcard) so that
// "/docs/" is the page. specURL is where the browser fetches the document.
func Handler(title, specURL string) http.Handler {
	index := []byte(fmt.Sprintf(page, html.EscapeString(title), specURL))
	files := http.FileServerFS(dist)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/")
		switch name {
		case "", "index.html":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write(index)
		case "swagger-ui-bundle.js", "swagger-ui.css":
			r2 := r.Clone(r.Context())
			r2.URL.Path = "/dist/" + name
			files.ServeHTTP(w, r2)
		default:
			http.NotFound(w, r)
		}
	})
}
