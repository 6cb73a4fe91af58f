package console

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"

	"github.com/modelferry/modelferry/services/trainer/internal/serving"
)

// overviewWait is how long the models list waits for Prometheus: past it
// the list is served without the serving columns' figures, and the
// answer, when it comes, is cached for the next load.
const overviewWait = 300 * time.Millisecond

// addTraffic fills the models list's serving columns.
func (c *Console) addTraffic(ctx context.Context, page *modelsPage) {
	if c.cfg.Serving == nil {
		return
	}
	page.Serving = true
	r, _ := serving.ParseRange("1h")
	wctx, cancel := context.WithTimeout(ctx, overviewWait)
	defer cancel()
	requests, psi, ok := c.cfg.Serving.Overview(wctx, r)
	if !ok {
		return
	}
	for i := range page.Models {
		m := &page.Models[i]
		if vs, ok := requests[m.Name]; ok {
			m.Traffic = sparkline(vs)
		}
		if v, ok := psi[m.Name]; ok {
			m.WorstPSI, m.HasPSI = v, true
		}
	}
}

// sparkline draws values as a small line, scaled to their maximum.
func sparkline(vs []float64) template.HTML {
	const w, h = 100.0, 20.0
	hi := 0.0
	for _, v := range vs {
		if !math.IsNaN(v) {
			hi = math.Max(hi, v)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="spark" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="requests/s, last hour, up to %s">`, w, h, w, h, esc(shortNumber(hi)))
	fmt.Fprintf(&b, `<title>requests/s over the last hour: up to %s</title><polyline fill="none" stroke="#0072B2" stroke-width="1.5" points="`, esc(shortNumber(hi)))
	for i, v := range vs {
		x := 0.0
		if len(vs) > 1 {
			x = float64(i) / float64(len(vs)-1) * w
		}
		y := h - 1
		if hi > 0 && !math.IsNaN(v) {
			y = h - 1 - v/hi*(h-2)
		}
		fmt.Fprintf(&b, "%.1f,%.1f ", x, y)
	}
	b.WriteString(`"/></svg>`)
	return template.HTML(b.String())
}
