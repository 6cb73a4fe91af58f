package api

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/swaggerui"
)

//go:embed openapi.json
var openapiJSON []byte

func serveOpenAPI(c *gin.Context) { c.Data(http.StatusOK, "application/json", openapiJSON) }

// docsHandler serves Swagger UI for /openapi.json from assets embedded in
// the binary: /docs/ works without network access.
func docsHandler() gin.HandlerFunc {
	return gin.WrapH(http.StripPrefix("/docs", swaggerui.Handler("modelferry trainer API", "/openapi.json")))
}
