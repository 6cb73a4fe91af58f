package console

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/services/trainer/internal/serving"
)

// fakeServing answers fixed figures: traffic, a drifted feature, a swap
// from v1 to v2 on one replica, and a firing drift alert.
type fakeServing struct{ asked []string }

func (f *fakeServing) Figures(_ context.Context, model string, r serving.Range) serving.Figures {
	f.asked = append(f.asked, model+"/"+r.Name)
	end := time.Date(2027, 1, 15, 9, 0, 0, 0, time.UTC)
	start := end.Add(-r.Span)
	pts := func(vs ...float64) [][2]float64 {
		out := make([][2]float64, len(vs))
		for i, v := range vs {
			out[i] = [2]float64{float64(end.Add(-time.Duration(len(vs)-1-i) * r.Step).Unix()), v}
		}
		return out
	}
	one := func(labels map[string]string, vs ...float64) serving.Series {
		return serving.Series{Labels: labels, Points: pts(vs...), Last: vs[len(vs)-1]}
	}
	panels := map[string]serving.Panel{}
	for _, q := range serving.Queries(model, r) {
		panels[q.Name] = serving.Panel{Query: q.Expr, Series: []serving.Series{}}
	}
	set := func(name string, ss ...serving.Series) {
		p := panels[name]
		p.Series = ss
		panels[name] = p
	}
	set(serving.QRequests, one(map[string]string{"protocol": "predict"}, 1, 2, 3), one(map[string]string{"protocol": "oip_grpc"}, 1, 1, 1))
	set(serving.QLatencyP99, one(map[string]string{}, 0.004, 0.005, 0.006))
	set(serving.QFeaturePSI, one(map[string]string{"feature": "petal_width"}, 0.05, 0.4, 0.6))
	set(serving.QClassShare, one(map[string]string{"class": "setosa", "source": "live"}, 0.5),
		one(map[string]string{"class": "setosa", "source": "training"}, 0.33))
	p := panels[serving.QErrorShare]
	p.Error = serving.Unavailable
	panels[serving.QErrorShare] = p
	return serving.Figures{Model: model, Range: r.Name, Start: start, End: end, Step: r.Step.Seconds(), Panels: panels,
		Replicas: []serving.Replica{{Instance: "127.0.0.1:8000", Served: []serving.Stretch{
			{Version: "v1", From: start, To: start.Add(r.Span / 2)},
			{Version: "v2", From: start.Add(r.Span/2 + r.Step), To: end}}}},
		Alerts: []serving.Alert{{Name: "FeatureDrift", Severity: "warning", Summary: "Feature petal_width of iris has drifted (PSI 0.60)",
			Description: "The live values of petal_width have differed", ActiveAt: end.Add(-time.Minute)}}}
}

func (f *fakeServing) Overview(context.Context, serving.Range) (map[string][]float64, map[string]float64, bool) {
	return map[string][]float64{"iris": {0, 1, 4, 2}}, map[string]float64{"iris": 0.6}, true
}

func TestModelsListTrafficAndDrift(t *testing.T) {
	e := newEnv(t)
	e.train(t, "")
	_, body := get(servingEngine(e, &fakeServing{}), "/ui/")
	contains(t, "models list", body, "Requests/s (1h)", `<svg class="spark"`, "up to 4", `points="0.0,19.0 33.3,14.5 66.7,1.0 100.0,10.0 "`,
		`<span class="badge s-failed"`, "PSI 0.60", `href="/ui/models/iris/serving"`)
	_, bare := e.get("/ui/")
	if strings.Contains(bare, "Requests/s (1h)") {
		t.Errorf("serving columns without Prometheus")
	}
}

// servingEngine serves e's registry with a console reading s.
func servingEngine(e *env, s Serving) *gin.Engine {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	g := httpserver.NewEngine(httpserver.Options{Logger: logger, Registry: prometheus.NewRegistry(), Namespace: "trainer"})
	New(Config{Registry: e.reg, Logger: logger, TrainerVersion: "test", Serving: s}).Register(g, nil)
	return g
}

func get(g http.Handler, target string) (int, string) {
	w := httptest.NewRecorder()
	g.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
	return w.Code, w.Body.String()
}

func TestServingPage(t *testing.T) {
	e := newEnv(t)
	e.train(t, "")
	fake := &fakeServing{}
	g := servingEngine(e, fake)
	for _, tc := range []struct {
		name, target string
		code         int
		wants        []string
		asked        string
	}{
		{"figures", "/ui/models/iris/serving?range=15m", 200, []string{
			"FeatureDrift", "Feature petal_width of iris has drifted", // the alert
			"Requests/s per protocol", "predict", "oip_grpc", "Latency (ms)", "p99",
			"0.2: drifted", "petal_width", // the PSI panel and its threshold
			`data-class="setosa"`, "50.0%", "33.0%", // class shares
			`class="swap"`, ">v1<", ">v2<", // the timeline with the swap
			"Unavailable: Prometheus did not answer", // the error share panel
			"minutes ago", `href="/models/iris/serving?range=15m"`,
			`<h3>Shadow agreement (%)</h3><p class="muted small empty-panel">`, // no series: no empty chart
		}, "iris/15m"},
		{"default range and auto-refresh", "/ui/models/iris/serving?refresh=30", 200, []string{
			`<meta http-equiv="refresh" content="30">`, "<strong>1h</strong>", "minutes ago",
		}, "iris/1h"},
		{"unknown range", "/ui/models/iris/serving?range=2h", 400, []string{"15m, 1h, 6h, 24h, 7d"}, ""},
		{"a week", "/ui/models/iris/serving?range=7d", 200, []string{"days ago", "<strong>7d</strong>"}, "iris/7d"},
		{"bad refresh", "/ui/models/iris/serving?refresh=5", 400, []string{"refresh is one of"}, ""},
		{"unknown model", "/ui/models/nope/serving", 404, []string{"was not found"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake.asked = nil
			code, body := get(g, tc.target)
			if code != tc.code {
				t.Fatalf("%d, want %d: %s", code, tc.code, body)
			}
			contains(t, tc.target, body, tc.wants...)
			if got := strings.Join(fake.asked, ","); got != tc.asked {
				t.Errorf("asked %q, want %q", got, tc.asked)
			}
			if tc.code == 200 && strings.Contains(body, "FeatureDrift") &&
				strings.Index(body, "FeatureDrift") > strings.Index(body, "Requests/s per protocol") {
				t.Errorf("the firing alert is not above the charts")
			}
		})
	}
}

func TestServingPageWithoutPrometheus(t *testing.T) {
	e := newEnv(t)
	e.train(t, "")
	code, body := e.get("/ui/models/iris/serving")
	if code != 200 {
		t.Fatalf("%d: %s", code, body)
	}
	contains(t, "serving page", body, "TRAINER_PROMETHEUS_URL", `id="serving-off"`)
	if strings.Contains(body, "<svg") {
		t.Errorf("charts drawn without Prometheus")
	}
	_, model := e.get("/ui/models/iris")
	contains(t, "model page", model, `href="/ui/models/iris/serving"`)
}

// TestServingPageSlowPrometheus: a Prometheus that does not answer makes
// every panel unavailable, and the page is still served.
func TestServingPageSlowPrometheus(t *testing.T) {
	e := newEnv(t)
	e.train(t, "")
	// The body read first: only then does the server notice the client
	// hanging up.
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(hang.Close)
	pc, err := api.NewClient(api.Config{Address: hang.URL})
	if err != nil {
		t.Fatal(err)
	}
	g := servingEngine(e, serving.New(serving.Config{API: promv1.NewAPI(pc), Timeout: 50 * time.Millisecond}))
	code, body := get(g, "/ui/models/iris/serving")
	if code != 200 {
		t.Fatalf("%d: %s", code, body)
	}
	// 7 charts, the class shares, the timeline; and the alerts.
	if n := strings.Count(body, `class="error unavailable"`); n != 9 {
		t.Errorf("%d unavailable panels, want 9", n)
	}
	contains(t, "serving page", body, "Alerts unavailable")
	if strings.Contains(body, "<polyline") {
		t.Errorf("a chart drawn from no answer")
	}
}

// BenchmarkServingPage renders the Serving page from cached figures (the
// fake answers at once, as a warm cache does).
func BenchmarkServingPage(b *testing.B) {
	e := newEnv(b)
	e.train(b, "")
	g := servingEngine(e, &fakeServing{})
	b.ResetTimer()
	for b.Loop() {
		if code, _ := get(g, "/ui/models/iris/serving?range=1h"); code != 200 {
			b.Fatal(code)
		}
	}
}
