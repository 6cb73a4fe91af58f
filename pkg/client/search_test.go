package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestTrainSendsASearchAsParamsSearch(t *testing.T) {
	var query url.Values
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.Query()
		body, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"r1","kind":"search","search":{"scoring":"accuracy","folds":3,"best_index":1,"results":[{"c":0.1,"class_weight":null,"fold_scores":[1,1,1]},{"c":1,"class_weight":"balanced","fold_scores":[1,1,1]}]}}`))
	}))
	defer srv.Close()
	c, err := New(srv.URL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.Train(context.Background(), TrainRequest{Model: "iris", Dataset: "datasets/x.csv",
		Params: url.Values{"c": {"2"}, "search_c": {"1e-2:1e2:5"}, "folds": {"3"}, "scoring": {"accuracy"}}})
	if err != nil {
		t.Fatal(err)
	}
	if query.Has("search_c") || query.Has("folds") || query.Has("scoring") {
		t.Fatalf("search keys left in the query with a JSON body: %v", query)
	}
	var sent map[string]any
	if err := json.Unmarshal(body, &sent); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(sent["params"])
	if want := `{"c":2,"search":{"c":{"logspace":[-2,2,5]},"folds":3,"scoring":"accuracy"}}`; string(b) != want {
		t.Fatalf("params %s, want %s", b, want)
	}
	if run.Kind != "search" || run.Search == nil || run.Search.BestIndex != 1 || !run.Search.Results[1].ClassWeight.Balanced {
		t.Fatalf("run %+v", run)
	}

	_, err = c.Train(context.Background(), TrainRequest{Dataset: "datasets/x.csv", Params: url.Values{"search_c": {"1:2"}}})
	if err == nil || !strings.Contains(err.Error(), "a range takes three parts") {
		t.Fatalf("err = %v", err)
	}
}
