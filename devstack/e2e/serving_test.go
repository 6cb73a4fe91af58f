package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelferry/modelferry/devstack/querycheck"
)

// servingFigures is the part of GET /models/{m}/serving the test reads.
type servingFigures struct {
	End    time.Time `json:"end"`
	Step   float64   `json:"step_seconds"`
	Panels map[string]struct {
		Query  string `json:"query"`
		Error  string `json:"error"`
		Series []struct {
			Labels map[string]string `json:"labels"`
			Points [][2]float64      `json:"points"`
		} `json:"series"`
		Seconds float64 `json:"seconds"`
	} `json:"panels"`
	Replicas []struct {
		Instance string `json:"instance"`
		Served   []struct {
			Version string `json:"version"`
		} `json:"served"`
	} `json:"replicas"`
	Alerts []struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"alerts"`
}

func getServing(t *testing.T, s *system, query string) (servingFigures, int) {
	t.Helper()
	resp, err := http.Get(s.trainer + "/models/iris/serving?" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var f servingFigures
	if resp.StatusCode == 200 {
		if err := json.NewDecoder(resp.Body).Decode(&f); err != nil {
			t.Fatal(err)
		}
	}
	return f, resp.StatusCode
}

// promAt runs an instant query at t and returns each series' value by its
// labels.
func promAt(s *system, expr string, at time.Time) (map[string]float64, error) {
	resp, err := http.Get(s.prometheus + "/api/v1/query?query=" + url.QueryEscape(expr) + "&time=" + strconv.FormatInt(at.Unix(), 10))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, s := range r.Data.Result {
		v, _ := strconv.ParseFloat(s.Value[1].(string), 64)
		out[fmt.Sprint(s.Metric)] = v
	}
	return out, nil
}

// checkServing is the Serving page's part of the monitoring scenario: after
// traffic, a shifted feature and a shadow candidate, every figure of
// GET /models/iris/serving has data, matches a direct query of Prometheus,
// and passes the dashboard's query check; the firing drift alert is
// there; with Prometheus killed the page says "unavailable" and is served.
// It returns the requests it sent that were answered.
func checkServing(t *testing.T, s *system, predictor string) (sent int64) {
	// Shifted traffic goes on, and a few failed requests give the error
	// share.
	shifted := irisBodies(t, 3)
	l := startLoadOf(t, []string{predictor}, 1, func(i int) string { return shifted[i%len(shifted)] })
	for range 5 {
		resp, err := http.Post(predictor+"/predict", "application/json", strings.NewReader(`{"sepal_length": 1}`))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	var f servingFigures
	missing := func() []string {
		var out []string
		for name, p := range f.Panels {
			if p.Error != "" || len(p.Series) == 0 {
				out = append(out, name)
			}
		}
		drift := false
		for _, a := range f.Alerts {
			drift = drift || a.Name == "FeatureDrift" && a.Labels["feature"] == "petal_width"
		}
		if !drift {
			out = append(out, "the FeatureDrift alert")
		}
		return out
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var code int
		if f, code = getServing(t, s, "range=15m"); code != 200 {
			t.Fatalf("GET /models/iris/serving: %d", code)
		}
		if len(f.Panels) > 0 && len(missing()) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("figures still without data after 60s: %v", missing())
		}
		time.Sleep(2 * time.Second)
	}
	for _, name := range sortedKeys(f.Panels) {
		t.Logf("query %s: %.1f ms", name, 1000*f.Panels[name].Seconds)
	}

	t.Run("each figure is what Prometheus answers directly", func(t *testing.T) {
		// Each series' point one step before its last: that point's
		// samples are all in.
		for name, p := range f.Panels {
			compared := 0
			for _, ser := range p.Series {
				// (A series just begun, as the error share's, has one.)
				pt := ser.Points[max(0, len(ser.Points)-2)]
				at := time.Unix(int64(pt[0]), 0)
				direct, err := promAt(s, p.Query, at)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				want, ok := direct[fmt.Sprint(ser.Labels)]
				if !ok || want != pt[1] {
					t.Errorf("%s %v at %v: figure %v, Prometheus %v (%v)", name, ser.Labels, at, pt[1], want, ok)
				}
				compared++
			}
			if compared == 0 {
				t.Errorf("%s: no point to compare", name)
			}
		}
		// The dashboard's "Inference requests by model", all instances,
		// says the same per protocol as the console.
		d, err := querycheck.LoadDashboard(filepath.Join(repoRoot, "grafana", "dashboards", "modelferry.json"))
		if err != nil {
			t.Fatal(err)
		}
		var dash string
		for _, q := range d.Queries {
			if strings.HasPrefix(q.Expr, "sum by (model, protocol) (rate(predictor_inference_requests_total") {
				dash = strings.NewReplacer("$instance", ".*", "$model", "iris", "$__rate_interval", "1m").Replace(q.Expr)
			}
		}
		if dash == "" {
			t.Fatal("the dashboard has no requests-by-protocol query")
		}
		compared := 0
		for _, ser := range f.Panels["requests_per_second"].Series {
			pt := ser.Points[max(0, len(ser.Points)-2)]
			at := time.Unix(int64(pt[0]), 0)
			direct, err := promAt(s, dash, at)
			if err != nil {
				t.Fatal(err)
			}
			labels := map[string]string{"model": "iris", "protocol": ser.Labels["protocol"]}
			if got, ok := direct[fmt.Sprint(labels)]; !ok || got != pt[1] {
				t.Errorf("requests/s %s at %v: console %v, dashboard %v (%v)", ser.Labels["protocol"], at, pt[1], got, ok)
			}
			compared++
		}
		if compared == 0 {
			t.Error("no requests/s to compare with the dashboard")
		}
		if len(f.Replicas) != 2 {
			t.Errorf("replicas %+v, want both", f.Replicas)
		}
	})

	t.Run("the console's queries pass the dashboard's query check", func(t *testing.T) {
		named := map[string]string{}
		for name, p := range f.Panels {
			named[name] = p.Query
		}
		b, _ := json.Marshal(named)
		file := filepath.Join(t.TempDir(), "console-queries.json")
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := querycheck.Run([]string{"-prometheus", s.prometheus, "-window", "15m", "-step", "15s", "-retry", "30s", "-queries", file}, &out); err != nil {
			t.Errorf("%v\n%s", err, out.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		t.Logf("querycheck of the console's queries: %s", lines[len(lines)-1])
	})

	l.finish(t, "traffic while the figures are checked")
	sent = l.ok.Load()

	t.Run("with Prometheus down the panels are unavailable and the page is served", func(t *testing.T) {
		if err := s.stack.Prometheus.Stop(10 * time.Second); err != nil {
			t.Fatal(err)
		}
		time.Sleep(11 * time.Second) // past the cache's 10 s
		resp, err := http.Get(s.trainer + "/ui/models/iris/serving?range=15m")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(body, []byte("Unavailable: Prometheus did not answer")) {
			t.Errorf("%d: %s", resp.StatusCode, body)
		}
		if r, code := getServing(t, s, "range=15m"); code != 200 || r.Panels["requests_per_second"].Error == "" {
			t.Errorf("JSON with Prometheus down: %d %+v", code, r.Panels["requests_per_second"])
		}
	})
	return sent
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range maps.Keys(m) {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
