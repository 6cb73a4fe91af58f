package swaggerui

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/modelferry/modelferry/pkg/httpserver"
)

// TestPageRendersOffline loads /docs/ in headless Chromium that can resolve
// no host but 127.0.0.1, under the services' Content-Security-Policy: the operation of the document appears in the page
// only when the served bundle and stylesheet load, run and fetch the spec.
func TestPageRendersOffline(t *testing.T) {
	browser, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("headless Chromium is needed (Debian package chromium; .ci/run installs it): %v", err)
	}
	spec, err := os.ReadFile("testdata/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(spec)
	})
	mux.Handle("/docs/", http.StripPrefix("/docs", Handler("browser test", "/openapi.json")))
	// Under the services' policy: no inline script.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", httpserver.ContentSecurityPolicy)
		mux.ServeHTTP(w, r)
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--user-data-dir="+t.TempDir(),
		"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
		// Virtual time runs the page's scripts and fetches before the dump.
		"--virtual-time-budget=15000",
		"--dump-dom", srv.URL+"/docs/")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{`class="swagger-ui`, `data-path="/rendered-offline"`} {
		if !strings.Contains(string(dom), want) {
			t.Errorf("rendered page lacks %s; page:\n%.2000s", want, dom)
		}
	}
}
