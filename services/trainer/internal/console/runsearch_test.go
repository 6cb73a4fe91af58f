package console

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestRunsPageSearch(t *testing.T) {
	e := newEnv(t)
	one := e.train(t, "c=1")
	half := e.train(t, "c=0.5")
	page := func(kv ...string) (int, string) {
		q := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			q.Set(kv[i], kv[i+1])
		}
		return e.get("/ui/runs?" + q.Encode())
	}
	t.Run("the filter keeps the runs that meet it, and stays in the box", func(t *testing.T) {
		code, body := page("filter", "params.c = '0.5'")
		if code != 200 || !slices.Equal(runOrder(body), []string{half.ID}) {
			t.Fatalf("%d: runs %v, want %s", code, runOrder(body), half.ID)
		}
		contains(t, "filtered runs", body, `name="filter" value="params.c = &#39;0.5&#39;"`)
	})
	t.Run("order_by orders them", func(t *testing.T) {
		_, body := page("order_by", "params.c ASC")
		if got := runOrder(body); !slices.Equal(got, []string{half.ID, one.ID}) {
			t.Errorf("runs %v, want %s then %s", got, half.ID, one.ID)
		}
		_, body = page("order_by", "params.c DESC")
		if got := runOrder(body); !slices.Equal(got, []string{one.ID, half.ID}) {
			t.Errorf("runs %v, want %s then %s", got, one.ID, half.ID)
		}
	})
	t.Run("a bad filter is shown beside the box, the box kept", func(t *testing.T) {
		code, body := page("filter", "metrics.accuracy >> 0.9")
		if code != http.StatusBadRequest || len(runOrder(body)) != 0 {
			t.Fatalf("%d, runs %v", code, runOrder(body))
		}
		contains(t, "bad filter", body, `id="filter-error" role="alert">filter at column 19: expected a value`,
			`aria-invalid="true"`, `name="filter" value="metrics.accuracy &gt;&gt; 0.9"`)
	})
	t.Run("the order box keeps its text, the CSV link the search", func(t *testing.T) {
		_, body := page("filter", "attributes.status = 'succeeded'", "order_by", "metrics.accuracy DESC")
		contains(t, "searched runs", body, `name="order_by" value="metrics.accuracy DESC"`,
			`href="/runs.csv?filter=attributes.status&#43;%3D&#43;%27succeeded%27&amp;order_by=metrics.accuracy&#43;DESC" id="runs-csv"`)
	})
}

func TestNamesAndTagsShown(t *testing.T) {
	e := newEnv(t)
	run := e.train(t, "name=baseline")
	w := httptest.NewRecorder()
	req := httptest.NewRequest("PATCH", "/runs/"+run.ID,
		strings.NewReader(`{"tags":{"team":"fraud","it's":"<b>x</b>"},"description":"# Notes\n<script>alert(1)</script>"}`))
	req.Header.Set("Content-Type", "application/json")
	e.engine.ServeHTTP(w, req)
	if w.Code != 200 {
		t.Fatalf("PATCH: %d %s", w.Code, w.Body)
	}
	// As html/template escapes a query: %20 for a space, lower-case hex.
	teamLink := `href="/ui/runs?filter=tags.team%20%3d%20%27fraud%27"`
	_, body := e.get("/ui/runs")
	contains(t, "runs", body, `<td data-field="name">baseline`, teamLink, `>team=fraud</a>`, `>it&#39;s=&lt;b&gt;x&lt;/b&gt;</a>`)
	_, body = e.get("/ui/runs/" + run.ID)
	contains(t, "run", body, `<span id="run-name">baseline</span>`, teamLink,
		`href="/ui/runs?filter=tags.%60it%27s%60%20%3d%20%27%3cb%3ex%3c%2fb%3e%27"`,
		"<pre># Notes\n&lt;script&gt;alert(1)&lt;/script&gt;</pre>")
	if strings.Contains(body, "<script>alert(1)") {
		t.Error("the description is not escaped")
	}
	// The tag's link finds the run.
	_, body = e.get("/ui/runs?filter=" + url.QueryEscape("tags.`it's` = '<b>x</b>'"))
	if got := runOrder(body); !slices.Equal(got, []string{run.ID}) {
		t.Errorf("the tag's search finds %v", got)
	}
}
