package querycheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestRepositoryDashboards checks the dashboards Grafana provisions: they
// follow Grafana's dashboard schema, take the data source, the instance and
// the model from variables, and every query resolves once they are set.
func TestRepositoryDashboards(t *testing.T) {
	paths, err := filepath.Glob("../../grafana/dashboards/*.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no dashboards found (%v)", err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			d, err := LoadDashboard(path)
			if err != nil {
				t.Fatal(err)
			}
			vars := map[string]string{"__rate_interval": "1m"}
			for _, v := range d.Variables {
				vars[v.Name] = v.AllValue
			}
			for _, want := range []string{"instance", "model"} {
				if _, ok := vars[want]; !ok {
					t.Errorf("no %q variable", want)
				}
			}
			for _, q := range d.Queries {
				if _, err := substitute(q.Expr, vars); err != nil {
					t.Errorf("panel %q %s: %v", q.Panel, q.RefID, err)
				}
				if !strings.Contains(q.Expr, `instance=~"$instance"`) {
					t.Errorf("panel %q %s does not follow $instance: %s", q.Panel, q.RefID, q.Expr)
				}
			}
		})
	}
}

// TestLoadDashboardRejects breaks a valid dashboard one way at a time.
func TestLoadDashboardRejects(t *testing.T) {
	base, err := os.ReadFile("testdata/valid.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDashboard("testdata/valid.json"); err != nil {
		t.Fatalf("the valid fixture fails: %v", err)
	}
	type obj = map[string]any
	panel := func(d obj, i int) obj { return d["panels"].([]any)[i].(obj) }
	nested := func(d obj) obj { return panel(d, 1)["panels"].([]any)[0].(obj) }
	variable := func(d obj, i int) obj { return d["templating"].(obj)["list"].([]any)[i].(obj) }
	target := func(p obj) obj { return p["targets"].([]any)[0].(obj) }
	tests := []struct {
		name   string
		break_ func(d obj)
		want   string
	}{
		{"unknown dashboard field", func(d obj) { d["titel"] = "x" }, "unexpected field 'titel'"},
		{"unknown panel field", func(d obj) { panel(d, 0)["datasorce"] = obj{} }, "unexpected field 'datasorce'"},
		{"unknown query field", func(d obj) { target(panel(d, 0))["exprr"] = "up" }, "unexpected field 'exprr'"},
		{"wrong type", func(d obj) { panel(d, 0)["gridPos"].(obj)["h"] = "8" }, "gridPos"},
		{"missing required panel option", func(d obj) { delete(nested(d)["options"].(obj), "wideLayout") }, "wideLayout"},
		{"hard-coded data source uid on a panel", func(d obj) { panel(d, 0)["datasource"] = obj{"type": "prometheus", "uid": "prom-1"} }, "must use the data source variable"},
		{"hard-coded data source uid on a nested query", func(d obj) { target(nested(d))["datasource"] = obj{"type": "prometheus", "uid": "prom-1"} }, "must use the data source variable"},
		{"hard-coded data source uid on a variable", func(d obj) { variable(d, 1)["datasource"] = obj{"type": "prometheus", "uid": "prom-1"} }, "must use the data source variable"},
		{"no data source variable", func(d obj) { variable(d, 0)["query"] = "loki" }, "want one data source variable"},
		{"variable without All", func(d obj) { delete(variable(d, 1), "allValue") }, "must offer All"},
		{"variable not from label_values", func(d obj) { variable(d, 1)["query"] = obj{"query": "query_result(up)"} }, "not label_values"},
		{"variable used by no query", func(d obj) {
			target(panel(d, 0))["expr"] = "up"
			target(nested(d))["expr"] = "up"
		}, `variable "instance" is used by no panel query`},
		{"panel without queries", func(d obj) { delete(panel(d, 0), "targets") }, "has no queries"},
		{"empty expr", func(d obj) { target(panel(d, 0))["expr"] = " " }, "has no expr"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d obj
			if err := json.Unmarshal(base, &d); err != nil {
				t.Fatal(err)
			}
			tc.break_(d)
			b, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "broken.json")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = LoadDashboard(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// fakePrometheus answers the API calls querycheck makes: no rules, one
// series for every range query, and labelValues for every label.
type fakePrometheus struct {
	labelValues []string
	mu          sync.Mutex
	queries     []string
	matches     []string
}

func (f *fakePrometheus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var data any
	switch {
	case r.URL.Path == "/api/v1/rules":
		data = map[string]any{"groups": []any{}}
	case r.URL.Path == "/api/v1/query_range" && r.Method == http.MethodPost:
		f.mu.Lock()
		f.queries = append(f.queries, r.PostForm.Get("query"))
		f.mu.Unlock()
		data = map[string]any{"resultType": "matrix", "result": []any{
			map[string]any{"metric": map[string]string{}, "values": []any{[]any{1, "1"}}},
		}}
	case strings.HasPrefix(r.URL.Path, "/api/v1/label/") && r.Method == http.MethodGet:
		f.mu.Lock()
		f.matches = append(f.matches, r.URL.Query().Get("match[]"))
		f.mu.Unlock()
		data = f.labelValues
	default:
		http.NotFound(w, r)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": data})
}

func TestRunSubstitutesVariables(t *testing.T) {
	tests := []struct {
		name        string
		labelValues []string
		wantErr     bool
		wantLine    string
	}{
		{"variables with values", []string{"10.0.0.2:8000", "10.0.0.3:8000"}, false, "ok   variable $instance: 2 values: 10.0.0.2:8000, 10.0.0.3:8000"},
		{"a variable without values", []string{}, true, "FAIL variable $instance"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakePrometheus{labelValues: tc.labelValues}
			srv := httptest.NewServer(f)
			defer srv.Close()
			var out bytes.Buffer
			err := Run([]string{"-prometheus", srv.URL, "-retry", "0s", "testdata/valid.json"}, &out)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error: %v\n%s", err, tc.wantErr, out.String())
			}
			if !strings.Contains(out.String(), tc.wantLine) {
				t.Errorf("output lacks %q:\n%s", tc.wantLine, out.String())
			}
			want := []string{
				`sum(rate(predictor_http_requests_total{instance=~".*"}[1m]))`,
				`up{instance=~".*"}`,
			}
			if fmt.Sprint(f.queries) != fmt.Sprint(want) {
				t.Errorf("range queries %q, want %q", f.queries, want)
			}
			if fmt.Sprint(f.matches) != fmt.Sprint([]string{`up{job="predictor"}`}) {
				t.Errorf("label_values selectors %q", f.matches)
			}
		})
	}
}

func TestRunChecksNamedQueries(t *testing.T) {
	f := &fakePrometheus{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "queries.json")
	if err := os.WriteFile(file, []byte(`{"rows_per_second": "sum(rate(predictor_inference_rows_total{model=\"iris\"}[1m]))", "feature_psi": "max by (feature) (predictor_feature_psi)"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Run([]string{"-prometheus", srv.URL, "-retry", "0s", "-queries", file}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, line := range []string{"ok   query feature_psi: 1 series", "ok   query rows_per_second: 1 series"} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("output lacks %q:\n%s", line, out.String())
		}
	}
	want := []string{`max by (feature) (predictor_feature_psi)`, `sum(rate(predictor_inference_rows_total{model="iris"}[1m]))`}
	if fmt.Sprint(f.queries) != fmt.Sprint(want) {
		t.Errorf("range queries %q, want %q", f.queries, want)
	}
	if err := os.WriteFile(file, []byte(`["not", "an object"]`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Run([]string{"-prometheus", srv.URL, "-queries", file}, &out); err == nil || !strings.Contains(err.Error(), "JSON object of name to PromQL") {
		t.Errorf("a bad queries file: %v", err)
	}
}
