package api

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/modelferry/modelferry/services/trainer/internal/jobs"
	"github.com/modelferry/modelferry/services/trainer/internal/serving"
)

// fakeServing answers figures naming what it was asked.
type fakeServing struct{ asked []string }

func (f *fakeServing) Figures(_ context.Context, model string, r serving.Range) serving.Figures {
	f.asked = append(f.asked, model+"/"+r.Name)
	return serving.Figures{Model: model, Range: r.Name, Panels: map[string]serving.Panel{
		serving.QRequests: {Query: "q", Series: []serving.Series{{Labels: map[string]string{"protocol": "predict"}, Points: [][2]float64{{1, 2}}, Last: 2}}},
	}}
}

func TestServingFigures(t *testing.T) {
	fake := &fakeServing{}
	e := newEnv(t, func(c *Config, _ *jobs.Config) { c.Serving = fake })
	if r := e.do("POST", "/train?wait=true", "", nil); r.code != 200 {
		t.Fatalf("train: %d %s", r.code, r.body)
	}
	bare := newEnv(t)
	for _, tc := range []struct {
		name   string
		env    *env
		target string
		code   int
		says   string
		asked  string
	}{
		{"default range is 1h", e, "/models/iris/serving", 200, `"range":"1h"`, "iris/1h"},
		{"a range", e, "/models/iris/serving?range=7d", 200, `"requests_per_second"`, "iris/7d"},
		{"unknown range", e, "/models/iris/serving?range=2h", 400, "15m, 1h, 6h, 24h, 7d", ""},
		{"unknown model", e, "/models/nope/serving", 404, "model nope not found", ""},
		{"bad model name", e, "/models/No!/serving", 400, "must match", ""},
		{"no Prometheus", bare, "/models/iris/serving", 503, "TRAINER_PROMETHEUS_URL", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake.asked = nil
			r := tc.env.do("GET", tc.target, "", nil)
			if r.code != tc.code || !strings.Contains(string(r.body), tc.says) {
				t.Fatalf("%d %s, want %d saying %q", r.code, r.body, tc.code, tc.says)
			}
			if got := strings.Join(fake.asked, ","); got != tc.asked {
				t.Errorf("asked %q, want %q", got, tc.asked)
			}
			if tc.code != 200 {
				var body struct {
					Error struct{ Code, Message string } `json:"error"`
				}
				if err := json.Unmarshal(r.body, &body); err != nil || body.Error.Code == "" {
					t.Errorf("error shape: %s", r.body)
				}
			}
		})
	}
}
