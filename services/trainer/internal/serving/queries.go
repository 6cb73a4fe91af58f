package serving

import (
	"fmt"
	"strings"
	"time"
)

// Every PromQL query the console and GET /models/{m}/serving run is here,
// as a named template: {{model}} is the model's label matcher value and
// {{window}} the rate window of the range. The metric names are the
// predictor's (services/predictor/internal/usage, monitor, reloader) and
// the latency histogram is pkg/httpserver's, read over the same handlers
// as the Grafana dashboard's "Predictor latency" panel.
//
// Latency has no model label: it is that of the replicas serving the
// model (all their models), which the "and on (instance)" keeps to.

// Query names, the keys of Figures.Panels.
const (
	QRequests    = "requests_per_second"
	QErrorShare  = "error_share"
	QLatencyP50  = "latency_p50_seconds"
	QLatencyP90  = "latency_p90_seconds"
	QLatencyP99  = "latency_p99_seconds"
	QRows        = "rows_per_second"
	QFeaturePSI  = "feature_psi"
	QClassShare  = "class_share"
	QAgreement   = "shadow_agreement"
	QAbsDiff     = "shadow_mean_abs_prob_diff"
	QVersions    = "versions_served"
	QAllRequests = "all_models_requests_per_second"
	QAllWorstPSI = "all_models_worst_psi"
)

// servedBy keeps a per-instance series to the replicas serving {{model}}.
const servedBy = ` and on (instance) group by (instance) (predictor_model_info{model="{{model}}"})`

// predictHandlers are the dashboard's inference handlers.
const predictHandlers = `handler=~"/predict|/v2/models/.+/infer"`

func latency(q string) string {
	return `histogram_quantile(` + q + `, sum by (le) (rate(predictor_http_request_duration_seconds_bucket{` +
		predictHandlers + `}[{{window}}])` + servedBy + `))`
}

// Templates are the named queries, in the order the page shows them.
var templates = []struct{ Name, Expr string }{
	{QRequests, `sum by (protocol) (rate(predictor_inference_requests_total{model="{{model}}"}[{{window}}]))`},
	{QErrorShare, `sum by (reason) (rate(predictor_inference_request_failure_total{model="{{model}}"}[{{window}}]))` +
		` / ignoring (reason) group_left sum(rate(predictor_inference_requests_total{model="{{model}}"}[{{window}}]))`},
	{QLatencyP50, latency("0.5")},
	{QLatencyP90, latency("0.9")},
	{QLatencyP99, latency("0.99")},
	{QRows, `sum(rate(predictor_inference_rows_total{model="{{model}}"}[{{window}}]))`},
	{QFeaturePSI, `max by (feature) (predictor_feature_psi{model="{{model}}"})`},
	{QClassShare, `avg by (class, source) (predictor_class_share{model="{{model}}"})`},
	{QAgreement, `sum by (shadow_version) (rate(predictor_shadow_agreements_total{model="{{model}}"}[{{window}}]))` +
		` / sum by (shadow_version) (rate(predictor_shadow_rows_total{model="{{model}}"}[{{window}}]))`},
	{QAbsDiff, `sum by (shadow_version) (rate(predictor_shadow_abs_prob_diff_total{model="{{model}}"}[{{window}}]))` +
		` / sum by (shadow_version) (rate(predictor_shadow_rows_total{model="{{model}}"}[{{window}}]))`},
	{QVersions, `max by (instance, version) (predictor_model_info{model="{{model}}"})`},
}

// overview are the models list's queries, over every model.
var overview = []struct{ Name, Expr string }{
	{QAllRequests, `sum by (model) (rate(predictor_inference_requests_total[{{window}}]))`},
	{QAllWorstPSI, `max by (model) (predictor_feature_psi)`},
}

// Query is one named query made concrete for a model and a range.
type Query struct {
	Name, Expr string
}

// Queries returns the model's queries for r. The model name must be valid
// (modelstore.ValidName): it goes into a PromQL string as it is.
func Queries(model string, r Range) []Query {
	return expand(templates, model, r)
}

// OverviewQueries returns the models list's queries for r.
func OverviewQueries(r Range) []Query { return expand(overview, "", r) }

func expand(ts []struct{ Name, Expr string }, model string, r Range) []Query {
	rep := strings.NewReplacer("{{model}}", model, "{{window}}", promDuration(r.Window))
	qs := make([]Query, len(ts))
	for i, t := range ts {
		qs[i] = Query{Name: t.Name, Expr: rep.Replace(t.Expr)}
	}
	return qs
}

// promDuration writes d as PromQL does (1m, 90s, 2h).
func promDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

// Range is a time range the page and the API offer.
type Range struct {
	Name string
	// Span is how far back the figures go, Step the distance between
	// their points and Window the rate() window.
	Span, Step, Window time.Duration
}

// RangeNames are the ranges offered, shortest first.
func RangeNames() []string { return []string{"15m", "1h", "6h", "24h", "7d"} }

// ParseRange returns the named range; "" is 1h.
func ParseRange(name string) (Range, error) {
	switch name {
	case "15m":
		return Range{name, 15 * time.Minute, 15 * time.Second, time.Minute}, nil
	case "", "1h":
		return Range{"1h", time.Hour, 30 * time.Second, 2 * time.Minute}, nil
	case "6h":
		return Range{name, 6 * time.Hour, 2 * time.Minute, 5 * time.Minute}, nil
	case "24h":
		return Range{name, 24 * time.Hour, 10 * time.Minute, 20 * time.Minute}, nil
	case "7d":
		return Range{name, 7 * 24 * time.Hour, time.Hour, 2 * time.Hour}, nil
	}
	return Range{}, fmt.Errorf("range %q: want one of %s", name, strings.Join(RangeNames(), ", "))
}
