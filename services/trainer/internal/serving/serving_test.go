package serving

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
)

// fakeProm is Prometheus' HTTP API answering range queries from answer
// (by a substring of the query) and alerts from alerts.
type fakeProm struct {
	t      *testing.T
	calls  atomic.Int64
	delay  time.Duration
	answer func(query string, start, end, step float64) []map[string]any
	alerts []map[string]any
	mu     sync.Mutex
	seen   []string
}

func (f *fakeProm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/api/v1/query_range":
		if err := r.ParseForm(); err != nil {
			f.t.Error(err)
		}
		q := r.Form.Get("query")
		f.mu.Lock()
		f.seen = append(f.seen, q)
		f.mu.Unlock()
		var start, end, step float64
		fmt.Sscan(r.Form.Get("start"), &start)
		fmt.Sscan(r.Form.Get("end"), &end)
		fmt.Sscan(r.Form.Get("step"), &step)
		res := []map[string]any{}
		if f.answer != nil {
			res = f.answer(q, start, end, step)
		}
		json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": "matrix", "result": res}})
	case "/api/v1/alerts":
		json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"alerts": f.alerts}})
	default:
		http.NotFound(w, r)
	}
}

func series(labels map[string]string, start, step float64, values ...float64) map[string]any {
	vs := make([][2]any, len(values))
	for i, v := range values {
		vs[i] = [2]any{start + float64(i)*step, fmt.Sprint(v)}
	}
	return map[string]any{"metric": labels, "values": vs}
}

func newClient(t *testing.T, f *fakeProm, cfg Config) *Client {
	t.Helper()
	f.t = t
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := api.NewClient(api.Config{Address: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	cfg.API = promv1.NewAPI(c)
	return New(cfg)
}

func TestQueries(t *testing.T) {
	r, _ := ParseRange("15m")
	qs := Queries("iris", r)
	if len(qs) != len(templates) {
		t.Fatalf("%d queries, want %d", len(qs), len(templates))
	}
	names := map[string]bool{}
	for _, q := range qs {
		t.Run(q.Name, func(t *testing.T) {
			if names[q.Name] {
				t.Errorf("name %s twice", q.Name)
			}
			names[q.Name] = true
			if strings.Contains(q.Expr, "{{") {
				t.Errorf("unexpanded placeholder in %s", q.Expr)
			}
			if !strings.Contains(q.Expr, `model="iris"`) {
				t.Errorf("%s does not select the model", q.Expr)
			}
			if strings.Contains(q.Expr, "rate(") && !strings.Contains(q.Expr, "[1m]") {
				t.Errorf("%s: rate without the range's 1m window", q.Expr)
			}
			if strings.Count(q.Expr, "(") != strings.Count(q.Expr, ")") {
				t.Errorf("%s: unbalanced parentheses", q.Expr)
			}
		})
	}
}

func TestParseRange(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		span       time.Duration
		bad        bool
	}{
		{"", "1h", time.Hour, false},
		{"15m", "15m", 15 * time.Minute, false},
		{"7d", "7d", 7 * 24 * time.Hour, false},
		{"2h", "", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseRange(tc.name)
			if (err != nil) != tc.bad {
				t.Fatalf("err %v, want bad=%v", err, tc.bad)
			}
			if tc.bad {
				if !strings.Contains(err.Error(), "15m, 1h, 6h, 24h, 7d") {
					t.Errorf("error %q does not list the ranges", err)
				}
				return
			}
			if r.Name != tc.want || r.Span != tc.span || r.Span/r.Step > 400 || r.Window < 4*5*time.Second {
				t.Errorf("%+v", r)
			}
		})
	}
}

func TestFigures(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	f := &fakeProm{
		answer: func(q string, start, end, step float64) []map[string]any {
			switch {
			case strings.HasPrefix(q, "sum by (protocol)"):
				return []map[string]any{
					series(map[string]string{"protocol": "predict"}, start, step, 1, 2, 3),
					series(map[string]string{"protocol": "oip_grpc"}, start, step, 0.5, 0.5),
				}
			case strings.Contains(q, "predictor_feature_psi"):
				return []map[string]any{series(map[string]string{"feature": "petal_width"}, start, step, 0.1, 0.35)}
			case strings.Contains(q, "predictor_model_info{") && strings.HasPrefix(q, "max by (instance, version)"):
				return []map[string]any{
					series(map[string]string{"instance": "a:8000", "version": "v1"}, start, step, 1, 1, 1),
					series(map[string]string{"instance": "a:8000", "version": "v2"}, start+3*step, step, 1, 1),
				}
			case strings.Contains(q, "0.99"):
				return []map[string]any{series(map[string]string{}, start, step, 0.004, 0.005)}
			}
			return nil
		},
		alerts: []map[string]any{
			{"labels": map[string]string{"alertname": "FeatureDrift", "model": "iris", "feature": "petal_width", "severity": "warning"},
				"annotations": map[string]string{"summary": "drifted", "description": "PSI above 0.2"}, "state": "firing", "activeAt": "2027-01-15T08:00:00Z", "value": "0.35"},
			{"labels": map[string]string{"alertname": "FeatureDrift", "model": "wine"}, "annotations": map[string]string{}, "state": "firing", "activeAt": "2027-01-15T08:00:00Z", "value": "1"},
			{"labels": map[string]string{"alertname": "PredictorDown", "instance": "b:8000"}, "annotations": map[string]string{}, "state": "firing", "activeAt": "2027-01-15T07:00:00Z", "value": "1"},
			{"labels": map[string]string{"alertname": "PredictorHighLatency"}, "annotations": map[string]string{}, "state": "pending", "activeAt": "2027-01-15T07:00:00Z", "value": "1"},
		},
	}
	c := newClient(t, f, Config{Now: func() time.Time { return now }})
	r, _ := ParseRange("15m")
	fig := c.Figures(context.Background(), "iris", r)

	if fig.End != now.Truncate(r.Step) || fig.Start != fig.End.Add(-15*time.Minute) {
		t.Errorf("range %v to %v", fig.Start, fig.End)
	}
	if len(fig.Panels) != len(templates) {
		t.Errorf("%d panels, want %d", len(fig.Panels), len(templates))
	}
	req := fig.Panels[QRequests]
	if req.Error != "" || len(req.Series) != 2 || req.Series[1].Labels["protocol"] != "predict" || req.Series[1].Last != 3 || len(req.Series[1].Points) != 3 {
		t.Errorf("requests panel %+v", req)
	}
	if p := fig.Panels[QFeaturePSI]; len(p.Series) != 1 || p.Series[0].Last != 0.35 {
		t.Errorf("psi panel %+v", p)
	}
	if p := fig.Panels[QLatencyP99]; len(p.Series) != 1 || p.Series[0].Last != 0.005 {
		t.Errorf("p99 panel %+v", p)
	}
	if p := fig.Panels[QAgreement]; p.Error != "" || len(p.Series) != 0 {
		t.Errorf("empty shadow panel %+v", p)
	}
	if len(fig.Replicas) != 1 || len(fig.Replicas[0].Served) != 2 {
		t.Fatalf("replicas %+v", fig.Replicas)
	}
	swaps := fig.Replicas[0].Swaps()
	if want := fig.Start.Add(3 * r.Step); len(swaps) != 1 || !swaps[0].Equal(want) {
		t.Errorf("swaps %v, want [%v]", swaps, want)
	}
	var names []string
	for _, a := range fig.Alerts {
		names = append(names, a.Name+"/"+a.Labels["model"])
	}
	if got := strings.Join(names, " "); got != "PredictorDown/ FeatureDrift/iris" {
		t.Errorf("alerts %q, want the firing ones of iris and of no model, oldest first", got)
	}
	if fig.Alerts[1].Description != "PSI above 0.2" {
		t.Errorf("alert %+v", fig.Alerts[1])
	}
}

func TestCache(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	f := &fakeProm{}
	c := newClient(t, f, Config{Now: clock, CacheTTL: 10 * time.Second})
	ctx := context.Background()
	ask := func(q string, span time.Duration) Result {
		t.Helper()
		r, err := c.QueryRange(ctx, q, span, 15*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	steps := []struct {
		name    string
		advance time.Duration
		query   string
		span    time.Duration
		calls   int64
		cached  bool
	}{
		{"first ask calls", 0, "up", time.Hour, 1, false},
		{"same within the TTL is cached", 9 * time.Second, "up", time.Hour, 1, true},
		{"another range calls", 0, "up", 15 * time.Minute, 2, false},
		{"another query calls", 0, "up == 1", time.Hour, 3, false},
		{"past the TTL calls again", 1 * time.Second, "up", time.Hour, 4, false},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			now = now.Add(s.advance)
			r := ask(s.query, s.span)
			if got := f.calls.Load(); got != s.calls || r.Cached != s.cached {
				t.Errorf("calls %d cached %v, want %d %v", got, r.Cached, s.calls, s.cached)
			}
		})
	}
	t.Run("concurrent asks share one call", func(t *testing.T) {
		now = now.Add(time.Minute)
		before := f.calls.Load()
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() { ask("up", time.Hour) })
		}
		wg.Wait()
		if got := f.calls.Load() - before; got != 1 {
			t.Errorf("%d calls, want 1", got)
		}
	})
}

func TestSlowPrometheusIsUnavailable(t *testing.T) {
	f := &fakeProm{delay: time.Second}
	c := newClient(t, f, Config{Timeout: 50 * time.Millisecond})
	r, _ := ParseRange("1h")
	fig := c.Figures(context.Background(), "iris", r)
	for name, p := range fig.Panels {
		if p.Error != Unavailable {
			t.Errorf("panel %s: error %q, want %q", name, p.Error, Unavailable)
		}
	}
	if fig.AlertsError != Unavailable {
		t.Errorf("alerts error %q", fig.AlertsError)
	}
	// The failure is cached too: a second page costs no second wait.
	calls := f.calls.Load()
	c.Figures(context.Background(), "iris", r)
	if f.calls.Load() != calls {
		t.Errorf("a failed query was asked again within the TTL")
	}
}

// TestImpatientCallerFillsTheCache: a caller whose context ends first gets
// its error at once, and the answer still lands in the cache.
func TestImpatientCallerFillsTheCache(t *testing.T) {
	f := &fakeProm{delay: 100 * time.Millisecond}
	c := newClient(t, f, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if _, err := c.QueryRange(ctx, "up", time.Hour, time.Minute); err == nil {
		t.Fatal("no error past the caller's deadline")
	}
	r, err := c.QueryRange(context.Background(), "up", time.Hour, time.Minute)
	if err != nil || !r.Cached || f.calls.Load() != 1 {
		t.Errorf("second ask: %+v %v, %d calls; want the first call's answer", r, err, f.calls.Load())
	}
}
