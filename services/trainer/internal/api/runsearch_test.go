package api

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

func TestSearchRuns(t *testing.T) {
	e := newEnv(t)
	first := e.do("POST", "/train?wait=true&c=1", "", nil).run(t)
	second := e.do("POST", "/train?wait=true&c=0.5", "", nil).run(t)
	list := func(query string) (int, []string, string, string) {
		t.Helper()
		resp := e.do("GET", "/runs?"+query, "", nil)
		var page struct {
			Runs []struct {
				ID string `json:"id"`
			} `json:"runs"`
			NextPageToken string `json:"next_page_token"`
		}
		if resp.code != 200 {
			return resp.code, nil, "", resp.apiError(t).Message
		}
		if err := json.Unmarshal(resp.body, &page); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range page.Runs {
			ids = append(ids, r.ID)
		}
		return resp.code, ids, page.NextPageToken, ""
	}
	q := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	for _, tc := range []struct {
		name, query string
		want        string
	}{
		{"a parameter", q("filter", "params.c = '0.5'"), second.ID},
		{"metric and status", q("filter", "metrics.accuracy > 0.5 and attributes.status = 'succeeded'"), second.ID + " " + first.ID},
		{"nothing matches", q("filter", "tags.team = 'fraud'"), ""},
		{"ordered ascending", q("order_by", "params.c ASC"), second.ID + " " + first.ID},
		{"ordered, two keys repeated", q("order_by", "attributes.status", "order_by", "params.c DESC"), first.ID + " " + second.ID},
		{"one per page: the first", q("order_by", "params.c", "limit", "1"), second.ID},
		{"one per page: the second", q("order_by", "params.c", "limit", "1", "page_token", "1"), first.ID},
		{"filtered pages go by id", q("filter", "params.standardize = 'true'", "limit", "1", "page_token", second.ID), first.ID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, ids, _, msg := list(tc.query)
			if code != 200 || strings.Join(ids, " ") != tc.want {
				t.Errorf("GET /runs?%s = %d %v %s, want %s", tc.query, code, ids, msg, tc.want)
			}
		})
	}
	for _, tc := range []struct{ name, query, want string }{
		{"a syntax error says where", q("filter", "metrics.accuracy >> 1"), "filter at column 19: expected a value"},
		{"a type error says what to do", q("filter", "params.c = 1"), "params.c is a string: quote the value, as in params.c = '1'"},
		{"an unknown order key", q("order_by", "metrics.f1 DESC"), `order_by at column 1: unknown metric "f1"`},
		{"an offset where a run id goes", q("filter", "params.c = '1'", "page_token", "5"), "page_token"},
		{"a run id where an offset goes", q("order_by", "params.c", "page_token", first.ID), "page_token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, _, msg := list(tc.query)
			if code != 400 || !strings.Contains(msg, tc.want) {
				t.Errorf("GET /runs?%s = %d %q, want 400 %q", tc.query, code, msg, tc.want)
			}
		})
	}
}
