package console

import (
	"cmp"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strings"

	"github.com/modelferry/modelferry/pkg/search"
)

// validationCurve draws a search's mean score against log10 C, one line
// per class-weight candidate, with a band of ± one standard deviation and
// each fold's score as a point; the refit grid point is ringed.
func validationCurve(rec *search.Record) template.HTML {
	title := fmt.Sprintf("Validation curve: %s, %d-fold", rec.Scoring, rec.Folds)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s">`, lineW, lineH, esc(title))
	fmt.Fprintf(&b, `<title>%s</title><text x="%d" y="16" class="ct">%s</text>`, esc(title), lineLeft, esc(title))
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, r := range rec.Results {
		x := math.Log10(r.C)
		xmin, xmax = math.Min(xmin, x), math.Max(xmax, x)
		ymin, ymax = math.Min(ymin, r.MeanScore-r.StdScore), math.Max(ymax, r.MeanScore+r.StdScore)
		for _, s := range r.FoldScores {
			ymin, ymax = math.Min(ymin, s), math.Max(ymax, s)
		}
	}
	if len(rec.Results) == 0 || math.IsInf(ymin, 0) || math.IsNaN(ymin) || math.IsNaN(ymax) {
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="muted">no results</text></svg>`, lineW/2-30, lineH/2)
		return template.HTML(b.String())
	}
	if xmax == xmin {
		xmin, xmax = xmin-1, xmax+1
	}
	if ymax == ymin {
		ymin, ymax = ymin-0.5, ymax+0.5
	}
	xt, yt := linearTicks(xmin, xmax), linearTicks(ymin, ymax)
	pw, ph := float64(lineW-lineLeft-lineRight), float64(lineH-lineTop-lineBottom)
	sx := func(x float64) float64 { return lineLeft + (x-xt.lo)/(xt.hi-xt.lo)*pw }
	sy := func(y float64) float64 { return lineTop + ph - (y-yt.lo)/(yt.hi-yt.lo)*ph }
	lineAxes(&b, xt, yt, sx, sy, "log10 C", rec.Scoring)

	// Results are in grid order: C as given, then the candidates.
	candidates := 1
	for i := 1; i < len(rec.Results) && rec.Results[i].C == rec.Results[0].C; i++ {
		candidates++
	}
	for w := 0; w < candidates; w++ {
		color := seriesColor(w)
		var pts []searchPoint
		for i := w; i < len(rec.Results); i += candidates {
			pts = append(pts, searchPoint{i, rec.Results[i]})
		}
		sortByC(pts)
		var upper, lower, mean []string
		for _, p := range pts {
			x := sx(math.Log10(p.r.C))
			upper = append(upper, fmt.Sprintf("%.1f,%.1f", x, sy(p.r.MeanScore+p.r.StdScore)))
			lower = append([]string{fmt.Sprintf("%.1f,%.1f", x, sy(p.r.MeanScore-p.r.StdScore))}, lower...)
			mean = append(mean, fmt.Sprintf("%.1f,%.1f", x, sy(p.r.MeanScore)))
			for f, s := range p.r.FoldScores {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2" fill="%s" opacity="0.45"><title>C %s, fold %d: %s</title></circle>`, x, sy(s), color, num(p.r.C), f, num(s))
			}
		}
		name := classWeightName(rec.Results[w].ClassWeight)
		fmt.Fprintf(&b, `<polygon points="%s" fill="%s" opacity="0.15"><title>± std, class weight %s</title></polygon>`, strings.Join(append(upper, lower...), " "), color, esc(name))
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1.8"><title>mean score, class weight %s</title></polyline>`, strings.Join(mean, " "), color, esc(name))
	}
	if best := rec.BestIndex; best >= 0 && best < len(rec.Results) {
		r := rec.Results[best]
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="6" fill="none" stroke="currentColor" stroke-width="1.5" class="best"><title>best: C %s, mean %s</title></circle>`,
			sx(math.Log10(r.C)), sy(r.MeanScore), num(r.C), num(r.MeanScore))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

type searchPoint struct {
	i int
	r search.RecordResult
}

// sortByC orders a candidate's points by C, which a grid may not.
func sortByC(pts []searchPoint) {
	slices.SortStableFunc(pts, func(a, b searchPoint) int { return cmp.Compare(a.r.C, b.r.C) })
}

// classWeightName is a candidate as the search table shows it.
func classWeightName(w search.ClassWeightSpec) string {
	if !w.Balanced && w.ByLabel == nil {
		return "none"
	}
	b, _ := w.MarshalJSON()
	return strings.Trim(string(b), `"`)
}
