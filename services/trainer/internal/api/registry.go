package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/errcode"
	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/pkg/modelstore/names"
	"github.com/modelferry/modelferry/services/trainer/internal/jobs"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

// Registry is what the API reads and changes in the registry;
// *registry.Registry has it.
type Registry interface {
	Run(ctx context.Context, id string) (registry.Run, error)
	Runs(ctx context.Context, q registry.RunQuery) (registry.RunPage, error)
	SearchRuns(ctx context.Context, q registry.RunQuery, s registry.Search) (registry.RunPage, error)
	Annotate(ctx context.Context, id string, a registry.Annotations) (registry.Run, error)
	EachRun(ctx context.Context, q registry.RunQuery, s registry.Search, yield func(*registry.Run) error) error
	Models(ctx context.Context) ([]registry.ModelSummary, error)
	Model(ctx context.Context, name string) (registry.ModelView, error)
	Version(ctx context.Context, model, version string) (registry.VersionView, error)
	SetAlias(ctx context.Context, model, alias, version string) (registry.AliasChange, error)
	ResolveVersion(ctx context.Context, model, v string) (string, error)
}

const maxRunsListed = 500

// runsPage is the answer of GET /runs.
type runsPage struct {
	Model         string         `json:"model,omitempty"`
	Runs          []registry.Run `json:"runs"`
	NextPageToken string         `json:"next_page_token,omitempty"`
}

// listRuns lists runs newest first, of one model or of all.
func (a *API) listRuns(c *gin.Context) {
	q := registry.RunQuery{Limit: 50, PageToken: c.Query("page_token")}
	if m := c.Query("model"); m != "" {
		if !modelstore.ValidName(m) {
			a.fail(c, badRequest("model name %s %s", quote(m), names.Rule))
			return
		}
		q.Model = m
	}
	if s := c.Query("status"); s != "" {
		if q.Status = registry.Status(s); !q.Status.Valid() {
			a.fail(c, badRequest("status %s is not one of queued, running, succeeded, failed, cancelled", quote(s)))
			return
		}
	}
	if s := c.Query("limit"); s != "" {
		var err error
		if q.Limit, err = strconv.Atoi(s); err != nil || q.Limit < 1 || q.Limit > maxRunsListed {
			a.fail(c, badRequest("limit must be an integer in [1, %d], got %s", maxRunsListed, quote(s)))
			return
		}
	}
	search, searching, err := parseSearch(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	if q.PageToken != "" && !validPageToken(q.PageToken, search) {
		a.fail(c, badRequest("page_token %s is not one this API gave out", quote(q.PageToken)))
		return
	}
	var page registry.RunPage
	if searching {
		page, err = a.cfg.Registry.SearchRuns(c, q, search)
	} else {
		page, err = a.cfg.Registry.Runs(c, q)
	}
	if err != nil {
		a.fail(c, storeError(err, "runs"))
		return
	}
	for i := range page.Runs {
		page.Runs[i].History = nil // GET /runs/{id} has it; pages stay small
	}
	c.JSON(http.StatusOK, runsPage{Model: q.Model, Runs: page.Runs, NextPageToken: page.NextPageToken})
}

func (a *API) getRun(c *gin.Context) {
	id := c.Param("id")
	notFound := httpserver.Errorf(http.StatusNotFound, errcode.NotFound, "run %s not found", quote(id))
	if !modelstore.ValidVersion(id) {
		a.fail(c, notFound)
		return
	}
	run, err := a.cfg.Registry.Run(c, id)
	if err != nil {
		a.fail(c, storeError(err, "run "+id))
		return
	}
	if m := c.Query("model"); m != "" && m != run.Model {
		a.fail(c, notFound)
		return
	}
	c.JSON(http.StatusOK, run)
}

// cancelRun stops a queued or running run and answers it as it ended.
func (a *API) cancelRun(c *gin.Context) {
	id := c.Param("id")
	if !modelstore.ValidVersion(id) {
		a.fail(c, httpserver.Errorf(http.StatusNotFound, errcode.NotFound, "run %s not found", quote(id)))
		return
	}
	ctx, cancel := context.WithTimeout(c, 30*time.Second)
	defer cancel()
	run, err := a.cfg.Queue.Cancel(ctx, id)
	switch {
	case errors.Is(err, jobs.ErrNotLive):
		run, err := a.cfg.Registry.Run(c, id)
		if err != nil {
			a.fail(c, storeError(err, "run "+id))
			return
		}
		a.fail(c, httpserver.Errorf(http.StatusConflict, errcode.Conflict,
			"run %s is %s: only queued or running runs can be cancelled", id, run.Status))
	case errors.Is(err, jobs.ErrCommitted):
		a.fail(c, httpserver.Errorf(http.StatusConflict, errcode.Conflict,
			"run %s has already finished training and is publishing its version: it can no longer be cancelled; it ends succeeded or failed", id))
	case err != nil:
		// Still stopping: it ends at its next iteration or load chunk.
		c.JSON(http.StatusAccepted, run)
	default:
		a.log.Info("run cancelled", "run", id, "model", run.Model)
		c.JSON(http.StatusOK, run)
	}
}

func (a *API) listModels(c *gin.Context) { list(a, c, "models", a.cfg.Registry.Models) }

func (a *API) getModel(c *gin.Context) {
	model := modelOf(c)
	view, err := a.cfg.Registry.Model(c, model)
	if err != nil {
		a.fail(c, storeError(err, "model "+model))
		return
	}
	c.JSON(http.StatusOK, view)
}

// getVersion shows one version: how it was made (its immutable record),
// its artifact's sha256, and the aliases that point at it.
func (a *API) getVersion(c *gin.Context) {
	model := modelOf(c)
	version, err := a.versionParam(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	view, err := a.cfg.Registry.Version(c, model, version)
	if err != nil {
		a.fail(c, storeError(err, "version "+version+" of model "+model))
		return
	}
	c.JSON(http.StatusOK, view)
}

type setAliasRequest struct {
	Version string `json:"version"`
}

// setAlias promotes or rolls back: it points an alias at any published
// version after verifying that version's artifact.
func (a *API) setAlias(c *gin.Context) {
	model := modelOf(c)
	alias := c.Param("alias")
	if !modelstore.ValidName(alias) {
		a.fail(c, badRequest("alias name %s %s", quote(alias), names.Rule))
		return
	}
	var req setAliasRequest
	if err := decodeJSON(c, 64<<10, true, &req); err != nil {
		a.fail(c, err)
		return
	}
	if req.Version == "" {
		a.fail(c, badRequest("version: missing"))
		return
	}
	_, isNumber := modelstore.ParseNumber(req.Version)
	if !isNumber && !modelstore.ValidVersion(req.Version) {
		a.fail(c, badRequest("version %s must be a version id (20261126T221500Z-1a2b3c4d) or number (7)", quote(req.Version)))
		return
	}
	version, err := a.cfg.Registry.ResolveVersion(c, model, req.Version)
	if err != nil {
		a.fail(c, storeError(err, "version "+req.Version+" of model "+model))
		return
	}
	change, err := a.cfg.Registry.SetAlias(c, model, alias, version)
	if err != nil {
		a.fail(c, storeError(err, "version "+req.Version+" of model "+model))
		return
	}
	c.JSON(http.StatusOK, change)
}
