package api

import (
	_ "embed"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	swaggerfiles "github.com/swaggo/files/v2"
)

//go:embed openapi.json
var openapiJSON []byte

func serveOpenAPI(c *gin.Context) { c.Data(http.StatusOK, "application/json", openapiJSON) }

// swaggerInit points the embedded Swagger UI at our document.
const swaggerInit = `window.onload = function() {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout"
  });
};
`

// docsHandler serves Swagger UI from the swaggo/files module, embedded in
// the binary: /docs works without network access.
func docsHandler() gin.HandlerFunc {
	files := http.FileServerFS(swaggerfiles.FS)
	return func(c *gin.Context) {
		file := strings.TrimPrefix(c.Param("file"), "/")
		switch file {
		case "swagger-initializer.js":
			c.Data(http.StatusOK, "application/javascript", []byte(swaggerInit))
			return
		case "index.html":
			file = "" // the file server redirects index.html to the folder
		}
		r := c.Request.Clone(c)
		r.URL.Path = "/" + file
		files.ServeHTTP(c.Writer, r)
	}
}
