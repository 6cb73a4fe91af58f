package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/artifact/artifactpb"
	"github.com/modelferry/modelferry/pkg/errcode"
	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/pkg/modelstore"
)

// Artifacts reads and verifies versions' artifacts; *registry.Registry
// has it.
type Artifacts interface {
	ReadModel(ctx context.Context, model, version string) (*artifactpb.Model, []byte, error)
}

// versionParam is the version id the :version of a path names (an id, or
// a number: "7"), or a 404.
func (a *API) versionParam(c *gin.Context) (string, error) {
	v := c.Param("version")
	id, err := a.cfg.Registry.ResolveVersion(c, modelOf(c), v)
	if errors.Is(err, modelstore.ErrNotFound) || errors.Is(err, modelstore.ErrInvalid) {
		return "", httpserver.Errorf(http.StatusNotFound, errcode.NotFound, "version %q of model %q not found", v, modelOf(c))
	}
	if err != nil {
		return "", storeError(err, "version "+v+" of model "+modelOf(c))
	}
	return id, nil
}

// getArtifact serves a version's model.pb, verified, with its SHA-256 as
// the ETag: the one the aliases record.
func (a *API) getArtifact(c *gin.Context) {
	model := modelOf(c)
	version, err := a.versionParam(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	_, b, err := a.cfg.Artifacts.ReadModel(c, model, version)
	if err != nil {
		a.fail(c, storeError(err, "version "+version+" of model "+model))
		return
	}
	etag := `"` + modelstore.SHA256(b) + `"`
	c.Header("ETag", etag)
	c.Header("Cache-Control", "no-cache")
	if etagMatches(c.GetHeader("If-None-Match"), etag) {
		c.Status(http.StatusNotModified)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="`+model+"-"+version+`.pb"`)
	c.Data(http.StatusOK, "application/x-protobuf", b)
}
