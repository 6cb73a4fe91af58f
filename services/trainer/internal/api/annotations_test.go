package api

import (
	"strings"
	"testing"

	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

func TestRunNames(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, target, ct, body, want string
	}{
		{"query key", "/train?wait=true&name=baseline", "", "", "baseline"},
		{"JSON field", "/train?wait=true", "application/json", `{"name":"from json"}`, "from json"},
		{"the same in both", "/train?wait=true&name=twice", "application/json", `{"name":"twice"}`, "twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.do("POST", tc.target, tc.ct, strings.NewReader(tc.body))
			if run := resp.run(t); resp.code != 200 || run.Name != tc.want {
				t.Errorf("%d: name %q, want %q", resp.code, run.Name, tc.want)
			}
		})
	}
	t.Run("generated from the id", func(t *testing.T) {
		run := e.do("POST", "/train?wait=true", "", nil).run(t)
		if run.Name != registry.GeneratedName(run.ID) {
			t.Errorf("name %q, want %q", run.Name, registry.GeneratedName(run.ID))
		}
	})
	for _, tc := range []struct{ name, target, ct, body, want string }{
		{"blank", "/train?name=%20", "", "", "name must not be empty"},
		{"too long", "/train?name=" + strings.Repeat("n", 251), "", "", "at most 250"},
		{"two names", "/train?name=a", "application/json", `{"name":"b"}`, "name is given twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.do("POST", tc.target, tc.ct, strings.NewReader(tc.body))
			if resp.code != 400 || !strings.Contains(resp.apiError(t).Message, tc.want) {
				t.Errorf("%d %s, want 400 %q", resp.code, resp.body, tc.want)
			}
		})
	}
}

func TestPatchRun(t *testing.T) {
	e := newEnv(t)
	run := e.do("POST", "/train?wait=true&name=first", "", nil).run(t)
	patch := func(body string, headers ...string) response {
		return e.do("PATCH", "/runs/"+run.ID, "application/json", strings.NewReader(body), headers...)
	}
	resp := patch(`{"name":"renamed","tags":{"team":"fraud","owner":"ana"},"description":"**bold**"}`)
	got := resp.run(t)
	if resp.code != 200 || got.Name != "renamed" || got.Tags["team"] != "fraud" || got.Description != "**bold**" || got.Revision != 1 ||
		resp.header.Get("ETag") != `"1"` {
		t.Fatalf("%d %s", resp.code, resp.body)
	}
	resp = patch(`{"tags":{"owner":null}}`, "If-Match", `"1"`)
	if got := resp.run(t); resp.code != 200 || len(got.Tags) != 1 || got.Name != "renamed" || got.Revision != 2 {
		t.Fatalf("%d %s", resp.code, resp.body)
	}
	if got := e.do("GET", "/runs/"+run.ID, "", nil).run(t); got.Tags["team"] != "fraud" || got.Tags["owner"] != "" || got.Revision != 2 {
		t.Errorf("GET after PATCH: %+v", got)
	}
	if resp := e.do("GET", "/runs?filter="+strings.ReplaceAll("tags.team = 'fraud' and attributes.run_name = 'renamed'", " ", "+"), "", nil); !strings.Contains(string(resp.body), run.ID) {
		t.Errorf("the search misses the edited run: %s", resp.body)
	}
	for _, tc := range []struct {
		name, target, ct, body string
		headers                []string
		status                 int
		want                   string
	}{
		{"stale revision", "/runs/" + run.ID, "application/json", `{"name":"x"}`, []string{"If-Match", `"1"`}, 409, "was changed since you read it: reload it"},
		{"bad If-Match", "/runs/" + run.ID, "application/json", `{"name":"x"}`, []string{"If-Match", "abc"}, 400, "must be the run's revision"},
		{"nothing to change", "/runs/" + run.ID, "application/json", `{}`, nil, 400, "nothing to change"},
		{"unknown field", "/runs/" + run.ID, "application/json", `{"title":"x"}`, nil, 400, "title"},
		{"long tag value", "/runs/" + run.ID, "application/json", `{"tags":{"k":"` + strings.Repeat("v", 5001) + `"}}`, nil, 400, "at most 5000"},
		{"not JSON", "/runs/" + run.ID, "text/plain", `name=x`, nil, 415, "send application/json"},
		{"unknown run", "/runs/20200101T000000Z-00000000", "application/json", `{"name":"x"}`, nil, 404, "not found"},
		{"malformed id", "/runs/nope", "application/json", `{"name":"x"}`, nil, 404, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.do("PATCH", tc.target, tc.ct, strings.NewReader(tc.body), tc.headers...)
			if resp.code != tc.status || !strings.Contains(resp.apiError(t).Message, tc.want) {
				t.Errorf("%d %s, want %d %q", resp.code, resp.body, tc.status, tc.want)
			}
		})
	}
	t.Run("a running run waits for its end", func(t *testing.T) {
		release := e.block("/model.pb")
		defer release()
		busy := e.do("POST", "/train", "", nil).run(t)
		resp := e.do("PATCH", "/runs/"+busy.ID, "application/json", strings.NewReader(`{"name":"x"}`))
		if resp.code != 409 || !strings.Contains(resp.apiError(t).Message, "still queued or running") {
			t.Errorf("%d %s", resp.code, resp.body)
		}
	})
}
