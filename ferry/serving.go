package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
)

// servingRows are the figures ferry prints, in the console's order: the
// panel, a label naming a series, the unit's scale and suffix.
var servingRows = []struct{ panel, label, name string }{
	{"requests_per_second", "protocol", "requests/s"},
	{"error_share", "reason", "error share"},
	{"latency_p50_seconds", "", "latency p50 (s)"},
	{"latency_p90_seconds", "", "latency p90 (s)"},
	{"latency_p99_seconds", "", "latency p99 (s)"},
	{"rows_per_second", "", "rows/s"},
	{"feature_psi", "feature", "PSI"},
	{"class_share", "class", "class share"},
	{"shadow_agreement", "shadow_version", "shadow agreement"},
	{"shadow_mean_abs_prob_diff", "shadow_version", "shadow mean |Δp|"},
}

// printServing prints a model's serving figures: the firing alerts, then
// one line per series with its last value and a sparkline of the range.
func (a *app) printServing(ctx context.Context, model, rng string) error {
	s, err := a.tc.Serving(ctx, model, rng)
	if err != nil {
		return err
	}
	if a.output == "json" {
		return a.printJSON(s)
	}
	fmt.Fprintf(a.stdout, "%s, %s to %s (%s)\n", s.Model, s.Start.Format("2006-01-02 15:04"), s.End.Format("15:04 MST"), s.Range)
	switch {
	case s.AlertsError != "":
		fmt.Fprintf(a.stdout, "alerts: unavailable (%s)\n", s.AlertsError)
	case len(s.Alerts) == 0:
		fmt.Fprintln(a.stdout, "alerts: none firing")
	}
	for _, al := range s.Alerts {
		fmt.Fprintf(a.stdout, "FIRING %s (%s): %s\n", al.Name, orDash(al.Severity), al.Summary)
	}
	var rows [][]string
	for _, r := range servingRows {
		p, ok := s.Panels[r.panel]
		switch {
		case !ok:
			continue
		case p.Error != "":
			rows = append(rows, []string{r.name, "-", "unavailable", ""})
			continue
		case len(p.Series) == 0:
			rows = append(rows, []string{r.name, "-", "no data", ""})
			continue
		}
		for _, ser := range p.Series {
			label := ser.Labels[r.label]
			if r.panel == "class_share" {
				label += " " + ser.Labels["source"]
			}
			ys := make([]float64, len(ser.Points))
			for i, pt := range ser.Points {
				ys[i] = pt[1]
			}
			rows = append(rows, []string{r.name, orDash(label), fmt.Sprintf("%.4g", ser.Last), sparkline(ys, 30)})
		}
	}
	if err := a.table([]string{"FIGURE", "SERIES", "LAST", "TREND"}, rows); err != nil {
		return err
	}
	for _, rep := range s.Replicas {
		var parts []string
		for _, st := range rep.Served {
			parts = append(parts, fmt.Sprintf("%s %s–%s", st.Version, st.From.Format("15:04"), st.To.Format("15:04")))
		}
		fmt.Fprintf(a.stdout, "%s served %s\n", rep.Instance, strings.Join(parts, ", then "))
	}
	return nil
}

// sparkline draws ys in at most width unicode blocks, each the mean of its
// share of the points, scaled from their minimum to their maximum.
func sparkline(ys []float64, width int) string {
	if len(ys) == 0 {
		return ""
	}
	blocks := []rune("▁▂▃▄▅▆▇█")
	n := min(width, len(ys))
	means := make([]float64, n)
	for i := range n {
		lo, hi := i*len(ys)/n, (i+1)*len(ys)/n
		sum := 0.0
		for _, y := range ys[lo:hi] {
			sum += y
		}
		means[i] = sum / float64(hi-lo)
	}
	lo, hi := slices.Min(means), slices.Max(means)
	var b strings.Builder
	for _, m := range means {
		k := 0
		if hi > lo {
			k = int(math.Round((m - lo) / (hi - lo) * float64(len(blocks)-1)))
		}
		b.WriteRune(blocks[k])
	}
	return b.String()
}
