package console

import (
	"math"
	"strings"
	"testing"
)

func TestTicks(t *testing.T) {
	for _, tc := range []struct {
		name   string
		t      ticks
		labels string
	}{
		{"linear", linearTicks(1, 48), "0 10 20 30 40 50"},
		{"linear, small", linearTicks(0.91, 0.97), "0.9 0.92 0.94 0.96 0.98"},
		{"log over eight decades", logTicks(3e-9, 0.4), "1e-08 1e-07 1e-06 1e-05 0.0001 0.001 0.01 0.1"},
		{"log over sixteen decades: every other", logTicks(2e-16, 10), "1e-15 1e-13 1e-11 1e-09 1e-07 1e-05 0.001 0.1 10"},
		{"log within a decade", logTicks(28, 130), "30 50 70 100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(tc.t.labels, " "); got != tc.labels {
				t.Errorf("labels %q, want %q", got, tc.labels)
			}
			for _, v := range tc.t.values {
				if v < tc.t.lo*(1-1e-12) || v > tc.t.hi*(1+1e-12) {
					t.Errorf("tick %v outside [%v, %v]", v, tc.t.lo, tc.t.hi)
				}
			}
		})
	}
}

func TestChartsEscapeTheirText(t *testing.T) {
	svg := string(heatmap{title: `<script>alert(1)</script>`, rows: []string{`a"b`}, cols: []string{"<c>"},
		color: func(int, int) rgb { return rgb{} }, text: func(int, int) string { return "&" }, tip: func(int, int) string { return "</title>" },
	}.svg())
	for _, bad := range []string{"<script>", `a"b`, "<c>", ">&<", "</title></title>"} {
		if strings.Contains(svg, bad) {
			t.Errorf("unescaped %q in %s", bad, svg)
		}
	}
	line := string(lineChart{title: "t", logY: true, series: []series{{name: "<x>", xs: []float64{1, 2, 3}, ys: []float64{1, 0, math.NaN()}}}}.svg())
	if strings.Contains(line, "<x>") || !strings.Contains(line, "<circle") {
		t.Errorf("non-positive values on a log scale must be dropped, the name escaped: %s", line)
	}
}

func TestPalettes(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{diverging(0).hex(), "#f7f7f7"}, {diverging(-1).hex(), "#7f3b08"}, {diverging(1).hex(), "#2d004b"},
		{sequential(0).hex(), "#440154"}, {sequential(1).hex(), "#fde725"}, {sequential(2).hex(), "#fde725"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %s, want %s", tc.got, tc.want)
		}
	}
	if !sequential(0).dark() || sequential(1).dark() {
		t.Error("text colour on viridis ends")
	}
}
