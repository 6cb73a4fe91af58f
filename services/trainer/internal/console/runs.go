package console

import (
	"cmp"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/pkg/modelstore/names"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
	"github.com/modelferry/modelferry/services/trainer/internal/runfilter"
)

// runsPerPage is the length of a page of the runs table.
const runsPerPage = 50

// sortKey is a way to order the runs table.
type sortKey struct {
	Key, Label string
	// less orders two runs best (or newest) first; runs without the value
	// go last whatever the order.
	value func(r *registry.Run) (float64, bool)
	// higherFirst puts high values first.
	higherFirst bool
}

var sortKeys = []sortKey{
	{Key: "created", Label: "newest", higherFirst: true,
		value: func(r *registry.Run) (float64, bool) { return float64(r.CreatedAt.UnixNano()), true }},
	{Key: "accuracy", Label: "accuracy", higherFirst: true, value: func(r *registry.Run) (float64, bool) {
		if r.Metrics == nil {
			return 0, false
		}
		return r.Metrics.Accuracy, true
	}},
	{Key: "macro_f1", Label: "macro F1", higherFirst: true, value: func(r *registry.Run) (float64, bool) {
		if r.Metrics == nil {
			return 0, false
		}
		return r.Metrics.MacroF1, true
	}},
	{Key: "log_loss", Label: "log loss", value: func(r *registry.Run) (float64, bool) {
		if r.Metrics == nil {
			return 0, false
		}
		return r.Metrics.LogLoss, true
	}},
	{Key: "duration", Label: "duration", higherFirst: true, value: func(r *registry.Run) (float64, bool) {
		return r.DurationSeconds, r.FinishedAt != nil
	}},
}

type runsPage struct {
	layout
	Models   []string
	Statuses []registry.Status
	Sorts    []sortKey
	// The filter as asked.
	Model, Status, Sort string
	// Filter and OrderBy are a search in MLflow's syntax; FilterError
	// says what is wrong with it, shown beside the box.
	Filter, OrderBy, FilterError string
	Runs                         []*registry.Run
	Total                        int
	Page, Pages                  int
	Prev, Next                   string
	// CSV exports the runs shown, searched and ordered alike.
	CSV string
}

func (c *Console) runsPage(ctx *gin.Context) {
	page := runsPage{layout: c.layout("Runs", "runs"), Statuses: registry.Statuses, Sorts: sortKeys,
		Model: ctx.Query("model"), Status: ctx.Query("status"), Sort: ctx.DefaultQuery("sort", "created"),
		Filter: ctx.Query("filter"), OrderBy: ctx.Query("order_by")}
	if page.Model != "" && !modelstore.ValidName(page.Model) {
		c.badRequest(ctx, "A model name "+names.Rule+".")
		return
	}
	if page.Status != "" && !registry.Status(page.Status).Valid() {
		c.badRequest(ctx, "Status must be one of queued, running, succeeded, failed, cancelled.")
		return
	}
	i := slices.IndexFunc(sortKeys, func(k sortKey) bool { return k.Key == page.Sort })
	if i < 0 {
		c.badRequest(ctx, "Runs sort by created, accuracy, macro_f1, log_loss or duration.")
		return
	}
	key := sortKeys[i]
	n, err := strconv.Atoi(ctx.DefaultQuery("page", "1"))
	if err != nil || n < 1 {
		c.badRequest(ctx, "page must be a positive integer.")
		return
	}
	ix, err := c.runIndex(ctx)
	if err != nil {
		c.fail(ctx, "the runs", err)
		return
	}
	for m := range ix.byModel {
		page.Models = append(page.Models, m)
	}
	slices.Sort(page.Models)
	search, ok := c.search(&page)
	if !ok {
		c.render(ctx, http.StatusBadRequest, "runs", page)
		return
	}
	var runs []*registry.Run
	for i := range ix.all {
		r := &ix.all[i]
		if (page.Model == "" || r.Model == page.Model) && (page.Status == "" || string(r.Status) == page.Status) && search.Match(r) {
			runs = append(runs, r)
		}
	}
	// Newest first is the listing's own order; a stable sort keeps it
	// among equal values. An order_by wins over the sort menu.
	if len(search.OrderBy) > 0 {
		search.Sort(runs)
	} else if key.Key != "created" {
		slices.SortStableFunc(runs, func(a, b *registry.Run) int {
			va, oka := key.value(a)
			vb, okb := key.value(b)
			switch {
			case oka != okb:
				if oka {
					return -1
				}
				return 1
			case key.higherFirst:
				return cmp.Compare(vb, va)
			}
			return cmp.Compare(va, vb)
		})
	}
	page.Total = len(runs)
	page.Pages = max(1, (len(runs)+runsPerPage-1)/runsPerPage)
	page.Page = min(n, page.Pages)
	start := (page.Page - 1) * runsPerPage
	page.Runs = runs[start:min(start+runsPerPage, len(runs))]
	link := func(p int) string {
		q := url.Values{}
		for k, v := range map[string]string{"model": page.Model, "status": page.Status, "filter": page.Filter, "order_by": page.OrderBy} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if page.Sort != "created" {
			q.Set("sort", page.Sort)
		}
		q.Set("page", strconv.Itoa(p))
		return "/ui/runs?" + q.Encode()
	}
	page.CSV = csvLink(page)
	if page.Page > 1 {
		page.Prev = link(page.Page - 1)
	}
	if page.Page < page.Pages {
		page.Next = link(page.Page + 1)
	}
	c.render(ctx, 200, "runs", page)
}

type runPage struct {
	layout
	Run      registry.Run
	Live     bool
	Loss     template.HTML
	GradNorm template.HTML
	// Timings is empty for a run that ended before any stage was timed.
	Timings   template.HTML
	Confusion template.HTML
	// Search is a search run's validation curve.
	Search template.HTML
}

func (c *Console) runPage(ctx *gin.Context) {
	id := ctx.Param("id")
	if !modelstore.ValidVersion(id) {
		c.badRequest(ctx, "Run ids look like 20261126T221500Z-1a2b3c4d.")
		return
	}
	run, err := c.cfg.Registry.Run(ctx, id)
	if err != nil {
		c.fail(ctx, "Run "+id, err)
		return
	}
	page := runPage{layout: c.layout("Run "+id, "runs"), Run: run, Live: !run.Status.Terminal()}
	page.Loss, page.GradNorm = historyCharts([]*registry.Run{&run}, false)
	if t := run.Timings; t != (registry.Timings{}) {
		page.Timings = timingsBar([]segment{{"load", t.LoadSeconds}, {"fit", t.FitSeconds}, {"evaluate", t.EvaluateSeconds}, {"publish", t.PublishSeconds}})
	}
	if run.Metrics != nil {
		page.Confusion = confusionMap("Confusion matrix", run.Metrics, run.Dataset.Classes)
	}
	if run.Search != nil {
		page.Search = validationCurve(run.Search)
	}
	c.render(ctx, 200, "run", page)
}

// historyCharts draws the objective and the gradient norm per iteration,
// one line per run, on log scales.
func historyCharts(runs []*registry.Run, named bool) (loss, grad template.HTML) {
	var ls, gs []series
	tol := 0.0
	for i, r := range runs {
		name := "objective"
		if named {
			name = r.ID[9:] // the time and the random part: the date rarely differs
		}
		l := series{name: name, color: seriesColor(i)}
		g := series{name: name, color: seriesColor(i)}
		if !named {
			g.color = seriesColor(1)
		}
		for _, p := range r.History {
			l.xs, l.ys = append(l.xs, float64(p.Iteration)), append(l.ys, p.Loss)
			g.xs, g.ys = append(g.xs, float64(p.Iteration)), append(g.ys, p.GradNorm)
		}
		ls, gs = append(ls, l), append(gs, g)
		if i == 0 || r.Params.Tol == tol {
			tol = r.Params.Tol
		} else {
			tol = 0 // runs with different tolerances: no one line
		}
	}
	loss = lineChart{title: "Objective per iteration (log scale)", xLabel: "iteration", yLabel: "objective (sum form)", logY: true, series: ls}.svg()
	grad = lineChart{title: "Gradient norm per iteration (log scale)", xLabel: "iteration", yLabel: "‖gradient‖∞ (mean form)", logY: true,
		series: gs, hline: tol, hlineLabel: "tol " + num(tol)}.svg()
	return loss, grad
}

// maxCompared bounds the runs of a comparison.
const maxCompared = 5

type comparePage struct {
	layout
	Runs      []*registry.Run
	Params    []compareRow
	Metrics   []compareRow
	Loss      template.HTML
	GradNorm  template.HTML
	Confusion []template.HTML
	// TestSetsDiffer says that some runs were scored on different test
	// sets: their scores are compared only within each set.
	TestSetsDiffer bool
}

// compareRow is one parameter or metric across the compared runs.
type compareRow struct {
	Name   string
	Values []string
	// Differs marks a parameter whose values are not all equal; Best
	// marks, per run, the best score among the runs scored on the same
	// test set (a metric row has one per run; a parameter row none).
	Differs bool
	Best    []bool
}

// testSet names the rows a run was scored on: the same data, label, test
// fraction and seed make the same stratified split.
func testSet(r *registry.Run) string {
	return fmt.Sprintf("%s|%s|%g|%d", r.Dataset.SHA256, r.Label, r.Params.TestFraction, r.Params.Seed)
}

func (c *Console) comparePage(ctx *gin.Context) {
	// The columns keep the order the runs were picked in; a repeated id
	// counts once.
	var ids []string
	for _, id := range ctx.QueryArray("run") {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) < 2 || len(ids) > maxCompared {
		c.badRequest(ctx, "Compare 2 to 5 runs: tick them on the Runs page, or /ui/compare?run=<id>&run=<id>.")
		return
	}
	page := comparePage{layout: c.layout("Compare runs", "runs")}
	for _, id := range ids {
		if !modelstore.ValidVersion(id) {
			c.badRequest(ctx, "Run ids look like 20261126T221500Z-1a2b3c4d.")
			return
		}
		r, err := c.cfg.Registry.Run(ctx, id)
		if err != nil {
			c.fail(ctx, "Run "+id, err)
			return
		}
		page.Runs = append(page.Runs, &r)
	}
	runs := page.Runs
	param := func(name string, f func(r *registry.Run) string) {
		row := compareRow{Name: name}
		for _, r := range runs {
			row.Values = append(row.Values, f(r))
		}
		for _, v := range row.Values[1:] {
			row.Differs = row.Differs || v != row.Values[0]
		}
		page.Params = append(page.Params, row)
	}
	param("model", func(r *registry.Run) string { return r.Model })
	param("C", func(r *registry.Run) string { return num(r.Params.C) })
	param("max_iter", func(r *registry.Run) string { return strconv.Itoa(r.Params.MaxIter) })
	param("tol", func(r *registry.Run) string { return num(r.Params.Tol) })
	param("test_fraction", func(r *registry.Run) string { return num(r.Params.TestFraction) })
	param("seed", func(r *registry.Run) string { return strconv.FormatUint(r.Params.Seed, 10) })
	param("standardize", func(r *registry.Run) string { return strconv.FormatBool(r.Params.Standardize) })
	param("label", func(r *registry.Run) string { return r.Label })
	param("dataset", func(r *registry.Run) string { return short(r.Dataset.SHA256) })
	param("rows", func(r *registry.Run) string { return strconv.Itoa(r.Dataset.Rows) })

	// Only scores are marked best, and only between runs scored on the
	// same test set; scores measured on training data (test_fraction 0)
	// are shown but never marked: they flatter. Durations and iteration
	// counts are no quality: never marked.
	sets := map[string]int{}
	for _, r := range runs {
		if r.Metrics != nil && r.MetricsOn != "train" {
			sets[testSet(r)]++
		}
	}
	page.TestSetsDiffer = len(sets) > 1
	metricRow := func(name string, higher, scores bool, f func(r *registry.Run) (float64, bool), format func(float64) string) {
		row := compareRow{Name: name, Best: make([]bool, len(runs))}
		best := map[string]int{} // test set -> index of its best run
		for i, r := range runs {
			v, ok := f(r)
			if !ok {
				row.Values = append(row.Values, "—")
				continue
			}
			if scores && r.MetricsOn == "train" {
				row.Values = append(row.Values, format(v)+" (train)")
				continue
			}
			row.Values = append(row.Values, format(v))
			if !scores || sets[testSet(r)] < 2 {
				continue
			}
			set := testSet(r)
			j, seen := best[set]
			if w, _ := f(runs[j]); !seen || (higher && v > w) || (!higher && v < w) {
				best[set] = i
			}
		}
		for _, i := range best {
			row.Best[i] = true
		}
		page.Metrics = append(page.Metrics, row)
	}
	for _, k := range sortKeys[1:4] {
		metricRow(k.Label, k.higherFirst, true, k.value, metric)
	}
	metricRow("duration", false, false, sortKeys[4].value, seconds)
	metricRow("iterations", false, false, func(r *registry.Run) (float64, bool) { return float64(r.Iterations), r.Iterations > 0 },
		func(v float64) string { return strconv.Itoa(int(v)) })
	page.Loss, page.GradNorm = historyCharts(runs, true)
	for _, r := range runs {
		if r.Metrics != nil {
			page.Confusion = append(page.Confusion, confusionMap(r.ID, r.Metrics, r.Dataset.Classes))
		} else {
			page.Confusion = append(page.Confusion, "")
		}
	}
	c.render(ctx, 200, "compare", page)
}

// search parses the page's filter and order; what is wrong with them
// goes to page.FilterError, for the page to show beside the box.
func (c *Console) search(page *runsPage) (registry.Search, bool) {
	var order []string
	if page.OrderBy != "" {
		order = []string{page.OrderBy}
	}
	s, err := registry.ParseSearch(page.Filter, order)
	if err != nil {
		page.FilterError = err.Error()
		return registry.Search{}, false
	}
	return s, true
}

// tagFilter is the search for runs with tag k set to v.
func tagFilter(k, v string) string {
	return runfilter.Filter{Conds: []runfilter.Cond{{Field: runfilter.Field{Entity: runfilter.Tag, Key: k}, Op: runfilter.Eq,
		Values: []runfilter.Literal{{Str: v}}}}}.String()
}

// csvLink is GET /runs.csv for the runs a page shows: its model, status,
// filter and order (the sort menu's own keys are the console's, so only
// an order_by carries over).
func csvLink(page runsPage) string {
	q := url.Values{}
	for k, v := range map[string]string{"model": page.Model, "status": page.Status, "filter": page.Filter, "order_by": page.OrderBy} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if len(q) == 0 {
		return "/runs.csv"
	}
	return "/runs.csv?" + q.Encode()
}
