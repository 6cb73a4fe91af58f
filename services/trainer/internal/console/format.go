package console

import (
	"encoding/json"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"
)

// funcs are the templates' formatting helpers. The pages and the browser
// test agree on these formats: a number the API answers shows as
// metric(v) wherever the console prints it.
var funcs = template.FuncMap{
	"metric":  metric,
	"num":     num,
	"seconds": seconds,
	"bytes":   byteSize,
	"when":    when,
	"short":   short,
	"pct":     pct,
	"add":     func(a, b int) int { return a + b },
	"join":    strings.Join,
	"color":   seriesColor,
	"frac":    func(a, b int64) float64 { return float64(a) / float64(b) },
	"cwname":  classWeightName,
	"jsontext": func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	},
	"tagfilter": tagFilter,
	// vc pairs a model's name with one of its versions for a partial.
	"vc": func(model string, f *versionFacts) map[string]any { return map[string]any{"Model": model, "Facts": f} },
}

// metric formats a score (accuracy, log loss, F1, precision...) with four
// decimals.
func metric(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }

// num formats any other float to six significant digits: parameters,
// objectives, coefficients.
func num(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

// pct formats a fraction as a percentage.
func pct(v float64) string { return strconv.FormatFloat(100*v, 'f', 1, 64) + "%" }

func seconds(s float64) string {
	switch {
	case s <= 0:
		return "0 s"
	case s < 1e-3:
		return "<1 ms"
	case s < 1:
		return strconv.FormatFloat(s*1e3, 'f', 0, 64) + " ms"
	case s < 60:
		return strconv.FormatFloat(s, 'f', 2, 64) + " s"
	}
	return (time.Duration(s) * time.Second).Round(time.Second).String()
}

// byteSize writes a size in binary units (KiB, MiB...), as ferry and the
// console's script do.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, exp := float64(n), 0
	for v >= unit && exp < 4 {
		v /= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGT"[exp-1])
}

// when shows a time in UTC, to the second: the server does not know the
// reader's zone, and run ids are UTC too.
func when(t any) string {
	switch v := t.(type) {
	case time.Time:
		if v.IsZero() {
			return "—"
		}
		return v.UTC().Format("2006-01-02 15:04:05Z")
	case *time.Time:
		if v == nil {
			return "—"
		}
		return when(*v)
	}
	return ""
}

// short abbreviates a sha256 for tables; the full value is in its title.
func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
