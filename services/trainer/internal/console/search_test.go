package console

import (
	"net/http"
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
	t.Run("the order box keeps its text", func(t *testing.T) {
		_, body := page("filter", "attributes.status = 'succeeded'", "order_by", "metrics.accuracy DESC")
		if !strings.Contains(body, `name="order_by" value="metrics.accuracy DESC"`) {
			t.Error("order_by box lost")
		}
	})
}
