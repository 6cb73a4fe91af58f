package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// registerViews adds the endpoints the console reads through, behind
// read: run event streams, artifact and dataset downloads, predictions
// from any version; and the OpenAPI document with Swagger UI, which
// describe the API and hold no data.
func (a *API) registerViews(e *gin.Engine, model *gin.RouterGroup, read gin.HandlerFunc) {
	e.GET("/runs/:id/events", read, a.runEvents)
	model.GET("/versions/:version/artifact", read, a.getArtifact)
	model.POST("/versions/:version/predict", read, a.predict)
	e.GET("/datasets", read, a.listDatasets)
	e.GET("/datasets/:sha256", read, a.getDataset)
	e.GET("/openapi.json", serveOpenAPI)
	e.GET("/docs", func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, "/docs/") })
	e.GET("/docs/*file", docsHandler())
}

// etagMatches reports whether an If-None-Match header names etag (or is
// "*"); weak validators compare equal, as RFC 9110 says for this header.
func etagMatches(header, etag string) bool {
	for _, v := range strings.Split(header, ",") {
		v = strings.TrimPrefix(strings.TrimSpace(v), "W/")
		if v == "*" || v == etag {
			return true
		}
	}
	return false
}

// list answers {key: items} with what fetch reads from the store.
func list[T any](a *API, c *gin.Context, key string, fetch func(context.Context) ([]T, error)) {
	items, err := fetch(c)
	if err != nil {
		a.fail(c, storeError(err, key))
		return
	}
	c.JSON(http.StatusOK, gin.H{key: items})
}
