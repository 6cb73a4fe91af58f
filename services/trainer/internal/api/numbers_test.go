package api

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

// Each version has a sequential number, shown beside its id and accepted
// wherever a version id is: GET a version, PUT an alias, the artifact.
func TestVersionNumbers(t *testing.T) {
	e := newEnv(t)
	var runs []registry.Run
	for range 3 {
		resp := e.do("POST", "/train?wait=true", "", nil)
		if resp.code != 200 {
			t.Fatalf("%d %s", resp.code, resp.body)
		}
		runs = append(runs, resp.run(t))
	}
	for i, r := range runs {
		if r.VersionNumber != i+1 {
			t.Errorf("run %d: version_number %d, want %d", i, r.VersionNumber, i+1)
		}
	}
	var v registry.VersionView
	resp := e.do("GET", "/models/iris/versions/2", "", nil)
	if err := json.Unmarshal(resp.body, &v); err != nil || resp.code != 200 || v.Version != runs[1].Version || v.Number != 2 || v.Record.Number != 2 {
		t.Fatalf("GET version 2: %d %s", resp.code, resp.body)
	}
	resp = e.do("GET", "/models/iris/versions/"+runs[0].Version, "", nil)
	if err := json.Unmarshal(resp.body, &v); err != nil || v.Number != 1 {
		t.Errorf("GET by id: %s", resp.body)
	}
	if resp := e.do("GET", "/models/iris/versions/1/artifact", "", nil); resp.code != 200 {
		t.Errorf("artifact of version 1: %d", resp.code)
	}
	resp = e.do("PUT", "/models/iris/aliases/production", "application/json", strings.NewReader(`{"version":"1"}`))
	var ch registry.AliasChange
	if err := json.Unmarshal(resp.body, &ch); err != nil || resp.code != 200 || ch.Version != runs[0].Version {
		t.Errorf("PUT production to 1: %d %s", resp.code, resp.body)
	}
	for _, tc := range []struct {
		method, target, body string
		code                 int
	}{
		{"GET", "/models/iris/versions/4", "", 404},
		{"GET", "/models/iris/versions/01", "", 404},
		{"PUT", "/models/iris/aliases/production", `{"version":"9"}`, 404},
		{"PUT", "/models/iris/aliases/production", `{"version":"0"}`, 400},
	} {
		resp := e.do(tc.method, tc.target, "application/json", strings.NewReader(tc.body))
		if resp.code != tc.code {
			t.Errorf("%s %s %s: %d %s, want %d", tc.method, tc.target, tc.body, resp.code, resp.body, tc.code)
		}
	}
}
