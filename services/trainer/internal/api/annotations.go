package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/errcode"
	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

// patchRunRequest is the body of PATCH /runs/{id}: fields left out stay
// as they are; a tag set to null is removed.
type patchRunRequest struct {
	Name        *string            `json:"name"`
	Tags        map[string]*string `json:"tags"`
	Description *string            `json:"description"`
}

// maxPatchBytes bounds a PATCH /runs/{id} body: 50 tags of 5,000 bytes,
// a description and JSON's escapes.
const maxPatchBytes = 1 << 20

// patchRun edits a finished run's name, tags and description. An
// If-Match header with the run's revision makes the edit apply only to
// the run as the client read it.
func (a *API) patchRun(c *gin.Context) {
	id := c.Param("id")
	if !modelstore.ValidVersion(id) {
		a.fail(c, httpserver.Errorf(http.StatusNotFound, errcode.NotFound, "run %s not found", quote(id)))
		return
	}
	var req patchRunRequest
	if err := decodeJSON(c, maxPatchBytes, false, &req); err != nil {
		a.fail(c, err)
		return
	}
	if req.Name == nil && req.Tags == nil && req.Description == nil {
		a.fail(c, badRequest("nothing to change: send name, tags (null removes one) or description"))
		return
	}
	edit := registry.Annotations{Name: req.Name, Tags: req.Tags, Description: req.Description}
	if h := c.GetHeader("If-Match"); h != "" {
		n, err := strconv.Atoi(strings.Trim(strings.TrimPrefix(h, "W/"), `"`))
		if err != nil || n < 0 {
			a.fail(c, badRequest("If-Match %s must be the run's revision, as GET /runs/{id} gives it (\"3\")", quote(h)))
			return
		}
		edit.IfRevision = &n
	}
	run, err := a.cfg.Registry.Annotate(c, id, edit)
	var ee *registry.EditError
	switch {
	case err == nil:
		c.Header("ETag", strconv.Quote(strconv.Itoa(run.Revision)))
		run.History = nil
		c.JSON(http.StatusOK, run)
	case errors.As(err, &ee):
		a.fail(c, badRequest("%s", ee.Error()))
	case errors.Is(err, registry.ErrRunActive):
		a.fail(c, &httpserver.Error{Status: http.StatusConflict, Code: errcode.Conflict,
			Message: "run " + id + " is still queued or running: edit it once it has ended", Cause: err})
	case errors.Is(err, registry.ErrStale), errors.Is(err, modelstore.ErrConflict):
		a.fail(c, &httpserver.Error{Status: http.StatusConflict, Code: errcode.Conflict,
			Message: "run " + id + " was changed since you read it: reload it and make your edit again", Cause: err})
	case errors.Is(err, modelstore.ErrInvalid):
		a.fail(c, badRequest("run %s: its record would pass %d bytes: shorten its tags or description", id, registry.MaxRunRecordBytes))
	default:
		a.fail(c, storeError(err, "run "+id))
	}
}

// runName is the name a POST /train gives its run: the query key name or
// the JSON body's, checked; empty means generated.
func runName(query, body string) (string, error) {
	if query != "" && body != "" && query != body {
		return "", badRequest("name is given twice, %s in the query and %s in the body: give one", quote(query), quote(body))
	}
	name := query
	if name == "" {
		name = body
	}
	if name == "" {
		return "", nil
	}
	if err := registry.CheckName(name); err != nil {
		return "", badRequest("%v", err)
	}
	return name, nil
}

// decodeJSON reads a JSON request body of at most limit bytes into dst,
// refusing unknown fields; with anyType a body without a content type
// is read as JSON too.
func decodeJSON(c *gin.Context, limit int64, anyType bool, dst any) error {
	if ct := c.ContentType(); ct != "application/json" && (ct != "" || !anyType) {
		return httpserver.Errorf(http.StatusUnsupportedMediaType, errcode.UnsupportedMediaType,
			"content type %s is not supported: send application/json", quote(ct))
	}
	dec := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return httpserver.JSONError(err, "")
	}
	return nil
}
