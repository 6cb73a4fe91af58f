package console

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/services/trainer/internal/serving"
)

// Serving reads the serving figures from Prometheus; *serving.Client has
// it. Nil when the trainer has no TRAINER_PROMETHEUS_URL.
type Serving interface {
	Figures(ctx context.Context, model string, r serving.Range) serving.Figures
	Overview(ctx context.Context, r serving.Range) (requests map[string][]float64, worstPSI map[string]float64, ok bool)
}

// refreshChoices are the auto-refresh periods offered, in seconds (0 off).
var refreshChoices = []int{0, 10, 30, 60}

// servingPanel is one chart of the page, or why it is missing.
type servingPanel struct {
	Title, Query string
	Chart        template.HTML
	Unavailable  bool
	// Empty: Prometheus answered, with no series.
	Empty bool
	Note  string
}

type classShare struct {
	Class          string
	Live, Training float64
	HasLive, HasTr bool
}

type servingPage struct {
	layout
	Model       string
	Ranges      []string
	Range       string
	Refresh     int
	Refreshes   []int
	Enabled     bool
	Figures     serving.Figures
	Panels      []servingPanel
	Classes     []classShare
	ClassesGone bool
	Timeline    template.HTML
	Shadow      []string
}

func (c *Console) servingPage(ctx *gin.Context) {
	name := ctx.Param("model")
	if !modelstore.ValidName(name) {
		c.badRequest(ctx, "A model name must match [a-z0-9][a-z0-9_-]{0,62}.")
		return
	}
	r, err := serving.ParseRange(ctx.Query("range"))
	if err != nil {
		c.badRequest(ctx, "Unknown range: choose one of "+strings.Join(serving.RangeNames(), ", ")+".")
		return
	}
	page := servingPage{layout: c.layout(name+" · serving", "models"), Model: name, Ranges: serving.RangeNames(),
		Range: r.Name, Refreshes: refreshChoices}
	if s := ctx.Query("refresh"); s != "" {
		if _, err := fmt.Sscan(s, &page.Refresh); err != nil || !slices.Contains(refreshChoices, page.Refresh) {
			c.badRequest(ctx, "refresh is one of 0, 10, 30, 60 (seconds).")
			return
		}
	}
	if _, err := c.cfg.Registry.Model(ctx, name); err != nil {
		c.fail(ctx, "Model "+name, err)
		return
	}
	if c.cfg.Serving == nil {
		c.render(ctx, 200, "serving", page)
		return
	}
	page.Enabled = true
	f := c.cfg.Serving.Figures(ctx, name, r)
	page.Figures = f
	page.Panels = servingPanels(f, r)
	page.Classes, page.ClassesGone = classShares(f.Panels[serving.QClassShare])
	page.Timeline = versionTimeline(f, r)
	for _, s := range f.Panels[serving.QAgreement].Series {
		page.Shadow = append(page.Shadow, s.Labels["shadow_version"])
	}
	c.render(ctx, 200, "serving", page)
}

// timeAxis places the figures' times on a chart's x axis: minutes, hours
// or days before the end of the range.
func timeAxis(f serving.Figures, r serving.Range) (unit float64, label string) {
	switch {
	case r.Span <= time.Hour:
		return 60, "minutes ago"
	case r.Span <= 24*time.Hour:
		return 3600, "hours ago"
	}
	return 86400, "days ago"
}

// servingPanels are the line charts, in the page's order.
func servingPanels(f serving.Figures, r serving.Range) []servingPanel {
	unit, xLabel := timeAxis(f, r)
	end := float64(f.End.Unix())
	// part is one query's lines: legend names a series, scale converts
	// its values (to ms, to %).
	type part struct {
		query  string
		scale  float64
		legend func(labels map[string]string) string
	}
	byLabel := func(key string) func(map[string]string) string {
		return func(l map[string]string) string {
			if v := l[key]; v != "" {
				return v
			}
			return "all"
		}
	}
	fixed := func(name string) func(map[string]string) string {
		return func(map[string]string) string { return name }
	}
	chart := func(title, yLabel, note string, hline float64, parts ...part) servingPanel {
		sp := servingPanel{Title: title, Note: note}
		var ss []series
		var queries []string
		for _, pt := range parts {
			p := f.Panels[pt.query]
			queries = append(queries, p.Query)
			if p.Error != "" {
				sp.Unavailable = true
			}
			for _, s := range p.Series {
				xs, ys := make([]float64, len(s.Points)), make([]float64, len(s.Points))
				for i, v := range s.Points {
					xs[i], ys[i] = (v[0]-end)/unit, v[1]*pt.scale
				}
				ss = append(ss, series{name: pt.legend(s.Labels), color: seriesColor(len(ss)), xs: xs, ys: ys})
			}
		}
		sp.Query = strings.Join(queries, "\n")
		if !sp.Unavailable {
			sp.Empty = len(ss) == 0
			lc := lineChart{title: title, xLabel: xLabel, yLabel: yLabel, series: ss}
			if !sp.Empty {
				lc.hline, lc.hlineLabel = hline, "0.2: drifted"
			}
			sp.Chart = lc.svg()
		}
		return sp
	}
	return []servingPanel{
		chart("Requests/s per protocol", "requests/s", "", 0, part{serving.QRequests, 1, byLabel("protocol")}),
		chart("Error share per reason (%)", "% of requests", "", 0, part{serving.QErrorShare, 100, byLabel("reason")}),
		chart("Latency (ms)", "ms", "HTTP /predict and OIP infer on the replicas serving this model: the histogram has no model label", 0,
			part{serving.QLatencyP50, 1000, fixed("p50")}, part{serving.QLatencyP90, 1000, fixed("p90")}, part{serving.QLatencyP99, 1000, fixed("p99")}),
		chart("Rows/s", "rows/s", "", 0, part{serving.QRows, 1, fixed("rows/s")}),
		chart("Drift: PSI per feature", "PSI", "over each replica's drift window, the worst replica", 0.2, part{serving.QFeaturePSI, 1, byLabel("feature")}),
		chart("Shadow agreement (%)", "% same label", "", 0, part{serving.QAgreement, 100, byLabel("shadow_version")}),
		chart("Shadow mean |Δp|", "mean |Δp|", "", 0, part{serving.QAbsDiff, 1, byLabel("shadow_version")}),
	}
}

// classShares pairs each class's live share with its training share, at
// the end of the range.
func classShares(p serving.Panel) ([]classShare, bool) {
	if p.Error != "" {
		return nil, true
	}
	by := map[string]*classShare{}
	var order []string
	for _, s := range p.Series {
		cl := s.Labels["class"]
		cs, ok := by[cl]
		if !ok {
			cs = &classShare{Class: cl}
			by[cl] = cs
			order = append(order, cl)
		}
		switch s.Labels["source"] {
		case "live":
			cs.Live, cs.HasLive = s.Last, true
		case "training":
			cs.Training, cs.HasTr = s.Last, true
		}
	}
	slices.Sort(order)
	out := make([]classShare, len(order))
	for i, cl := range order {
		out[i] = *by[cl]
	}
	return out, false
}

// versionTimeline draws, per replica, which version it served when, with
// a mark at each swap.
func versionTimeline(f serving.Figures, r serving.Range) template.HTML {
	if f.Panels[serving.QVersions].Error != "" {
		return ""
	}
	const w, left, right, rowH, top = 560.0, 130.0, 14.0, 26.0, 8.0
	unit, xLabel := timeAxis(f, r)
	span := f.End.Sub(f.Start).Seconds()
	h := top + rowH*float64(max(1, len(f.Replicas))) + 36
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="versions served"><title>versions served</title>`, w, h)
	if len(f.Replicas) == 0 {
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" class="muted">no replica served this model in the range</text></svg>`, left, top+16)
		return template.HTML(b.String())
	}
	xt := linearTicks(-span/unit, 0)
	sx := func(t time.Time) float64 {
		v := math.Max(-span, math.Min(0, t.Sub(f.End).Seconds())) / unit
		return left + (v-xt.lo)/(xt.hi-xt.lo)*(w-left-right)
	}
	colors := map[string]string{}
	for i, rep := range f.Replicas {
		y := top + float64(i)*rowH
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" class="tl" text-anchor="end">%s</text>`, left-6, y+15, esc(rep.Instance))
		for _, s := range rep.Served {
			if _, ok := colors[s.Version]; !ok {
				colors[s.Version] = seriesColor(len(colors))
			}
			x0, x1 := sx(s.From), sx(s.To.Add(time.Duration(f.Step*float64(time.Second))))
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.0f" fill="%s"><title>%s: %s to %s</title></rect>`,
				x0, y+3, math.Max(1, x1-x0), rowH-8, colors[s.Version], esc(s.Version), esc(when(s.From)), esc(when(s.To)))
			if x1-x0 > textWidth(s.Version)+6 {
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="cv light">%s</text>`, x0+4, y+16, esc(s.Version))
			}
		}
		for _, t := range rep.Swaps() {
			x := sx(t)
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" class="swap" stroke="#1b1f24" stroke-width="2"><title>swap at %s</title></line>`,
				x, x, y, y+rowH-2, esc(when(t)))
		}
	}
	axisY := top + rowH*float64(len(f.Replicas)) + 4
	for i, v := range xt.values {
		x := left + (v-xt.lo)/(xt.hi-xt.lo)*(w-left-right)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="tl" text-anchor="middle">%s</text>`, x, axisY+12, esc(xt.labels[i]))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="al" text-anchor="middle">%s</text>`, left+(w-left-right)/2, axisY+28, esc(xLabel))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
