package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// GET /models: every served model; GET /model?model=: one in detail.

// servedModel is one model of GET /models.
type servedModel struct {
	Name     string     `json:"name"`
	Alias    string     `json:"alias"`
	Version  string     `json:"version,omitempty"`
	Ready    bool       `json:"ready"`
	LoadedAt *time.Time `json:"loaded_at,omitempty"`
	// Waiting says why a model is not ready.
	Waiting string `json:"waiting,omitempty"`
}

func (a *API) models(c *gin.Context) {
	out := []servedModel{}
	for _, s := range a.cfg.Models.List() {
		sm := servedModel{Name: s.Name, Alias: s.Alias, Waiting: s.Waiting}
		if s.Model != nil {
			sm.Version, sm.Ready, sm.LoadedAt = s.Model.Version, true, &s.Model.LoadedAt
		}
		out = append(out, sm)
	}
	c.JSON(http.StatusOK, gin.H{"models": out, "default": a.cfg.Models.Default()})
}

type modelMetrics struct {
	MetricsOn string  `json:"metrics_on"`
	Rows      uint64  `json:"rows"`
	Accuracy  float64 `json:"accuracy"`
	LogLoss   float64 `json:"log_loss"`
	MacroF1   float64 `json:"macro_f1"`
}

type modelInfo struct {
	Name           string        `json:"name"`
	Version        string        `json:"version"`
	SHA256         string        `json:"sha256"`
	Alias          string        `json:"alias"`
	Features       []string      `json:"features"`
	Classes        []string      `json:"classes"`
	Metrics        *modelMetrics `json:"metrics,omitempty"`
	Params         any           `json:"params,omitempty"`
	Dataset        any           `json:"dataset,omitempty"`
	RunID          string        `json:"run_id,omitempty"`
	TrainerVersion string        `json:"trainer_version,omitempty"`
	CreatedAt      *time.Time    `json:"created_at,omitempty"`
	LoadedAt       time.Time     `json:"loaded_at"`
	// Monitored says whether drift is watched: versions made before
	// training baselines existed are not.
	Monitored bool        `json:"monitored"`
	Shadow    *shadowInfo `json:"shadow,omitempty"`
}

// shadowInfo is how the shadow version compares with the served one.
type shadowInfo struct {
	Alias     string   `json:"alias"`
	Version   string   `json:"version"`
	Rows      uint64   `json:"rows"`
	Agreement *float64 `json:"agreement,omitempty"`
	// MeanAbsProbDiff is the mean absolute difference of the class
	// probabilities per row.
	MeanAbsProbDiff *float64 `json:"mean_abs_prob_diff,omitempty"`
}

// model answers GET /model?model=NAME (the default model without one).
func (a *API) model(c *gin.Context) {
	m, err := a.cfg.Models.Lookup(c.Query("model"))
	if err != nil {
		a.fail(c, lookupError(err))
		return
	}
	alias := ""
	for _, s := range a.cfg.Models.List() {
		if s.Name == m.Name {
			alias = s.Alias
		}
	}
	info := modelInfo{
		Name: m.Name, Version: m.Version, SHA256: m.SHA256, Alias: alias,
		Features: m.Features, Classes: m.Classes, RunID: m.Meta.RunId,
		TrainerVersion: m.Meta.TrainerVersion, LoadedAt: m.LoadedAt,
	}
	if mt := m.Meta.Metrics; mt != nil {
		info.Metrics = &modelMetrics{MetricsOn: mt.MetricsOn, Rows: mt.Rows, Accuracy: mt.Accuracy, LogLoss: mt.LogLoss, MacroF1: mt.MacroF1}
	}
	if p := m.Meta.Params; p != nil {
		info.Params = gin.H{"c": p.C, "max_iter": p.MaxIter, "tol": p.Tol, "test_fraction": p.TestFraction,
			"seed": p.Seed, "standardize": p.Standardize, "label": p.Label}
	}
	if d := m.Meta.Dataset; d != nil {
		info.Dataset = gin.H{"uri": d.Uri, "sha256": d.Sha256, "rows": d.Rows}
	}
	if t := m.Meta.CreatedAt; t != nil {
		ct := t.AsTime()
		info.CreatedAt = &ct
	}
	info.Monitored = m.Drift() != nil
	if t := a.cfg.Tap; t != nil && t.Shadow != nil {
		info.Shadow = &shadowInfo{Alias: a.cfg.ShadowAlias}
		if _, v, ok := t.ShadowOf(m.Name); ok {
			info.Shadow.Version = v
		}
		if st, ok := t.Shadow.Stats(m.Name); ok && st.Version == m.Version && st.ShadowVersion == info.Shadow.Version && st.Rows > 0 {
			agreement, diff := st.Agreement(), st.AbsDiffSum/float64(st.Rows)
			info.Shadow.Rows, info.Shadow.Agreement, info.Shadow.MeanAbsProbDiff = st.Rows, &agreement, &diff
		}
	}
	c.JSON(http.StatusOK, info)
}
