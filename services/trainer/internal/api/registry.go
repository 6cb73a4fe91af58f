package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/services/trainer/internal/training"
)

const maxRunsListed = 500

func (a *API) listRuns(c *gin.Context) {
	model, err := modelParam(c.Query("model"))
	if err != nil {
		a.fail(c, err)
		return
	}
	limit := 50
	if s := c.Query("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > maxRunsListed {
			a.fail(c, badRequest("limit must be an integer in [1, %d], got %q", maxRunsListed, s))
			return
		}
	}
	ids, err := a.cfg.Store.ListRuns(c, model)
	if err != nil {
		a.fail(c, storeError(err, "runs"))
		return
	}
	runs := make([]training.Run, 0, min(limit, len(ids)))
	for _, id := range ids[:min(limit, len(ids))] {
		r, err := a.cfg.Manager.Lookup(c, model, id)
		if errors.Is(err, modelstore.ErrNotFound) {
			continue
		}
		if err != nil {
			a.fail(c, storeError(err, "run "+id))
			return
		}
		runs = append(runs, r)
	}
	c.JSON(http.StatusOK, gin.H{"model": model, "runs": runs})
}

func (a *API) getRun(c *gin.Context) {
	id := c.Param("id")
	if !modelstore.ValidVersion(id) {
		a.fail(c, httpserver.Errorf(http.StatusNotFound, httpserver.CodeNotFound, "run %q not found", id))
		return
	}
	if j, ok := a.cfg.Manager.Get(id); ok {
		c.JSON(http.StatusOK, j.Snapshot())
		return
	}
	// Not in this process: find it in S3, under the model the caller named
	// or under any model.
	var models []string
	if m := c.Query("model"); m != "" {
		model, err := modelParam(m)
		if err != nil {
			a.fail(c, err)
			return
		}
		models = []string{model}
	} else {
		var err error
		if models, err = a.cfg.Store.ListRunModels(c); err != nil {
			a.fail(c, storeError(err, "runs"))
			return
		}
	}
	for _, model := range models {
		r, err := a.cfg.Manager.LoadRun(c, model, id)
		if errors.Is(err, modelstore.ErrNotFound) {
			continue
		}
		if err != nil {
			a.fail(c, storeError(err, "run "+id))
			return
		}
		c.JSON(http.StatusOK, r)
		return
	}
	a.fail(c, httpserver.Errorf(http.StatusNotFound, httpserver.CodeNotFound, "run %q not found", id))
}

type modelSummary struct {
	Name    string                      `json:"name"`
	Aliases map[string]modelstore.Alias `json:"aliases"`
}

func (a *API) listModels(c *gin.Context) {
	names, err := a.cfg.Store.ListModels(c)
	if err != nil {
		a.fail(c, storeError(err, "models"))
		return
	}
	out := make([]modelSummary, 0, len(names))
	for _, n := range names {
		aliases, err := a.cfg.Store.ListAliases(c, n)
		if err != nil {
			a.fail(c, storeError(err, "aliases of "+n))
			return
		}
		out = append(out, modelSummary{Name: n, Aliases: aliases})
	}
	c.JSON(http.StatusOK, gin.H{"models": out})
}

func (a *API) getModel(c *gin.Context) {
	model, err := modelParam(c.Param("model"))
	if err != nil {
		a.fail(c, err)
		return
	}
	versions, err := a.cfg.Store.ListVersions(c, model)
	if err != nil {
		a.fail(c, storeError(err, "versions"))
		return
	}
	aliases, err := a.cfg.Store.ListAliases(c, model)
	if err != nil {
		a.fail(c, storeError(err, "aliases"))
		return
	}
	if len(versions) == 0 && len(aliases) == 0 {
		a.fail(c, httpserver.Errorf(http.StatusNotFound, httpserver.CodeNotFound, "model %q not found", model))
		return
	}
	c.JSON(http.StatusOK, gin.H{"name": model, "versions": versions, "aliases": aliases})
}

// getVersion shows one version: how it was made (its immutable record),
// its artifact's sha256, and the aliases that point at it.
func (a *API) getVersion(c *gin.Context) {
	model, err := modelParam(c.Param("model"))
	if err != nil {
		a.fail(c, err)
		return
	}
	version := c.Param("version")
	if !modelstore.ValidVersion(version) {
		a.fail(c, httpserver.Errorf(http.StatusNotFound, httpserver.CodeNotFound, "version %q of model %q not found", version, model))
		return
	}
	_, b, err := a.cfg.Store.ReadVersion(c, model, version, "")
	if err != nil {
		a.fail(c, storeError(err, "version "+version+" of model "+model))
		return
	}
	raw, err := a.cfg.Store.ReadRecord(c, model, version)
	if err != nil {
		a.fail(c, storeError(err, "record of version "+version))
		return
	}
	var record training.VersionRecord
	if err := json.Unmarshal(raw, &record); err != nil {
		a.fail(c, fmt.Errorf("decode record of %s/%s: %w", model, version, err))
		return
	}
	aliases, err := a.cfg.Store.ListAliases(c, model)
	if err != nil {
		a.fail(c, storeError(err, "aliases"))
		return
	}
	pointing := []string{}
	for name, al := range aliases {
		if al.Version == version {
			pointing = append(pointing, name)
		}
	}
	slices.Sort(pointing)
	c.JSON(http.StatusOK, gin.H{"model": model, "version": version, "sha256": modelstore.SHA256(b),
		"aliases": pointing, "record": record})
}

type setAliasRequest struct {
	Version string `json:"version"`
}

type setAliasResponse struct {
	Model           string    `json:"model"`
	Alias           string    `json:"alias"`
	Version         string    `json:"version"`
	SHA256          string    `json:"sha256"`
	PreviousVersion string    `json:"previous_version,omitempty"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// setAlias promotes or rolls back: it points an alias at any published
// version after verifying that version's artifact.
func (a *API) setAlias(c *gin.Context) {
	model, err := modelParam(c.Param("model"))
	if err != nil {
		a.fail(c, err)
		return
	}
	alias := c.Param("alias")
	if !modelstore.ValidName(alias) {
		a.fail(c, badRequest("alias name %q must match [a-z0-9][a-z0-9_-]{0,62}", alias))
		return
	}
	if ct := c.ContentType(); ct != "" && ct != "application/json" {
		a.fail(c, httpserver.Errorf(http.StatusUnsupportedMediaType, httpserver.CodeUnsupportedMediaType,
			"content type %q is not supported: send application/json", ct))
		return
	}
	var req setAliasRequest
	dec := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		a.fail(c, httpserver.JSONError(err, ""))
		return
	}
	if req.Version == "" {
		a.fail(c, badRequest("version: missing"))
		return
	}
	if !modelstore.ValidVersion(req.Version) {
		a.fail(c, badRequest("version %q must look like 20261126T221500Z-1a2b3c4d", req.Version))
		return
	}
	_, b, err := a.cfg.Store.ReadVersion(c, model, req.Version, "")
	if err != nil {
		a.fail(c, storeError(err, "version "+req.Version+" of model "+model))
		return
	}
	// A corrupt alias has no previous version to report, but is replaced.
	prev, _, err := a.cfg.Store.GetAlias(c, model, alias)
	if err != nil && !errors.Is(err, modelstore.ErrNotFound) && !errors.Is(err, modelstore.ErrIntegrity) {
		a.fail(c, storeError(err, "alias "+alias))
		return
	}
	ref := modelstore.Ref{Model: model, Version: req.Version, SHA256: modelstore.SHA256(b)}
	if err := training.SetAlias(c, a.cfg.Store, alias, ref); err != nil {
		a.fail(c, storeError(err, "alias "+alias))
		return
	}
	now, _, err := a.cfg.Store.GetAlias(c, model, alias)
	if err != nil {
		a.fail(c, storeError(err, "alias "+alias))
		return
	}
	a.log.Info("alias moved", "model", model, "alias", alias, "version", ref.Version, "previous", prev.Version)
	c.JSON(http.StatusOK, setAliasResponse{Model: model, Alias: alias, Version: now.Version, SHA256: now.SHA256,
		PreviousVersion: prev.Version, UpdatedAt: now.UpdatedAt})
}
