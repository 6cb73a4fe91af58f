// Package swaggerui serves Swagger UI for an OpenAPI document, from the
// distribution embedded in the Go module github.com/swaggest/swgui: the page
// works without network access. Of that distribution only the two files our
// page loads are served, gzip-compressed as the module holds them (a client
// that does not accept gzip gets them decompressed).
//
// github.com/swaggo/files/v2 would serve the same files, but the linker keeps
// every file a module embeds, and it embeds the whole distribution with its
// source maps (11 MB, uncompressed): the predictor image would pass 25 MB.
// swgui's Swagger UI 5 is 0.6 MB, compressed.
package swaggerui

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"strings"

	"github.com/swaggest/swgui/v5/static"
	"github.com/vearutop/statigz"
)

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
<script src="swagger-initializer.js" charset="UTF-8"></script>
</body>
</html>
`

// initializer starts Swagger UI on the page: a file, not an inline script,
// so that the services' Content-Security-Policy can refuse inline script.
const initializer = `window.onload = function () {
  window.ui = SwaggerUIBundle({url: %s, dom_id: "#swagger-ui", deepLinking: true});
};
`

// Handler serves the page at its root and the assets beside it; mount it
// under a prefix with http.StripPrefix (or a router's wildcard) so that
// "/docs/" is the page. specURL is where the browser fetches the document.
func Handler(title, specURL string) http.Handler {
	index := []byte(fmt.Sprintf(page, html.EscapeString(title)))
	quoted, _ := json.Marshal(specURL) // a string always encodes
	init := []byte(fmt.Sprintf(initializer, quoted))
	files := statigz.FileServer(static.FS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/")
		switch name {
		case "", "index.html":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write(index)
		case "swagger-initializer.js":
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			_, _ = w.Write(init)
		case "swagger-ui-bundle.js", "swagger-ui.css":
			r2 := r.Clone(r.Context())
			r2.URL.Path = "/" + name
			files.ServeHTTP(w, r2)
		default:
			http.NotFound(w, r)
		}
	})
}
