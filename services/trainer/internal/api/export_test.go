package api

import (
	"encoding/csv"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestExportRunsCSV(t *testing.T) {
	e := newEnv(t)
	first := e.do("POST", "/train?wait=true&c=1&name=%3Dcmd()", "", nil).run(t)
	second := e.do("POST", "/train?wait=true&c=0.5&name=second", "", nil).run(t)
	export := func(kv ...string) (int, string, [][]string) {
		t.Helper()
		q := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			q.Add(kv[i], kv[i+1])
		}
		resp := e.do("GET", "/runs.csv?"+q.Encode(), "", nil)
		if resp.code != 200 {
			return resp.code, resp.apiError(t).Message, nil
		}
		if ct := resp.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		rows, err := csv.NewReader(strings.NewReader(string(resp.body))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return resp.code, "", rows
	}
	t.Run("chosen columns, filtered and ordered", func(t *testing.T) {
		_, _, rows := export("columns", "attributes.run_id,attributes.run_name", "columns", "params.c, tags.team", "order_by", "params.c", "filter", "metrics.accuracy > 0")
		want := [][]string{
			{"attributes.run_id", "attributes.run_name", "params.c", "tags.team"},
			{second.ID, "second", "0.5", ""},
			{first.ID, "'=cmd()", "1", ""}, // a name a spreadsheet would run is quoted
		}
		if !reflect.DeepEqual(rows, want) {
			t.Errorf("rows %q, want %q", rows, want)
		}
	})
	t.Run("default columns, newest first", func(t *testing.T) {
		_, _, rows := export()
		if len(rows) != 3 || rows[0][0] != "attributes.run_id" || !strings.Contains(strings.Join(rows[0], ","), "metrics.accuracy") ||
			rows[1][0] != second.ID || rows[2][0] != first.ID {
			t.Errorf("rows %q", rows)
		}
	})
	t.Run("nothing matches: the header alone", func(t *testing.T) {
		_, _, rows := export("filter", "tags.team = 'none'", "columns", "attributes.run_id")
		if !reflect.DeepEqual(rows, [][]string{{"attributes.run_id"}}) {
			t.Errorf("rows %q", rows)
		}
	})
	for _, tc := range []struct{ name, key, value, want string }{
		{"a bad column", "columns", "metrics.accuracy DESC", "columns at column 18"},
		{"an unknown column", "columns", "metrics.f2", `unknown metric "f2"`},
		{"a bad filter", "filter", "params.c = 1", "quote the value"},
		{"a bad status", "status", "done", "is not one of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, msg, _ := export(tc.key, tc.value)
			if code != 400 || !strings.Contains(msg, tc.want) {
				t.Errorf("%d %q, want 400 %q", code, msg, tc.want)
			}
		})
	}
}
