package console

import (
	"context"
	"html/template"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/evaluation"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/pkg/modelstore/names"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

// runIndex is every run, newest first, by id and by model. Finished runs
// come from the registry's memory, so building it costs a listing.
type runIndex struct {
	all     []registry.Run
	byID    map[string]*registry.Run
	byModel map[string][]*registry.Run
}

func (c *Console) runIndex(ctx context.Context) (*runIndex, error) {
	all, err := c.cfg.Registry.AllRuns(ctx)
	if err != nil {
		return nil, err
	}
	ix := &runIndex{all: all, byID: make(map[string]*registry.Run, len(all)), byModel: map[string][]*registry.Run{}}
	for i := range all {
		r := &all[i]
		ix.byID[r.ID] = r
		ix.byModel[r.Model] = append(ix.byModel[r.Model], r)
	}
	return ix, nil
}

// versionFacts is what a table says of a version: from the run that made
// it (a version's id is its run's), or from its record when that run is
// gone.
type versionFacts struct {
	Version string
	// Number is the version's sequential number; 0 when unknown.
	Number    int
	Created   time.Time
	Metrics   *evaluation.Report
	MetricsOn string
	Rows      int
	Params    registry.Params
	// Promoted and Reason are the gate's outcome; HasRun says whether
	// they are known.
	Promoted bool
	Reason   string
	HasRun   bool
}

func (c *Console) versionFacts(ctx context.Context, ix *runIndex, model, version string) versionFacts {
	f := versionFacts{Version: version}
	if t, ok := modelstore.VersionTime(version); ok {
		f.Created = t
	}
	if r, ok := ix.byID[version]; ok && r.Model == model {
		f.Metrics, f.MetricsOn, f.Rows, f.Params, f.Number = r.Metrics, r.MetricsOn, r.Dataset.Rows, r.Params, r.VersionNumber
		f.Promoted, f.Reason, f.HasRun = r.Promoted, r.PromotionReason, true
		return f
	}
	if v, err := c.cfg.Registry.Version(ctx, model, version); err == nil {
		rec := v.Record
		f.Metrics, f.MetricsOn, f.Rows, f.Params, f.Created, f.Number = rec.Metrics, rec.MetricsOn, rec.Dataset.Rows, rec.Params, rec.CreatedAt, rec.Number
	}
	return f
}

// modelRow is a line of the models page.
type modelRow struct {
	Name               string
	Production, Latest *versionFacts
	Runs               int
	LastRun            *registry.Run
	// Traffic is the last hour's requests/s as a sparkline and WorstPSI
	// the model's most drifted feature now (serving_list.go).
	Traffic  template.HTML
	WorstPSI float64
	HasPSI   bool
}

type modelsPage struct {
	layout
	Models []modelRow
	// Serving: the serving columns are shown (Prometheus is set).
	Serving bool
}

// modelsPage lists every model: the ones with versions or aliases, and
// the ones that only have (failed) runs.
func (c *Console) modelsPage(ctx *gin.Context) {
	summaries, err := c.cfg.Registry.Models(ctx)
	if err != nil {
		c.fail(ctx, "the models", err)
		return
	}
	ix, err := c.runIndex(ctx)
	if err != nil {
		c.fail(ctx, "the runs", err)
		return
	}
	aliases := map[string]map[string]modelstore.Alias{}
	for _, s := range summaries {
		aliases[s.Name] = s.Aliases
	}
	names := make([]string, 0, len(summaries))
	for _, s := range summaries {
		names = append(names, s.Name)
	}
	for m := range ix.byModel {
		if _, ok := aliases[m]; !ok {
			names = append(names, m)
		}
	}
	slices.Sort(names)
	page := modelsPage{layout: c.layout("Models", "models")}
	for _, name := range names {
		row := modelRow{Name: name, Runs: len(ix.byModel[name])}
		if runs := ix.byModel[name]; len(runs) > 0 {
			row.LastRun = runs[0]
		}
		if a, ok := aliases[name][registry.AliasProduction]; ok {
			f := c.versionFacts(ctx, ix, name, a.Version)
			row.Production = &f
		}
		if a, ok := aliases[name][registry.AliasLatest]; ok {
			f := c.versionFacts(ctx, ix, name, a.Version)
			row.Latest = &f
		}
		page.Models = append(page.Models, row)
	}
	c.addTraffic(ctx, &page)
	c.render(ctx, 200, "models", page)
}

// versionRow is a line of a model's versions table.
type versionRow struct {
	versionFacts
	Aliases []string
	// Action is what pointing production here would be: "promote" to a
	// version newer than production's, "roll back" to an older one, ""
	// for production's own.
	Action string
}

type modelPage struct {
	layout
	Name       string
	Aliases    map[string]modelstore.Alias
	Production string
	Versions   []versionRow
	Runs       int
}

func (c *Console) modelPage(ctx *gin.Context) {
	name := ctx.Param("model")
	if !modelstore.ValidName(name) {
		c.badRequest(ctx, "A model name "+names.Rule+".")
		return
	}
	view, err := c.cfg.Registry.Model(ctx, name)
	if err != nil {
		c.fail(ctx, "Model "+name, err)
		return
	}
	ix, err := c.runIndex(ctx)
	if err != nil {
		c.fail(ctx, "the runs", err)
		return
	}
	page := modelPage{layout: c.layout(name, "models"), Name: name, Aliases: view.Aliases, Runs: len(ix.byModel[name])}
	page.Production = view.Aliases[registry.AliasProduction].Version
	on := map[string][]string{}
	for alias, a := range view.Aliases {
		on[a.Version] = append(on[a.Version], alias)
	}
	for _, v := range view.Versions {
		row := versionRow{versionFacts: c.versionFacts(ctx, ix, name, v), Aliases: on[v]}
		slices.Sort(row.Aliases)
		switch {
		case v == page.Production:
		case page.Production == "" || v > page.Production:
			row.Action = "promote"
		default:
			row.Action = "roll back"
		}
		page.Versions = append(page.Versions, row)
	}
	c.render(ctx, 200, "model", page)
}
