package serving

import (
	"context"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"
)

// Figures are a model's serving figures over a range: what
// GET /models/{m}/serving answers and the Serving page draws.
type Figures struct {
	Model string    `json:"model"`
	Range string    `json:"range"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Step  float64   `json:"step_seconds"`
	// Panels by query name (see queries.go); a panel whose query failed
	// says so and the others stand.
	Panels map[string]Panel `json:"panels"`
	// Replicas are the versions each replica served, with the swaps.
	Replicas []Replica `json:"replicas"`
	// Alerts are the firing alerts about this model or the predictors.
	Alerts      []Alert `json:"alerts"`
	AlertsError string  `json:"alerts_error,omitempty"`
}

// Panel is one query's answer.
type Panel struct {
	Query  string   `json:"query"`
	Series []Series `json:"series"`
	// Error is set when Prometheus could not answer: the panel is
	// unavailable.
	Error string `json:"error,omitempty"`
	// Seconds is how long Prometheus took (0 from the cache).
	Seconds float64 `json:"seconds"`
	// End is the end of the range this answer is for: up to the cache's
	// TTL before the figures' end.
	End time.Time `json:"end"`
}

// Series is one labelled line of a panel.
type Series struct {
	Labels map[string]string `json:"labels"`
	// Points are [unix seconds, value] pairs.
	Points [][2]float64 `json:"points"`
	// Last is the last point's value.
	Last float64 `json:"last"`
}

// Replica is the versions one predictor instance served.
type Replica struct {
	Instance string    `json:"instance"`
	Served   []Stretch `json:"served"`
}

// Stretch is a version served from From to To; a stretch after another
// starts with a swap.
type Stretch struct {
	Version string    `json:"version"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
}

// Alert is a firing alert.
type Alert struct {
	Name        string            `json:"name"`
	Severity    string            `json:"severity,omitempty"`
	Summary     string            `json:"summary,omitempty"`
	Description string            `json:"description,omitempty"`
	ActiveAt    time.Time         `json:"active_at"`
	Labels      map[string]string `json:"labels"`
}

// Unavailable is a panel's error when Prometheus does not answer.
const Unavailable = "Prometheus did not answer in time or is down"

// Figures runs the model's queries, at once, and the alerts.
func (c *Client) Figures(ctx context.Context, modelName string, r Range) Figures {
	end := c.cfg.Now().Truncate(r.Step)
	f := Figures{Model: modelName, Range: r.Name, Start: end.Add(-r.Span), End: end, Step: r.Step.Seconds(), Panels: map[string]Panel{}}
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for _, q := range Queries(modelName, r) {
		wg.Go(func() {
			p := c.panel(ctx, q, r)
			mu.Lock()
			f.Panels[q.Name] = p
			mu.Unlock()
		})
	}
	wg.Go(func() {
		alerts, err := c.Alerts(ctx)
		if err != nil {
			f.AlertsError = Unavailable
			return
		}
		f.Alerts = firing(alerts, modelName)
	})
	wg.Wait()
	f.Replicas = replicas(f.Panels[QVersions], r.Step)
	return f
}

// Overview runs the models list's queries: per model, its requests/s
// series and its worst PSI now. ok is false when Prometheus did not
// answer.
func (c *Client) Overview(ctx context.Context, r Range) (requests map[string][]float64, worstPSI map[string]float64, ok bool) {
	requests, worstPSI = map[string][]float64{}, map[string]float64{}
	qs := OverviewQueries(r)
	req, err1 := c.QueryRange(ctx, qs[0].Expr, r.Span, r.Step)
	psi, err2 := c.QueryRange(ctx, qs[1].Expr, r.Span, r.Step)
	if err1 != nil || err2 != nil {
		return nil, nil, false
	}
	for _, s := range req.Matrix {
		vs := make([]float64, len(s.Values))
		for i, p := range s.Values {
			vs[i] = float64(p.Value)
		}
		requests[string(s.Metric["model"])] = vs
	}
	for _, s := range psi.Matrix {
		if n := len(s.Values); n > 0 {
			worstPSI[string(s.Metric["model"])] = float64(s.Values[n-1].Value)
		}
	}
	return requests, worstPSI, true
}

func (c *Client) panel(ctx context.Context, q Query, r Range) Panel {
	p := Panel{Query: q.Expr, Series: []Series{}}
	res, err := c.QueryRange(ctx, q.Expr, r.Span, r.Step)
	if err != nil {
		p.Error = Unavailable
		return p
	}
	if !res.Cached {
		p.Seconds = res.Took.Seconds()
	}
	p.End = res.End
	for _, s := range res.Matrix {
		out := Series{Labels: map[string]string{}, Points: make([][2]float64, 0, len(s.Values))}
		for k, v := range s.Metric {
			out.Labels[string(k)] = string(v)
		}
		for _, v := range s.Values {
			if f := float64(v.Value); !math.IsNaN(f) && !math.IsInf(f, 0) {
				out.Points = append(out.Points, [2]float64{float64(v.Timestamp) / 1000, f})
			}
		}
		if len(out.Points) == 0 {
			continue
		}
		out.Last = out.Points[len(out.Points)-1][1]
		p.Series = append(p.Series, out)
	}
	sort.Slice(p.Series, func(i, j int) bool { return labelKey(p.Series[i].Labels) < labelKey(p.Series[j].Labels) })
	return p
}

func labelKey(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + l[k] + ",")
	}
	return b.String()
}

// replicas turns the versions panel into stretches per instance: a gap
// longer than two steps ends a stretch.
func replicas(p Panel, step time.Duration) []Replica {
	byInstance := map[string][]Stretch{}
	gap := 2 * step.Seconds()
	for _, s := range p.Series {
		inst, v := s.Labels["instance"], s.Labels["version"]
		var cur *Stretch
		prev := math.Inf(-1)
		for _, pt := range s.Points {
			t := time.Unix(0, int64(pt[0]*1e9)).UTC()
			if cur == nil || pt[0]-prev > gap {
				byInstance[inst] = append(byInstance[inst], Stretch{Version: v, From: t, To: t})
				cur = &byInstance[inst][len(byInstance[inst])-1]
			}
			cur.To, prev = t, pt[0]
		}
	}
	out := make([]Replica, 0, len(byInstance))
	for inst, ss := range byInstance {
		sort.Slice(ss, func(i, j int) bool { return ss[i].From.Before(ss[j].From) })
		out = append(out, Replica{Instance: inst, Served: ss})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Instance < out[j].Instance })
	return out
}

// Swaps are the times a replica began serving another version.
func (r Replica) Swaps() []time.Time {
	var ts []time.Time
	for i := 1; i < len(r.Served); i++ {
		if r.Served[i].Version != r.Served[i-1].Version {
			ts = append(ts, r.Served[i].From)
		}
	}
	return ts
}

// firing keeps the firing alerts about model: those naming it, and those
// naming no model (a predictor down concerns every model).
func firing(alerts []promAlert, modelName string) []Alert {
	out := []Alert{}
	for _, a := range alerts {
		if a.State != "firing" {
			continue
		}
		if m, ok := a.Labels["model"]; ok && string(m) != modelName {
			continue
		}
		labels := map[string]string{}
		for k, v := range a.Labels {
			labels[string(k)] = string(v)
		}
		out = append(out, Alert{
			Name: string(a.Labels[model.AlertNameLabel]), Severity: string(a.Labels["severity"]),
			Summary: string(a.Annotations["summary"]), Description: string(a.Annotations["description"]),
			ActiveAt: a.ActiveAt, Labels: labels,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ActiveAt.Before(out[j].ActiveAt) })
	return out
}
