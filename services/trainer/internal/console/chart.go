package console

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// Charts are SVG written here, inline in the pages: no script draws them,
// so they show with JavaScript off and cost no request. Every text is
// escaped; sizes are in viewBox units and the SVG scales to its column.

// series is one line of a line chart.
type series struct {
	name   string
	color  string
	xs, ys []float64
}

// lineChart describes a line chart.
type lineChart struct {
	title, xLabel, yLabel string
	logY                  bool
	series                []series
	// hline, when set, draws a dashed reference line at that y (e.g. the
	// tolerance a gradient norm must reach).
	hline      float64
	hlineLabel string
}

const (
	lineW, lineH                             = 560, 260
	lineLeft, lineRight, lineTop, lineBottom = 64, 14, 28, 42
)

// lineAxes draws a line chart's grid, tick labels, frame and axis labels.
func lineAxes(b *strings.Builder, xt, yt ticks, sx, sy func(float64) float64, xLabel, yLabel string) {
	pw, ph := float64(lineW-lineLeft-lineRight), float64(lineH-lineTop-lineBottom)
	for i, v := range yt.values {
		y := sy(v)
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/>`, lineLeft, lineW-lineRight, y, y)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" class="tl" text-anchor="end">%s</text>`, lineLeft-5, y+3.5, esc(yt.labels[i]))
	}
	for i, v := range xt.values {
		x := sx(v)
		fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%.1f" class="grid"/>`, x, x, lineTop, lineTop+ph)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" class="tl" text-anchor="middle">%s</text>`, x, lineTop+ph+14, esc(xt.labels[i]))
	}
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%.0f" height="%.0f" class="frame"/>`, lineLeft, lineTop, pw, ph)
	fmt.Fprintf(b, `<text x="%.1f" y="%d" class="al" text-anchor="middle">%s</text>`, lineLeft+pw/2, lineH-6, esc(xLabel))
	fmt.Fprintf(b, `<text transform="translate(13 %.1f) rotate(-90)" class="al" text-anchor="middle">%s</text>`, lineTop+ph/2, esc(yLabel))
}

// svg renders the chart.
func (lc lineChart) svg() template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s">`, lineW, lineH, esc(lc.title))
	fmt.Fprintf(&b, `<title>%s</title>`, esc(lc.title))
	fmt.Fprintf(&b, `<text x="%d" y="16" class="ct">%s</text>`, lineLeft, esc(lc.title))

	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range lc.series {
		for i, x := range s.xs {
			y := s.ys[i]
			if lc.logY && !(y > 0) || math.IsNaN(y) || math.IsInf(y, 0) {
				continue
			}
			xmin, xmax = math.Min(xmin, x), math.Max(xmax, x)
			ymin, ymax = math.Min(ymin, y), math.Max(ymax, y)
		}
	}
	if lc.hline > 0 {
		ymin, ymax = math.Min(ymin, lc.hline), math.Max(ymax, lc.hline)
	}
	pw, ph := float64(lineW-lineLeft-lineRight), float64(lineH-lineTop-lineBottom)
	if math.IsInf(xmin, 0) {
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="muted">no data yet</text></svg>`, lineW/2-30, lineH/2)
		return template.HTML(b.String())
	}
	if xmax == xmin {
		xmax = xmin + 1
	}
	var yt ticks
	if lc.logY {
		yt = logTicks(ymin, ymax)
	} else {
		yt = linearTicks(ymin, ymax)
	}
	xt := linearTicks(xmin, xmax)
	sx := func(x float64) float64 { return lineLeft + (x-xt.lo)/(xt.hi-xt.lo)*pw }
	sy := func(y float64) float64 {
		if lc.logY {
			return lineTop + ph - (math.Log10(y)-math.Log10(yt.lo))/(math.Log10(yt.hi)-math.Log10(yt.lo))*ph
		}
		return lineTop + ph - (y-yt.lo)/(yt.hi-yt.lo)*ph
	}
	lineAxes(&b, xt, yt, sx, sy, lc.xLabel, lc.yLabel)
	if lc.hline > 0 {
		y := sy(lc.hline)
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="ref"/>`, lineLeft, lineW-lineRight, y, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" class="tl" text-anchor="end">%s</text>`, lineW-lineRight-4, y-4, esc(lc.hlineLabel))
	}
	for _, s := range lc.series {
		var pts []byte
		n := 0
		// At most about one point per pixel: longer histories look the
		// same and weigh more.
		stride := max(1, len(s.xs)/600)
		for i, x := range s.xs {
			y := s.ys[i]
			if lc.logY && !(y > 0) || math.IsNaN(y) || math.IsInf(y, 0) || (i%stride != 0 && i != len(s.xs)-1) {
				continue
			}
			if n > 0 {
				pts = append(pts, ' ')
			}
			pts = strconv.AppendFloat(pts, math.Round(sx(x)*10)/10, 'f', -1, 64)
			pts = append(pts, ',')
			pts = strconv.AppendFloat(pts, math.Round(sy(y)*10)/10, 'f', -1, 64)
			n++
		}
		if n == 1 {
			xy := strings.Split(string(pts), ",")
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3" fill="%s"><title>%s</title></circle>`, xy[0], xy[1], s.color, esc(s.name))
			continue
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1.8"><title>%s</title></polyline>`, pts, s.color, esc(s.name))
	}
	if len(lc.series) > 1 {
		wide := 0.0
		for _, s := range lc.series {
			wide = math.Max(wide, textWidth(s.name))
		}
		x := float64(lineW-lineRight) - wide - 30
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" class="key"/>`, x-4, lineTop+3, wide+32, 15*len(lc.series)+4)
		for i, s := range lc.series {
			y := lineTop + 15 + i*15
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="%s" stroke-width="3"/>`, x, x+18, y-4, y-4, s.color)
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="tl">%s</text>`, x+23, y, esc(s.name))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// ticks are an axis's range and labelled values.
type ticks struct {
	lo, hi float64
	values []float64
	labels []string
}

// linearTicks spans [lo, hi] with about five round steps.
func linearTicks(lo, hi float64) ticks {
	if hi == lo {
		lo, hi = lo-1, hi+1
	}
	raw := (hi - lo) / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	t := ticks{lo: math.Floor(lo/step) * step, hi: math.Ceil(hi/step) * step}
	for v := t.lo; v <= t.hi+step/2; v += step {
		t.values = append(t.values, v)
		t.labels = append(t.labels, shortNumber(v))
	}
	return t
}

// logTicks spans [lo, hi] (positive), padded a little, with ticks at 1,
// 2 and 5 times the powers of ten inside it when it covers up to three
// decades, at the powers of ten up to ten, and at every other one past
// that.
func logTicks(lo, hi float64) ticks {
	a, z := math.Log10(lo), math.Log10(hi)
	pad := math.Max(0.04*(z-a), 0.05)
	a, z = a-pad, z+pad
	t := ticks{lo: math.Pow(10, a), hi: math.Pow(10, z)}
	mantissas := []float64{1}
	switch span := z - a; {
	case span <= 1:
		mantissas = []float64{1, 1.5, 2, 3, 5, 7}
	case span <= 3:
		mantissas = []float64{1, 2, 5}
	}
	step := 1.0
	if z-a > 10 {
		step = 2
	}
	for e := math.Floor(a); e <= math.Ceil(z); e += step {
		for _, m := range mantissas {
			if v := m * math.Pow(10, e); v >= t.lo && v <= t.hi {
				t.values = append(t.values, v)
				t.labels = append(t.labels, shortNumber(v))
			}
		}
	}
	return t
}

// shortNumber formats an axis label: plain for moderate magnitudes,
// exponent form otherwise.
func shortNumber(v float64) string {
	av := math.Abs(v)
	if v == 0 || (av >= 1e-3 && av < 1e5) {
		return strconv.FormatFloat(v, 'g', 10, 64) // rounds away float noise
	}
	return strconv.FormatFloat(v, 'g', 2, 64)
}

// heatmap describes a matrix chart.
type heatmap struct {
	title, rowLabel, colLabel string
	rows, cols                []string
	// color maps a cell to its fill; text is what the cell says (empty
	// for none) and tip its tooltip.
	color func(i, j int) rgb
	text  func(i, j int) string
	tip   func(i, j int) string
	// legend, when set, is drawn under the matrix.
	legend legend
}

// legend is a colour ramp with its ends' labels.
type legend struct {
	ramp        func(t float64) rgb
	lo, mid, hi string
	caption     string
}

func (h heatmap) svg() template.HTML {
	labelW := 12.0
	for _, r := range h.rows {
		labelW = math.Max(labelW, textWidth(r))
	}
	colW := 0.0
	for _, c := range h.cols {
		colW = math.Max(colW, textWidth(c))
	}
	cell := math.Max(16, math.Min(56, 480/float64(max(len(h.cols), 1))))
	rotate := colW > cell-4
	top := 28.0
	left := labelW + 30
	gridW, gridH := cell*float64(len(h.cols)), cell*float64(len(h.rows))
	below := 34.0
	if rotate {
		below = colW*0.72 + 26
	}
	legendH := 0.0
	if h.legend.ramp != nil {
		legendH = 56
	}
	w := math.Max(left+gridW+12, textWidth(h.title)*1.15+8)
	if h.legend.ramp != nil {
		w = math.Max(w, left+210)
	}
	ht := top + gridH + below + legendH
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart heat" viewBox="0 0 %.0f %.0f" style="max-width:%.0fpx" role="img" aria-label="%s">`, w, ht, w*1.25, esc(h.title))
	fmt.Fprintf(&b, `<title>%s</title><text x="2" y="16" class="ct">%s</text>`, esc(h.title), esc(h.title))
	fontSize := math.Min(12, cell/3.2)
	for i, r := range h.rows {
		y := top + cell*float64(i)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" class="tl" text-anchor="end">%s</text>`, left-5, y+cell/2+4, esc(r))
		for j := range h.cols {
			x := left + cell*float64(j)
			c := h.color(i, j)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s</title></rect>`,
				x, y, cell-1, cell-1, c.hex(), esc(h.tip(i, j)))
			if t := h.text(i, j); t != "" {
				cls := "cv"
				if c.dark() {
					cls = "cv light"
				}
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="%s" style="font-size:%.1fpx" text-anchor="middle">%s</text>`,
					x+cell/2, y+cell/2+fontSize/3, cls, fontSize, esc(t))
			}
		}
	}
	for j, c := range h.cols {
		x := left + cell*float64(j) + cell/2
		y := top + gridH + 12
		if rotate {
			fmt.Fprintf(&b, `<text transform="translate(%.1f %.1f) rotate(-45)" class="tl" text-anchor="end">%s</text>`, x+3, y-2, esc(c))
		} else {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="tl" text-anchor="middle">%s</text>`, x, y, esc(c))
		}
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="al" text-anchor="middle">%s</text>`, left+gridW/2, top+gridH+below-6, esc(h.colLabel))
	fmt.Fprintf(&b, `<text transform="translate(12 %.1f) rotate(-90)" class="al" text-anchor="middle">%s</text>`, top+gridH/2, esc(h.rowLabel))
	if lg := h.legend; lg.ramp != nil {
		y := top + gridH + below + 6
		const steps, lw = 40, 200.0
		for k := range steps {
			t := float64(k) / (steps - 1)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.2f" height="10" fill="%s"/>`, left+lw*float64(k)/steps, y, lw/steps+0.5, lg.ramp(t).hex())
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="tl">%s</text>`, left, y+23, esc(lg.lo))
		if lg.mid != "" {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="tl" text-anchor="middle">%s</text>`, left+lw/2, y+23, esc(lg.mid))
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="tl" text-anchor="end">%s</text>`, left+lw, y+23, esc(lg.hi))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="al">%s</text>`, left, y+38, esc(lg.caption))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// textWidth estimates the width of a label at the charts' font size.
func textWidth(s string) float64 { return 6.6 * float64(len([]rune(s))) }

// segment is one part of a stacked bar.
type segment struct {
	name    string
	seconds float64
}

// timingsBar draws where a run's time went as one bar.
func timingsBar(segs []segment) template.HTML {
	const w, barY, barH = 560.0, 8.0, 22.0
	total := 0.0
	for _, s := range segs {
		total += s.seconds
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart bar" viewBox="0 0 %.0f 64" role="img" aria-label="time per stage"><title>time per stage</title>`, w)
	if total <= 0 {
		b.WriteString(`<text x="0" y="24" class="muted">no timings</text></svg>`)
		return template.HTML(b.String())
	}
	x := 0.0
	lx := 0.0
	for i, s := range segs {
		sw := s.seconds / total * w
		color := seriesColor(i)
		fmt.Fprintf(&b, `<rect x="%.2f" y="%.0f" width="%.2f" height="%.0f" fill="%s"><title>%s: %s</title></rect>`,
			x, barY, sw, barH, color, esc(s.name), esc(seconds(s.seconds)))
		x += sw
		label := fmt.Sprintf("%s %s (%.0f%%)", s.name, seconds(s.seconds), 100*s.seconds/total)
		fmt.Fprintf(&b, `<rect x="%.1f" y="44" width="10" height="10" fill="%s"/><text x="%.1f" y="53" class="tl">%s</text>`, lx, color, lx+14, esc(label))
		lx += 14 + textWidth(label)*0.92 + 14
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func esc(s string) string { return html.EscapeString(s) }
