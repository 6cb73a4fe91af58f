package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestSparkline(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ys    []float64
		width int
		want  string
	}{
		{"rising", []float64{0, 1, 2, 3, 4, 5, 6, 7}, 30, "▁▂▃▄▅▆▇█"},
		{"flat", []float64{3, 3, 3}, 30, "▁▁▁"},
		{"averaged down to the width", []float64{0, 0, 7, 7}, 2, "▁█"},
		{"empty", nil, 30, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sparkline(tc.ys, tc.width); got != tc.want {
				t.Errorf("sparkline(%v) = %q, want %q", tc.ys, got, tc.want)
			}
		})
	}
}

const servingJSON = `{"model": "iris", "range": "15m", "start": "2027-01-15T08:45:00Z", "end": "2027-01-15T09:00:00Z",
 "panels": {
  "requests_per_second": {"query": "q", "series": [{"labels": {"protocol": "predict"}, "points": [[1, 1], [2, 2], [3, 4]], "last": 4}]},
  "feature_psi": {"query": "q", "series": [{"labels": {"feature": "petal_width"}, "points": [[1, 0.1], [2, 0.6]], "last": 0.6}]},
  "error_share": {"query": "q", "error": "Prometheus did not answer in time or is down", "series": []},
  "shadow_agreement": {"query": "q", "series": []}
 },
 "replicas": [{"instance": "10.0.0.2:8000", "served": [{"version": "v1", "from": "2027-01-15T08:45:00Z", "to": "2027-01-15T08:50:00Z"}, {"version": "v2", "from": "2027-01-15T08:50:15Z", "to": "2027-01-15T09:00:00Z"}]}],
 "alerts": [{"name": "FeatureDrift", "severity": "warning", "summary": "Feature petal_width of iris has drifted (PSI 0.60)", "active_at": "2027-01-15T08:55:00Z"}]}`

func TestModelServing(t *testing.T) {
	var asked string
	tr := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = r.URL.String()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(servingJSON))
	}))
	defer tr.Close()
	out, errs, code := ferry(t, tr.URL, "", "", "model", "iris", "--serving", "--range", "15m")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if asked != "/models/iris/serving?range=15m" {
		t.Errorf("asked %s", asked)
	}
	for _, want := range []string{
		"FIRING FeatureDrift (warning): Feature petal_width of iris has drifted (PSI 0.60)",
		"requests/s        predict      4            ▁▃█",
		"error share       -            unavailable",
		"PSI               petal_width  0.6          ▁█",
		"shadow agreement  -            no data",
		"10.0.0.2:8000 served v1 08:45–08:50, then v2 08:50–09:00",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "FIRING") > strings.Index(out, "FIGURE") {
		t.Errorf("alerts not above the figures:\n%s", out)
	}
}
