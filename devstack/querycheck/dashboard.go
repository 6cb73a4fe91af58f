package querycheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
)

// Dashboard is what querycheck evaluates of a Grafana dashboard.
type Dashboard struct {
	Queries   []PanelQuery
	Variables []Variable
}

// PanelQuery is one Prometheus query of a panel, variables not substituted.
type PanelQuery struct {
	Panel, RefID, Expr string
}

// Variable is a query variable: its values come from a label_values()
// query, and querycheck evaluates the panels with "All" selected, which is
// AllValue.
type Variable struct {
	Name     string
	Selector string // the series whose labels give the values; may be empty
	Label    string
	AllValue string
}

// labelValuesRE reads Grafana's label_values([selector,] label).
var labelValuesRE = regexp.MustCompile(`^\s*label_values\(\s*(?:(.+?)\s*,\s*)?([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$`)

// LoadDashboard reads a dashboard and checks it against Grafana's dashboard
// schema (grafana-foundation-sdk: unknown fields, wrong types, missing
// required fields and broken constraints fail, panel options and Prometheus
// queries included) and against the rules of this repository:
//
//   - the data source is a variable: exactly one datasource variable of type
//     prometheus, and every panel, query and query variable names it, never
//     a uid of its own;
//   - every query variable reads label_values() and offers "All" with an
//     allValue, which is what the panels are evaluated with;
//   - every panel other than rows and text has queries, each with an expr;
//   - every query variable is used by a panel query.
func LoadDashboard(path string) (*Dashboard, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	// The SDK decodes panel options and queries through a registry of
	// panel and data source types.
	plugins.RegisterDefaultPlugins()
	// The SDK deprecates this classic dashboard model for its v2 one, but
	// the classic model is what Grafana provisions from files without
	// feature toggles.
	//lint:ignore SA1019 see above
	var strict dashboard.Dashboard
	if err := buildErrors(strict.UnmarshalJSONStrict(b)); err != nil {
		return nil, fmt.Errorf("%s: not a valid Grafana dashboard:\n%w", path, err)
	}
	// v0.0.22's strict decoder reports errors correctly but drops every
	// nested value it decoded (its successes return a typed nil error), so
	// the values come from the ordinary decoder.
	//lint:ignore SA1019 the classic model, as above
	var d dashboard.Dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := buildErrors(d.Validate()); err != nil {
		return nil, fmt.Errorf("%s: not a valid Grafana dashboard:\n%w", path, err)
	}

	out := &Dashboard{}
	dsVar, err := datasourceVariable(d.Templating.List)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	usesDS := func(what string, ref *common.DataSourceRef) error {
		if ref == nil || ref.Type == nil || *ref.Type != "prometheus" || ref.Uid == nil ||
			(*ref.Uid != "$"+dsVar && *ref.Uid != "${"+dsVar+"}") {
			return fmt.Errorf("%s: %s must use the data source variable: {\"type\": \"prometheus\", \"uid\": \"${%s}\"}", path, what, dsVar)
		}
		return nil
	}
	for _, v := range d.Templating.List {
		if v.Type != dashboard.VariableTypeQuery {
			continue
		}
		what := fmt.Sprintf("variable %q", v.Name)
		if err := usesDS(what, v.Datasource); err != nil {
			return nil, err
		}
		m := labelValuesRE.FindStringSubmatch(variableQuery(v.Query))
		if m == nil {
			return nil, fmt.Errorf("%s: %s: query %q is not label_values([selector,] label)", path, what, variableQuery(v.Query))
		}
		if v.IncludeAll == nil || !*v.IncludeAll || v.AllValue == nil || *v.AllValue == "" {
			return nil, fmt.Errorf("%s: %s must offer All with an allValue (\".*\")", path, what)
		}
		out.Variables = append(out.Variables, Variable{Name: v.Name, Selector: m[1], Label: m[2], AllValue: *v.AllValue})
	}

	addPanel := func(p dashboard.Panel) error {
		title := ""
		if p.Title != nil {
			title = *p.Title
		}
		if p.Type == "text" {
			return nil
		}
		if err := usesDS(fmt.Sprintf("panel %q", title), p.Datasource); err != nil {
			return err
		}
		if len(p.Targets) == 0 {
			return fmt.Errorf("%s: panel %q has no queries", path, title)
		}
		for _, t := range p.Targets {
			q, ok := t.(*prometheus.Dataquery)
			if !ok {
				return fmt.Errorf("%s: panel %q: a query is %T, not a Prometheus query", path, title, t)
			}
			if q.Hide != nil && *q.Hide {
				continue
			}
			ref := ""
			if q.RefId != nil {
				ref = *q.RefId
			}
			what := fmt.Sprintf("panel %q query %s", title, ref)
			if err := usesDS(what, q.Datasource); err != nil {
				return err
			}
			if strings.TrimSpace(q.Expr) == "" {
				return fmt.Errorf("%s: %s has no expr", path, what)
			}
			out.Queries = append(out.Queries, PanelQuery{Panel: title, RefID: ref, Expr: q.Expr})
		}
		return nil
	}
	for _, pr := range d.Panels {
		switch {
		case pr.Panel != nil:
			if err := addPanel(*pr.Panel); err != nil {
				return nil, err
			}
		case pr.RowPanel != nil:
			for _, p := range pr.RowPanel.Panels {
				if err := addPanel(p); err != nil {
					return nil, err
				}
			}
		}
	}
	if len(out.Queries) == 0 {
		return nil, fmt.Errorf("%s: no panel queries", path)
	}
	used := map[string]bool{}
	for _, q := range out.Queries {
		for _, m := range varRE.FindAllStringSubmatch(q.Expr, -1) {
			used[m[1]+m[2]+m[3]] = true
		}
	}
	for _, v := range out.Variables {
		if !used[v.Name] {
			return nil, fmt.Errorf("%s: variable %q is used by no panel query", path, v.Name)
		}
	}
	return out, nil
}

// datasourceVariable returns the name of the dashboard's one Prometheus
// data source variable.
func datasourceVariable(vars []dashboard.VariableModel) (string, error) {
	var names []string
	for _, v := range vars {
		if v.Type == dashboard.VariableTypeDatasource && variableQuery(v.Query) == "prometheus" {
			names = append(names, v.Name)
		}
	}
	if len(names) != 1 {
		return "", fmt.Errorf("want one data source variable of type prometheus, have %d %v", len(names), names)
	}
	return names[0], nil
}

// variableQuery is a variable's query, a string or {"query": "..."}.
func variableQuery(q *dashboard.StringOrMap) string {
	switch {
	case q == nil:
		return ""
	case q.String != nil:
		return *q.String
	default:
		s, _ := q.Map["query"].(string)
		return s
	}
}

// buildErrors turns the SDK's empty error lists, which it returns as
// non-nil errors, into nil.
func buildErrors(err error) error {
	var be cog.BuildErrors
	if errors.As(err, &be) && len(be) == 0 {
		return nil
	}
	return err
}
