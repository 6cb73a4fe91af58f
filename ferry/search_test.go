package main

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestRunsSearchSendsFilterAndOrder(t *testing.T) {
	ft := &fakeTrainer{}
	tr := httptest.NewServer(ft)
	defer tr.Close()
	filter := "metrics.accuracy > 0.9 and tags.team = 'fraud'"
	_, errOut, code := ferry(t, tr.URL, "", "", "runs", "--filter", filter, "--order-by", "metrics.accuracy DESC", "--order-by", "params.c")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	asked := ft.asked()
	if len(asked) != 1 {
		t.Fatalf("asked %v", asked)
	}
	u, err := url.Parse(strings.TrimPrefix(asked[0], "GET "))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("filter") != filter || strings.Join(q["order_by"], "|") != "metrics.accuracy DESC|params.c" {
		t.Errorf("asked %s: filter %q, order_by %q", asked[0], q.Get("filter"), q["order_by"])
	}
}
