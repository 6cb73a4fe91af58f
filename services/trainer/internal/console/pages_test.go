package console

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/artifact"
	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

// contains fails the test for each want missing from body.
func contains(t *testing.T, page, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", page, w)
		}
	}
}

func TestPages(t *testing.T) {
	e := newEnv(t)
	first := e.train(t, "")
	held := e.train(t, "c=0.01&standardize=false&max_iter=20") // worse: the gate holds it
	all := e.train(t, "c=10&test_fraction=0")
	w := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/train?wait=true&model=wine", strings.NewReader("a,label\n1,x\n"))
	req.Header.Set("Content-Type", "text/csv")
	e.engine.ServeHTTP(w, req)
	failedID := strings.TrimPrefix(w.Header().Get("Location"), "/runs/")

	t.Run("root redirects to the console", func(t *testing.T) {
		w := httptest.NewRecorder()
		e.engine.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		if w.Code != http.StatusFound || w.Header().Get("Location") != "/ui/" {
			t.Errorf("%d %s", w.Code, w.Header())
		}
	})
	t.Run("models", func(t *testing.T) {
		code, body := e.get("/ui/")
		if code != 200 {
			t.Fatal(code)
		}
		contains(t, "models", body, `data-model="iris"`, `data-model="wine"`, first.Version, all.Version,
			metric(first.Metrics.Accuracy), ">3</a>", `class="badge s-succeeded"`, `class="badge s-failed"`)
	})
	t.Run("model", func(t *testing.T) {
		code, body := e.get("/ui/models/iris")
		if code != 200 {
			t.Fatal(code)
		}
		contains(t, "model", body, `data-alias="production"`, `data-alias="latest"`,
			`data-promote data-model="iris" data-version="`+held.Version+`" data-alias="production"`,
			metric(held.Metrics.LogLoss), "held: "+htmlEscape(held.PromotionReason), "held: "+htmlEscape(all.PromotionReason),
			// Each version's number beside its id.
			`<span class="vnum" data-field="number">#1</span> <a href="/ui/models/iris/versions/`+first.Version+`"`,
			`<span class="vnum" data-field="number">#3</span> <a href="/ui/models/iris/versions/`+all.Version+`"`)
		// A version's number leads to its page.
		w := httptest.NewRecorder()
		e.engine.ServeHTTP(w, httptest.NewRequest("GET", "/ui/models/iris/versions/3", nil))
		if w.Code != http.StatusFound || w.Header().Get("Location") != "/ui/models/iris/versions/"+all.Version {
			t.Errorf("/ui/models/iris/versions/3: %d to %q", w.Code, w.Header().Get("Location"))
		}
		// Production's own row has no button.
		if strings.Contains(body, `data-version="`+first.Version+`" data-alias="production"`) {
			t.Error("production's version offers to promote itself")
		}
		if code, _ := e.get("/ui/models/nosuch"); code != 404 {
			t.Errorf("unknown model: %d", code)
		}
		if code, _ := e.get("/ui/models/Bad!"); code != 400 {
			t.Errorf("bad name: %d", code)
		}
	})
	t.Run("version", func(t *testing.T) {
		v, err := e.reg.Version(context.Background(), "iris", first.Version)
		if err != nil {
			t.Fatal(err)
		}
		path := "/ui/models/iris/versions/" + first.Version
		code, body := e.get(path)
		if code != 200 {
			t.Fatal(code)
		}
		contains(t, "version", body, v.SHA256, "sepal_length, sepal_width, petal_length, petal_width",
			"setosa, versicolor, virginica", "folded into the weights", metric(v.Record.Metrics.MacroF1),
			`href="/models/iris/versions/`+first.Version+`/artifact"`, `href="/datasets/`+first.Dataset.SHA256+`"`,
			"Coefficients (per standard deviation of each feature)")
		// The form starts at the training means.
		m, _, _ := e.reg.ReadModel(context.Background(), "iris", first.Version)
		contains(t, "version", body, `name="x" value="`+strconv.FormatFloat(round3(m.Scaler.Mean[3]), 'f', -1, 64)+`"`)
		// 3 classes × 4 features of coefficients, 3 × 3 of confusion.
		if n := strings.Count(body, "<rect x=") - 2*40; n != 12+9 {
			t.Errorf("%d cells", n)
		}
		_, raw := e.get("/ui/models/iris/versions/" + held.Version)
		contains(t, "unstandardized version", raw, "Not standardized", "Coefficients (per raw unit of each feature)")

		// Try it: the version's own probabilities.
		_, body = e.get(path + "?x=6.7&x=3.0&x=5.2&x=2.3")
		c, _ := artifact.Compile(m)
		p := make([]float64, 3)
		c.PredictProba([]float64{6.7, 3.0, 5.2, 2.3}, p)
		contains(t, "try-it", body, `<strong id="try-label">virginica</strong>`,
			`data-class="virginica">`+metric(p[2])+`<`, `data-class="setosa">`+metric(p[0])+`<`, `name="x" value="6.7"`)
		_, body = e.get(path + "?x=6.7&x=abc&x=5.2&x=2.3")
		contains(t, "try-it error", body, `sepal_width: &#34;abc&#34; is not a number`)
	})
	t.Run("corrupt version", func(t *testing.T) {
		e.mem.Overwrite("models/iris/versions/"+all.Version+"/model.pb", []byte("rot"))
		code, body := e.get("/ui/models/iris/versions/" + all.Version)
		if code != http.StatusConflict || !strings.Contains(body, "failed its integrity check") {
			t.Errorf("%d %s", code, body)
		}
	})
	t.Run("runs", func(t *testing.T) {
		code, body := e.get("/ui/runs")
		if code != 200 {
			t.Fatal(code)
		}
		// Newest first: by id, which sorts by the second a run was made.
		want := []string{failedID, all.ID, held.ID, first.ID}
		slices.Sort(want)
		slices.Reverse(want)
		if got := runOrder(body); !slices.Equal(got, want) {
			t.Errorf("order %v, want %v", got, want)
		}
		// The version column shows the version, and whether the run
		// promoted it.
		contains(t, "version column", body, `<a href="/ui/models/iris/versions/`+first.Version+`" class="mono" data-field="version">#1 `+first.Version+`</a> <span class="ok">promoted</span>`,
			`data-field="version">#2 `+held.Version+`</a></td>`)
		_, body = e.get("/ui/runs?status=failed")
		if got := runOrder(body); len(got) != 1 || got[0] != failedID {
			t.Errorf("failed runs: %v", got)
		}
		_, body = e.get("/ui/runs?model=iris&sort=log_loss")
		if got := runOrder(body); strings.Join(got, " ") != strings.Join([]string{all.ID, first.ID, held.ID}, " ") {
			t.Errorf("by log loss: %v", got)
		}
		for _, q := range []string{"sort=colour", "status=lost", "page=0", "model=A"} {
			if code, _ := e.get("/ui/runs?" + q); code != 400 {
				t.Errorf("%s: %d", q, code)
			}
		}
	})
	t.Run("run", func(t *testing.T) {
		code, body := e.get("/ui/runs/" + first.ID)
		if code != 200 {
			t.Fatal(code)
		}
		contains(t, "run", body, `<dd data-field="filename">iris.csv</dd>`, "promoted to production", metric(first.Metrics.Accuracy), "Objective per iteration (log scale)",
			"Gradient norm per iteration (log scale)", "<polyline", "load ", "fit ", "evaluate ", "publish ", first.Dataset.SHA256)
		if strings.Contains(body, "data-live-run") {
			t.Error("a finished run is live")
		}
		_, body = e.get("/ui/runs/" + failedID)
		contains(t, "failed run", body, `id="run-error"`, "need at least two")
	})
	t.Run("compare", func(t *testing.T) {
		code, body := e.get("/ui/compare?run=" + first.ID + "&run=" + held.ID + "&run=" + all.ID)
		if code != 200 {
			t.Fatal(code)
		}
		contains(t, "compare", body, `<tr class="diff"><th>C <span class="tag">differs</span>`, `<tr><th>seed</th>`)
		// Scores only (accuracy, log loss, macro F1), between the two runs
		// scored on the same test set: not duration, not iterations.
		if n := strings.Count(body, "★ best"); n != 3 {
			t.Errorf("%d best marks, want 3", n)
		}
		if strings.Contains(body, `id="test-sets-differ"`) {
			t.Errorf("warns of different test sets, but only one run has a test set of its own kind")
		}
		// The run fitted on every row is never the best on scores.
		contains(t, "compare", body, metric(all.Metrics.Accuracy)+" (train)")
		if n := strings.Count(body, "<polyline"); n != 6 {
			t.Errorf("%d lines, want 3 runs × 2 charts", n)
		}
		if n := strings.Count(body, "Confusion matrix") + strings.Count(body, `aria-label="2026`); n < 3 {
			t.Errorf("%d confusion matrices", n)
		}
		for _, q := range []string{"run=" + first.ID, "", "run=a&run=b"} {
			if code, _ := e.get("/ui/compare?" + q); code != 400 {
				t.Errorf("%q: %d", q, code)
			}
		}
	})
	t.Run("datasets", func(t *testing.T) {
		code, body := e.get("/ui/datasets")
		if code != 200 {
			t.Fatal(code)
		}
		contains(t, "datasets", body, `id="d-`+first.Dataset.SHA256+`"`, ">150<", first.ID, all.ID, `href="/datasets/`+first.Dataset.SHA256+`" download`,
			`<td data-field="filenames">iris.csv</td>`)
	})
	t.Run("static assets", func(t *testing.T) {
		for path, want := range map[string]string{"/ui/static/app.css": "text/css", "/ui/static/app.js": "javascript"} {
			w := httptest.NewRecorder()
			e.engine.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
			if w.Code != 200 || !strings.Contains(w.Header().Get("Content-Type"), want) {
				t.Errorf("%s: %d %s", path, w.Code, w.Header().Get("Content-Type"))
			}
		}
	})
}

// runOrder lists the runs of a runs page in the order shown.
func runOrder(body string) []string {
	var ids []string
	for _, m := range regexp.MustCompile(`<tr data-run="([^"]+)"`).FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

func htmlEscape(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		switch r {
		case '\'':
			b.WriteString("&#39;")
		case '"':
			b.WriteString("&#34;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestSignIn: with a read token, a browser is sent to sign in, its token
// is kept in a cookie that reads (only) turn into a bearer token, and a
// refused token sends it back to sign in.
func TestSignIn(t *testing.T) {
	e := newEnv(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	read := httpserver.BearerAuth(logger, "test", "write", "read")
	engine := gin.New()
	engine.Use(TokenFromCookie)
	engine.GET("/runs", read, func(c *gin.Context) { c.String(200, "runs") })
	engine.POST("/runs", func(c *gin.Context) { c.String(200, c.GetHeader("Authorization")) })
	New(Config{Registry: e.reg, Logger: logger, Tokens: []string{"write", "read"}}).Register(engine, read)
	do := func(method, target, cookie, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: tokenCookie, Value: cookie})
		}
		w := httptest.NewRecorder()
		engine.ServeHTTP(w, req)
		return w
	}
	if w := do("GET", "/ui/runs?status=failed", "", ""); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/ui/signin?next=%2Fui%2Fruns%3Fstatus%3Dfailed" {
		t.Fatalf("no token: %d %s", w.Code, w.Header())
	}
	if w := do("GET", "/ui/signin?next=%2Fui%2Fruns", "", ""); w.Code != 200 || !strings.Contains(w.Body.String(), `name="next" value="/ui/runs"`) {
		t.Errorf("sign-in page: %d", w.Code)
	}
	w := do("POST", "/ui/signin", "", "token=read&next=%2Fui%2Fruns")
	cookie := w.Header().Get("Set-Cookie")
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/ui/runs" ||
		!strings.Contains(cookie, tokenCookie+"=read") || !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Strict") {
		t.Fatalf("sign in: %d %s", w.Code, w.Header())
	}
	// A wrong token sets no cookie: it goes back to sign in, refused.
	if w := do("POST", "/ui/signin", "", "token=wrong&next=%2Fui%2Fruns"); w.Code != http.StatusSeeOther ||
		w.Header().Get("Location") != "/ui/signin?refused=1&next=%2Fui%2Fruns" || w.Header().Get("Set-Cookie") != "" {
		t.Errorf("sign in with a wrong token: %d %s", w.Code, w.Header())
	}
	if w := do("POST", "/ui/signin", "", "token=read&next=https%3A%2F%2Fevil.example"); w.Header().Get("Location") != "/ui/" {
		t.Errorf("redirect out of the console: %s", w.Header().Get("Location"))
	}
	if w := do("GET", "/ui/runs", "read", ""); w.Code != 200 || !strings.Contains(w.Body.String(), "Sign out") {
		t.Errorf("with the cookie: %d", w.Code)
	}
	if w := do("GET", "/runs", "read", ""); w.Code != 200 {
		t.Errorf("an API read with the cookie: %d", w.Code)
	}
	if w := do("POST", "/runs", "read", ""); w.Body.String() != "" {
		t.Errorf("a POST got the cookie's token: %q", w.Body.String())
	}
	if w := do("GET", "/ui/", "wrong", ""); w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/ui/signin?refused=1") ||
		!strings.Contains(w.Header().Get("Set-Cookie"), "Max-Age=0") || strings.Contains(w.Body.String(), "bearer") {
		t.Errorf("refused token: %d %s %s", w.Code, w.Header(), w.Body)
	}
	if w := do("GET", "/ui/static/app.css", "", ""); w.Code != 200 {
		t.Errorf("stylesheet: %d", w.Code)
	}
}

func TestLiveRunsArePlaced(t *testing.T) {
	e := newEnv(t)
	run := registry.Run{ID: "20261126T100000Z-0000000a", Model: "iris", Status: registry.StatusRunning,
		Params: registry.DefaultParams(), Progress: &registry.Progress{Stage: registry.StageLoading, BytesRead: 1500, BytesTotal: 3000}}
	if err := e.reg.SaveRun(context.Background(), run, registry.SaveOptions{First: true}); err != nil {
		t.Fatal(err)
	}
	_, body := e.get("/ui/runs/" + run.ID)
	contains(t, "live run", body, `data-live-run="`+run.ID+`" data-reload`, `<dd data-field="stage">loading</dd>`,
		`1.5 KiB of 2.9 KiB`, `value="0.5"`)
	_, body = e.get("/ui/runs")
	contains(t, "runs", body, `data-live-run="`+run.ID+`"`, `<span data-field="stage">loading</span>`)
}

// TestPagesCarryTheSecurityHeaders: every page and its script and
// stylesheet, under the policy that refuses inline script.
func TestPagesCarryTheSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/ui/", "/ui/runs", "/ui/datasets", "/ui/static/app.js", "/ui/static/app.css", "/ui/runs/nosuch"} {
		w := httptest.NewRecorder()
		e.engine.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		h := w.Header()
		if h.Get("Content-Security-Policy") != httpserver.ContentSecurityPolicy || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("Referrer-Policy") != "same-origin" {
			t.Errorf("%s (%d): security headers %v", path, w.Code, h)
		}
		if strings.Contains(w.Body.String(), "<script>") {
			t.Errorf("%s has an inline script", path)
		}
	}
}
