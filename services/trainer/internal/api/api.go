// Package api is the trainer's HTTP API: POST /train, run records, and the
// model registry (versions and aliases).
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/errcode"
	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/pkg/modelstore/names"
)

// DefaultModel is the model a request means when it names none.
const DefaultModel = "iris"

// Config configures the API.
type Config struct {
	Logger   *slog.Logger
	Registry Registry
	Queue    Queue
	Storage  Pinger
	// TrainerVersion goes into every run record.
	TrainerVersion string
	// DataDir holds each model's default dataset, <model>.csv.
	DataDir string
	// TempDir receives uploads while they are trained on.
	TempDir string
	// MaxUploadBytes bounds a CSV or multipart body.
	MaxUploadBytes int64
	// MinUploadRate is the slowest a /train body may arrive, in bytes a
	// second averaged over UploadWindow (30s when 0); 0 means no bound.
	MinUploadRate int64
	UploadWindow  time.Duration
	// Token, when set, is required as a bearer token on mutating calls.
	Token string
	// ReadToken, when set, is required (or Token) to read runs, models and
	// datasets.
	ReadToken string

	// What the endpoints of views.go read: live runs, artifacts and
	// datasets.
	Jobs         Jobs
	Artifacts    Artifacts
	Datasets     Datasets
	DatasetFiles DatasetFiles
	// Serving reads the serving figures; nil without Prometheus.
	Serving Serving
}

// API serves the trainer's endpoints.
type API struct {
	cfg    Config
	log    *slog.Logger
	models compiledCache
}

// New returns the API.
func New(cfg Config) *API { return &API{cfg: cfg, log: cfg.Logger} }

// Register adds the routes to e.
func (a *API) Register(e *gin.Engine) {
	const realm = "modelferry-trainer"
	auth := httpserver.BearerAuth(a.log, realm, a.cfg.Token)
	read := httpserver.BearerAuth(a.log, realm, a.cfg.Token, a.cfg.ReadToken)
	e.POST("/train", auth, a.train)
	e.GET("/runs", read, a.listRuns)
	e.GET("/runs.csv", read, a.exportRuns)
	e.GET("/runs/:id", read, a.getRun)
	e.POST("/runs/:id/cancel", auth, a.cancelRun)
	e.PATCH("/runs/:id", auth, a.patchRun)
	e.GET("/models", read, a.listModels)
	model := e.Group("/models/:model", a.modelPath)
	model.GET("", read, a.getModel)
	model.GET("/versions/:version", read, a.getVersion)
	model.PUT("/aliases/:alias", auth, a.setAlias)
	model.GET("/serving", read, a.getServing)
	a.registerViews(e, model, read)
}

func (a *API) fail(c *gin.Context, err error) { httpserver.WriteError(c, a.log, err) }

func badRequest(format string, args ...any) *httpserver.Error {
	return httpserver.Errorf(http.StatusBadRequest, errcode.InvalidArgument, format, args...)
}

// storeError maps registry failures to API errors.
func storeError(err error, what string) error {
	switch {
	case errors.Is(err, modelstore.ErrNotFound):
		return &httpserver.Error{Status: http.StatusNotFound, Code: errcode.NotFound, Message: what + " not found", Cause: err}
	case errors.Is(err, modelstore.ErrIntegrity):
		return &httpserver.Error{Status: http.StatusConflict, Code: errcode.Integrity,
			Message: what + " failed its integrity check (sha256 or structure)", Cause: err}
	case errors.Is(err, modelstore.ErrConflict):
		return &httpserver.Error{Status: http.StatusConflict, Code: errcode.Conflict,
			Message: what + " was changed concurrently; retry", Cause: err}
	case errors.Is(err, modelstore.ErrUnavailable), errors.Is(err, modelstore.ErrAccessDenied),
		errors.Is(err, context.DeadlineExceeded):
		return &httpserver.Error{Status: http.StatusServiceUnavailable, Code: errcode.Unavailable,
			Message: "model storage is unavailable; try again later", Cause: err}
	case errors.Is(err, modelstore.ErrInvalid):
		return &httpserver.Error{Status: http.StatusBadRequest, Code: errcode.InvalidArgument, Message: "invalid " + what, Cause: err}
	}
	return err
}

// modelPath checks the :model of a path and keeps it for the handler
// (modelOf).
func (a *API) modelPath(c *gin.Context) {
	m, err := modelParam(c.Param("model"))
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Set("model", m)
}

func modelOf(c *gin.Context) string { return c.GetString("model") }

func modelParam(name string) (string, error) {
	m := name
	if m == "" {
		m = DefaultModel
	}
	if !modelstore.ValidName(m) {
		return "", badRequest("model name %s %s", quote(m), names.Rule)
	}
	return m, nil
}

// quote cuts a client's value for an error message.
var quote = names.Quote
