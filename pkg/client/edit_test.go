package client

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestEditRunSendsAMergePatch(t *testing.T) {
	var method, path, ct, body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		method, path, ct, body = r.Method, r.URL.Path, r.Header.Get("Content-Type"), string(b)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"20261126T221500Z-1a2b3c4d","name":"renamed","tags":{"team":"fraud"},"revision":2}`))
	}))
	defer srv.Close()
	c, err := New(srv.URL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	name, team := "renamed", "fraud"
	run, err := c.EditRun(context.Background(), "20261126T221500Z-1a2b3c4d", RunEdit{Name: &name, Tags: map[string]*string{"team": &team, "gone": nil}})
	if err != nil {
		t.Fatal(err)
	}
	if method != "PATCH" || path != "/runs/20261126T221500Z-1a2b3c4d" || ct != "application/json" ||
		body != `{"name":"renamed","tags":{"gone":null,"team":"fraud"}}` {
		t.Errorf("sent %s %s (%s) %s", method, path, ct, body)
	}
	if run.Name != "renamed" || run.Tags["team"] != "fraud" || run.Revision != 2 {
		t.Errorf("answer read as %+v", run)
	}
}
