package main

import (
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/modelferry/modelferry/pkg/client"
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

func TestTrainSendsTheName(t *testing.T) {
	ft := &fakeTrainer{}
	tr := httptest.NewServer(ft)
	defer tr.Close()
	if _, errOut, code := ferry(t, tr.URL, "", "", "train", "--name", "baseline v2"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if asked := ft.asked(); len(asked) != 1 || !strings.Contains(asked[0], "name=baseline+v2") {
		t.Errorf("asked %v", asked)
	}
}

func TestRunShowsNameTagsAndNotes(t *testing.T) {
	rows := annotationRows(client.Run{Name: "brave-otter-42", Tags: map[string]string{"team": "fraud", "a": "1"}, Description: "# Notes\nmore"})
	want := [][]string{{"name", "brave-otter-42"}, {"tag a", "1"}, {"tag team", "fraud"}, {"description", "# Notes …"}}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("rows %v, want %v", rows, want)
	}
}
