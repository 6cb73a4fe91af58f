package api

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

// TestDocsCarryTheSecurityHeaders: the document, the Swagger UI page and
// its script, each under the policy that refuses inline script.
func TestDocsCarryTheSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	for path, want := range map[string]string{
		"/openapi.json":                `"openapi"`,
		"/docs/":                       `<script src="swagger-initializer.js"`,
		"/docs/swagger-initializer.js": `url: "/openapi.json"`,
	} {
		resp := e.do("GET", path, "", nil)
		h := resp.header
		if resp.code != 200 || !strings.Contains(string(resp.body), want) {
			t.Errorf("%s: %d, body lacks %q", path, resp.code, want)
		}
		if h.Get("Content-Security-Policy") != httpserver.ContentSecurityPolicy || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("Referrer-Policy") != "same-origin" {
			t.Errorf("%s: security headers %v", path, h)
		}
	}
	if !strings.Contains(httpserver.ContentSecurityPolicy, "script-src 'self';") ||
		!strings.Contains(httpserver.ContentSecurityPolicy, "frame-ancestors 'none'") {
		t.Errorf("policy %q allows inline script or framing", httpserver.ContentSecurityPolicy)
	}
}

// TestOpenAPIDocumentsEveryRoute checks the document against the routes
// both ways, and that every $ref in it resolves.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	e := newEnv(t)
	resp := e.do("GET", "/openapi.json", "", nil)
	var doc struct {
		OpenAPI    string                    `json:"openapi"`
		Paths      map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]any `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(resp.body, &doc); err != nil || resp.code != 200 || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("%d: %v", resp.code, err)
	}
	routes := map[string]bool{}
	for _, r := range e.engine.Routes() {
		path := r.Path
		for _, p := range []string{"model", "version", "alias", "id", "sha256", "file"} {
			path = strings.Replace(path, ":"+p, "{"+p+"}", 1)
			path = strings.Replace(path, "*"+p, "{"+p+"}", 1)
		}
		if path == "/docs" {
			continue // redirect to /docs/
		}
		routes[strings.ToLower(r.Method)+" "+path] = true
		if _, ok := doc.Paths[path][strings.ToLower(r.Method)]; !ok {
			t.Errorf("%s %s is not in openapi.json", r.Method, path)
		}
	}
	// pkg/service adds these to every service.
	for _, r := range []string{"get /healthz", "get /readyz", "get /metrics"} {
		routes[r] = true
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if !routes[method+" "+path] {
				t.Errorf("openapi.json documents %s %s, which is not served", strings.ToUpper(method), path)
			}
		}
	}
	var components map[string]map[string]json.RawMessage
	if err := json.Unmarshal(componentsOf(resp.body), &components); err != nil {
		t.Fatal(err)
	}
	for _, ref := range refsOf(resp.body) {
		name, ok := strings.CutPrefix(ref, "#/components/")
		kind, key, _ := strings.Cut(name, "/")
		if _, found := components[kind][key]; !ok || !found {
			t.Errorf("$ref %s does not resolve", ref)
		}
	}
	// The documented records name every field the API sends.
	for schema, v := range map[string]any{
		"Run": registry.Run{}, "Progress": registry.Progress{}, "HistoryPoint": registry.HistoryPoint{},
		"VersionView": registry.VersionView{}, "VersionRecord": registry.VersionRecord{}, "DatasetInfo": registry.DatasetInfo{},
		"DatasetView": registry.DatasetView{}, "AliasChange": registry.AliasChange{}, "Params": registry.Params{},
	} {
		for _, field := range jsonFields(reflect.TypeOf(v)) {
			if _, ok := doc.Components.Schemas[schema].Properties[field]; !ok {
				t.Errorf("schema %s lacks %q", schema, field)
			}
		}
	}
	for path, want := range map[string]string{"/docs/swagger-initializer.js": `url: "/openapi.json"`, "/docs/swagger-ui.css": ".swagger-ui"} {
		if r := e.do("GET", path, "", nil); r.code != 200 || !strings.Contains(string(r.body), want) {
			t.Errorf("%s: %d, body lacks %q", path, r.code, want)
		}
	}
}

// refsOf lists the $ref values of a JSON document.
func refsOf(doc []byte) []string {
	var refs []string
	for _, part := range strings.Split(string(doc), `"$ref": "`)[1:] {
		ref, _, _ := strings.Cut(part, `"`)
		refs = append(refs, ref)
	}
	return refs
}

func componentsOf(doc []byte) []byte {
	var d struct {
		Components json.RawMessage `json:"components"`
	}
	_ = json.Unmarshal(doc, &d)
	return d.Components
}

// jsonFields lists the JSON names of a struct's fields, embedded ones
// inlined.
func jsonFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

// The Swagger UI at /docs/ renders descriptions (not summaries) as
// Markdown, where a bare <word> is an HTML tag and vanishes
// ("Authorization: Bearer ;"): every one stands in a code span.
func TestOpenAPIDescriptionsKeepAngleBrackets(t *testing.T) {
	e := newEnv(t)
	resp := e.do("GET", "/openapi.json", "", nil)
	var doc any
	if err := json.Unmarshal(resp.body, &doc); err != nil {
		t.Fatal(err)
	}
	code := regexp.MustCompile("`[^`]*`")
	tag := regexp.MustCompile(`<[A-Za-z/][^>]*>`)
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				if s, ok := c.(string); ok && k == "description" {
					if m := tag.FindString(code.ReplaceAllString(s, "")); m != "" {
						t.Errorf("%s.%s: %s outside a code span vanishes in the Swagger UI", path, k, m)
					}
				}
				walk(path+"."+k, c)
			}
		case []any:
			for i, c := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), c)
			}
		}
	}
	walk("$", doc)
}
