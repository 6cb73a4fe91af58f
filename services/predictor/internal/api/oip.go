package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/errcode"
	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/pkg/modelstore/names"
	"github.com/modelferry/modelferry/pkg/serving"
	"github.com/modelferry/modelferry/services/predictor/internal/oip"
	"github.com/modelferry/modelferry/services/predictor/internal/usage"
)

// Open Inference Protocol v2 (REST). Errors use the protocol's own shape,
// {"error": "message"}, on every /v2 path, unknown ones included; KServe
// V1 answers errors the same way.

func oipError(c *gin.Context, status int, format string, args ...any) {
	c.AbortWithStatusJSON(status, gin.H{"error": fmt.Sprintf(format, args...)})
}

// oipPath is a path of the protocols that answer {"error": "..."}.
func oipPath(path string) bool {
	return path == "/v2" || strings.HasPrefix(path, "/v2/") || strings.HasPrefix(path, "/v1/")
}

// notFound and notAllowed answer unknown routes, in the protocol's shape
// under /v2 and /v1.
func (a *API) notFound(c *gin.Context) {
	if oipPath(c.Request.URL.Path) {
		oipError(c, http.StatusNotFound, "no route %s %s", c.Request.Method, names.Quote(c.Request.URL.Path))
		return
	}
	httpserver.NoRoute(a.log)(c)
}

func (a *API) notAllowed(c *gin.Context) {
	if oipPath(c.Request.URL.Path) {
		oipError(c, http.StatusMethodNotAllowed, "method %s is not allowed on %s", c.Request.Method, names.Quote(c.Request.URL.Path))
		return
	}
	httpserver.NoMethod(a.log)(c)
}

func (a *API) oipServer(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"name": oip.ServerName, "version": a.cfg.Version, "extensions": oip.Extensions})
}

func (a *API) oipLive(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"live": true}) }

func (a *API) oipReady(c *gin.Context) {
	ready := a.cfg.Ready == nil || a.cfg.Ready()
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	c.JSON(status, gin.H{"ready": ready})
}

// oipModel resolves the {name} and optional {version} path parameters to
// a loaded model, answering 404 or 503 itself when it cannot.
func (a *API) oipModel(c *gin.Context) *serving.Model {
	m, err := oip.Resolve(a.cfg.Models, c.Param("name"), c.Param("version"))
	if err != nil {
		status := http.StatusNotFound
		if errors.Is(err, oip.ErrUnavailable) {
			status = http.StatusServiceUnavailable
		}
		oipError(c, status, "%s", oip.Message(err))
		return nil
	}
	return m
}

func (a *API) oipMetadata(c *gin.Context) {
	if m := a.oipModel(c); m != nil {
		c.JSON(http.StatusOK, oip.ModelMetadata(m))
	}
}

func (a *API) oipModelReady(c *gin.Context) {
	if m := a.oipModel(c); m != nil {
		c.JSON(http.StatusOK, gin.H{"name": m.Name, "ready": true})
	}
}

// oipRepositoryIndex is the repository extension's index: every served
// model with its state; {"ready": true} keeps the ready ones.
func (a *API) oipRepositoryIndex(c *gin.Context) {
	var req struct {
		Ready bool `json:"ready"`
	}
	st, done, he := a.readState(c)
	defer a.release(st)
	defer done()
	if he != nil {
		oipError(c, he.Status, "%s", he.Message)
		return
	}
	if len(bytes.TrimSpace(st.body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(st.body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			oipError(c, http.StatusBadRequest, "%s", httpserver.JSONError(err, "").Message)
			return
		}
	}
	c.JSON(http.StatusOK, oip.RepositoryIndex(a.cfg.Models.List(), req.Ready))
}

func (a *API) oipInfer(c *gin.Context) {
	m := a.oipModel(c)
	if m == nil {
		return
	}
	if ct := c.Request.Header.Get("Content-Type"); !jsonContentType(ct) {
		a.cfg.Counters.Failure(m.Name, usage.OIPREST, errcode.UnsupportedMediaType)
		oipError(c, http.StatusUnsupportedMediaType, "content type %q is not supported: send Content-Type: application/json", ct)
		return
	}
	st, done, he := a.readState(c)
	defer a.release(st)
	defer done()
	if he != nil {
		a.cfg.Counters.Failure(m.Name, usage.OIPREST, he.Code)
		oipError(c, he.Status, "%s", he.Message)
		return
	}
	req, err := m.DecodeInfer(st.body, a.cfg.MaxBatch, &st.sc)
	if err == nil {
		err = m.PredictRows(req.X, req.Rows, &st.ans)
	}
	if err != nil {
		he := inputError(err)
		a.cfg.Counters.Failure(m.Name, usage.OIPREST, he.Code)
		oipError(c, he.Status, "%s", he.Message)
		return
	}
	st.out = m.AppendInfer(st.out[:0], req.ID, req.Outputs, &st.ans)
	c.Writer.Header()["Content-Type"] = a.jsonCT
	c.Writer.WriteHeader(http.StatusOK)
	_, _ = c.Writer.Write(st.out)
	a.cfg.Counters.Success(m.Name, usage.OIPREST, req.Rows)
}
