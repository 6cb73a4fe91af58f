package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const (
	runA = "20261126T221500Z-1a2b3c4d"
	runB = "20261126T223000Z-5e6f7a8b"
)

func fakeRun(id string, c float64, acc float64, promoted bool) map[string]any {
	return map[string]any{
		"id": id, "model": "iris", "status": "succeeded", "version": id, "version_number": map[string]int{runA: 1, runB: 2}[id], "promoted": promoted,
		"params":     map[string]any{"c": c, "max_iter": 1000, "tol": 1e-8, "test_fraction": 0.2, "seed": 42, "standardize": true},
		"dataset":    map[string]any{"uri": "s3://modelferry/datasets/ab.csv", "filename": "iris.csv", "sha256": strings.Repeat("ab", 32), "rows": 150, "features": []string{"a", "b", "c", "d"}, "classes": []string{"x", "y", "z"}},
		"metrics":    map[string]any{"accuracy": acc, "log_loss": 0.1, "macro_f1": acc - 0.01, "rows": 30},
		"metrics_on": "test", "iterations": 37, "created_at": "2026-11-26T22:15:00Z", "duration_seconds": 0.012,
		"promotion_reason": map[bool]string{true: "", false: "accuracy 0.9000 is more than 0.0500 below production"}[promoted],
	}
}

// fakeTrainer answers the trainer API with fixed documents and records
// what it was asked.
type fakeTrainer struct {
	mu       sync.Mutex
	requests []string
	bodies   [][]byte
	// events are sent on GET /runs/{id}/events, one every eventGap.
	events   []map[string]any
	eventGap time.Duration
	cancels  int
	// final, when set, is the run record the events end with.
	final map[string]any
}

func (f *fakeTrainer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.String())
	f.bodies = append(f.bodies, body)
	f.mu.Unlock()
	js := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	switch {
	case r.Method == "POST" && r.URL.Path == "/train":
		run := fakeRun(runA, 1, 0.97, true)
		run["status"] = "queued"
		js(202, run)
	case r.URL.Path == "/runs/"+runA+"/events":
		w.Header().Set("Content-Type", "text/event-stream")
		for _, ev := range f.events {
			b, _ := json.Marshal(ev)
			fmt.Fprintf(w, "event:progress\ndata:%s\n\n", b)
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(f.eventGap):
			}
		}
		final := fakeRun(runA, 1, 0.97, true)
		if f.final != nil {
			final = f.final
		}
		b, _ := json.Marshal(final)
		fmt.Fprintf(w, "event:run\ndata:%s\n\n", b)
	case r.URL.Path == "/runs/"+runA+"/cancel":
		f.mu.Lock()
		f.cancels++
		f.mu.Unlock()
		run := fakeRun(runA, 1, 0, false)
		run["status"], run["version"], run["metrics"] = "cancelled", "", nil
		js(200, run)
	case r.URL.Path == "/runs":
		js(200, map[string]any{"runs": []any{fakeRun(runB, 0.5, 0.9, false), fakeRun(runA, 1, 0.97, true)}})
	case r.URL.Path == "/runs/"+runA:
		js(200, fakeRun(runA, 1, 0.97, true))
	case r.URL.Path == "/runs/"+runB:
		js(200, fakeRun(runB, 0.5, 0.9, false))
	case r.URL.Path == "/models":
		js(200, map[string]any{"models": []any{map[string]any{"name": "iris", "aliases": map[string]any{
			"production": map[string]any{"version": runA}, "latest": map[string]any{"version": runB}}}}})
	case r.URL.Path == "/models/iris" && r.Method == "GET":
		js(200, map[string]any{"name": "iris", "versions": []string{runB, runA},
			"aliases": map[string]any{"production": map[string]any{"version": runB, "previous_version": runA}, "latest": map[string]any{"version": runB}}})
	case strings.HasPrefix(r.URL.Path, "/models/iris/versions/"):
		v := strings.TrimPrefix(r.URL.Path, "/models/iris/versions/")
		js(200, map[string]any{"model": "iris", "version": v, "number": map[string]int{runA: 1, runB: 2}[v], "record": map[string]any{"metrics": map[string]any{"accuracy": 0.9}, "metrics_on": "test"}})
	case r.Method == "PUT" && r.URL.Path == "/models/iris/aliases/production":
		var req struct{ Version string }
		_ = json.Unmarshal(body, &req)
		js(200, map[string]any{"model": "iris", "alias": "production", "version": req.Version, "previous_version": runB})
	case r.URL.Path == "/datasets":
		js(200, map[string]any{"datasets": []any{map[string]any{"sha256": strings.Repeat("ab", 32), "uri": "s3://modelferry/datasets/ab.csv",
			"bytes": 4551, "rows": 150, "features": []string{"a", "b", "c", "d"}, "filenames": []string{"iris.csv", "flowers.csv"}, "runs": []string{runA, runB}}}})
	case r.URL.Path == "/models/nosuch":
		js(404, map[string]any{"error": map[string]any{"code": "not_found", "message": `model "nosuch" not found`}})
	default:
		js(404, map[string]any{"error": map[string]any{"code": "not_found", "message": "no route " + r.URL.Path}})
	}
}

func (f *fakeTrainer) asked() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

// ferry runs the command in process against the fake servers.
func ferry(t *testing.T, trainer, predictor string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, env{
		stdin:      strings.NewReader(stdin),
		stdout:     &out,
		stderr:     &errb,
		interrupts: make(chan os.Signal),
	}.withEnv(map[string]string{"FERRY_TRAINER_URL": trainer, "FERRY_PREDICTOR_URL": predictor}))
	return out.String(), errb.String(), code
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s:\n--- got\n%s--- want\n%s", name, path, got, want)
	}
}

func TestTables(t *testing.T) {
	tr := httptest.NewServer(&fakeTrainer{})
	defer tr.Close()
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"runs", []string{"runs", "--model", "iris"}},
		{"run", []string{"run", runA}},
		{"compare", []string{"compare", runA, runB}},
		{"models", []string{"models"}},
		{"model", []string{"model", "iris"}},
		{"datasets", []string{"datasets"}},
		{"promote", []string{"promote", "iris", runA}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := ferry(t, tr.URL, "", "", tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden(t, tc.name, out)
		})
	}
}

func TestJSONOutputIsTheServersDocuments(t *testing.T) {
	tr := httptest.NewServer(&fakeTrainer{})
	defer tr.Close()
	out, _, code := ferry(t, tr.URL, "", "", "run", runA, "--output", "json")
	var got map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || got["id"] != runA || got["version"] != runA {
		t.Errorf("exit %d, %s", code, out)
	}
}

func TestExitCodesAndErrors(t *testing.T) {
	tr := httptest.NewServer(&fakeTrainer{})
	defer tr.Close()
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"model", "nosuch"}, 1, `not_found (404): model "nosuch" not found`},
		{[]string{"model", "nosuch"}, 1, "ferry models"},
		{[]string{"run"}, 2, "accepts 1 arg"},
		{[]string{"runs", "--nope"}, 2, "unknown flag"},
		{[]string{"runs", "--output", "yaml"}, 2, "want table or json"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"runs", "--trainer", "http://127.0.0.1:1"}, 1, "is modelferry running?"},
	} {
		_, errOut, code := ferry(t, tr.URL, "", "", tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.stderr) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errOut, tc.code, tc.stderr)
		}
	}
}

func TestTrainSendsTheFileAndParameters(t *testing.T) {
	ft := &fakeTrainer{}
	tr := httptest.NewServer(ft)
	defer tr.Close()
	csv := filepath.Join(t.TempDir(), "d.csv")
	if err := os.WriteFile(csv, []byte("a,y\n1,x\n2,y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := ferry(t, tr.URL, "", "", "train", csv, "--model", "wine", "--label", "y", "--c", "0.5", "--no-standardize")
	if code != 0 || strings.TrimSpace(out) != runA {
		t.Fatalf("exit %d, out %q, err %q", code, out, errOut)
	}
	asked := ft.asked()
	if len(asked) != 1 || !strings.Contains(asked[0], "model=wine") || !strings.Contains(asked[0], "label=y") ||
		!strings.Contains(asked[0], "c=0.5") || !strings.Contains(asked[0], "standardize=false") || strings.Contains(asked[0], "wait") {
		t.Errorf("asked %v", asked)
	}
	if string(ft.bodies[0]) != "a,y\n1,x\n2,y\n" {
		t.Errorf("uploaded %q", ft.bodies[0])
	}
	// A stored dataset goes as JSON.
	ft2 := &fakeTrainer{}
	tr2 := httptest.NewServer(ft2)
	defer tr2.Close()
	if _, errOut, code := ferry(t, tr2.URL, "", "", "train", "--dataset", "datasets/ab.csv", "--seed", "7"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var body struct {
		Dataset string         `json:"dataset"`
		Params  map[string]any `json:"params"`
	}
	if err := json.Unmarshal(ft2.bodies[0], &body); err != nil || body.Dataset != "datasets/ab.csv" || body.Params["seed"] != 7.0 {
		t.Errorf("body %s, %v", ft2.bodies[0], err)
	}
}

// TestTrainTableFlags sends the table's parameters: lists as repeated
// keys with a file, as JSON arrays and objects with a stored dataset.
func TestTrainTableFlags(t *testing.T) {
	ft := &fakeTrainer{}
	tr := httptest.NewServer(ft)
	defer tr.Close()
	csv := filepath.Join(t.TempDir(), "d.csv")
	if err := os.WriteFile(csv, []byte("id,a,y\n1,,x\n2,red,y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--drop", "id", "--drop", "name", "--categorical", "zip", "--impute", "median", "--add-indicator",
		"--max-categories", "5", "--class-weight", `{"x": 2}`, "--weight", "w"}
	if _, errOut, code := ferry(t, tr.URL, "", "", append([]string{"train", csv}, flags...)...); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	q, err := url.ParseQuery(strings.SplitN(ft.asked()[0], "?", 2)[1])
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(q["drop"], ",") != "id,name" || q.Get("categorical") != "zip" || q.Get("impute") != "median" ||
		q.Get("add_indicator") != "true" || q.Get("max_categories") != "5" || q.Get("class_weight") != `{"x": 2}` || q.Get("weight") != "w" {
		t.Errorf("query %v", q)
	}
	ft2 := &fakeTrainer{}
	tr2 := httptest.NewServer(ft2)
	defer tr2.Close()
	if _, errOut, code := ferry(t, tr2.URL, "", "", append([]string{"train", "--dataset", "datasets/ab.csv"}, flags...)...); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var body struct {
		Params struct {
			Drop        []string           `json:"drop"`
			ClassWeight map[string]float64 `json:"class_weight"`
			Weight      string             `json:"weight"`
			MaxCat      float64            `json:"max_categories"`
		} `json:"params"`
	}
	if err := json.Unmarshal(ft2.bodies[0], &body); err != nil || strings.Join(body.Params.Drop, ",") != "id,name" ||
		body.Params.ClassWeight["x"] != 2 || body.Params.Weight != "w" || body.Params.MaxCat != 5 {
		t.Errorf("body %s, %v", ft2.bodies[0], err)
	}
}

func TestTrainWaitFollowsAndSummarizes(t *testing.T) {
	ft := &fakeTrainer{events: []map[string]any{
		{"status": "running", "stage": "loading", "bytes_read": 100, "bytes_total": 200},
		{"status": "running", "stage": "fitting", "iteration": 5, "loss": 10.5},
		{"status": "running", "stage": "publishing", "iteration": 37, "loss": 3.1},
	}}
	tr := httptest.NewServer(ft)
	defer tr.Close()
	out, errOut, code := ferry(t, tr.URL, "", "", "train", "--wait")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"loading", "fitting iteration 5 loss 10.5", "publishing"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("progress lines lack %q:\n%s", want, errOut)
		}
	}
	for _, want := range []string{"version   #1 " + runA, "accuracy  0.9700", "promoted  production -> " + runA} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

func TestCtrlCAsksToCancel(t *testing.T) {
	ft := &fakeTrainer{events: []map[string]any{{"status": "running", "stage": "fitting", "iteration": 1, "loss": 1}}, eventGap: time.Minute}
	tr := httptest.NewServer(ft)
	defer tr.Close()
	interrupts := make(chan os.Signal, 1)
	interrupts <- os.Interrupt
	var out, errb bytes.Buffer
	code := run([]string{"train", "--wait"}, env{stdin: strings.NewReader("y\n"), stdout: &out, stderr: &errb, interrupts: interrupts}.
		withEnv(map[string]string{"FERRY_TRAINER_URL": tr.URL}))
	if code != 1 || ft.cancels != 1 || !strings.Contains(errb.String(), "cancel run "+runA+"? [y/N]") || !strings.Contains(out.String(), "cancelled") {
		t.Errorf("exit %d, %d cancels, out %q, err %q", code, ft.cancels, out.String(), errb.String())
	}
}

func TestRollbackShowsAndAsks(t *testing.T) {
	ft := &fakeTrainer{}
	tr := httptest.NewServer(ft)
	defer tr.Close()
	_, errOut, code := ferry(t, tr.URL, "", "n\n", "rollback", "iris")
	if code != 1 || !strings.Contains(errOut, "iris@production: "+runB+" -> "+runA) || !strings.Contains(errOut, "not rolled back") {
		t.Errorf("declined: exit %d, %q", code, errOut)
	}
	for _, r := range ft.asked() {
		if strings.HasPrefix(r, "PUT") {
			t.Errorf("declined rollback moved the alias: %s", r)
		}
	}
	out, errOut, code := ferry(t, tr.URL, "", "", "rollback", "iris", "--yes")
	if code != 0 || !strings.Contains(out, "-> "+runA) {
		t.Errorf("--yes: exit %d, %q %q", code, out, errOut)
	}
}

func TestPredictCSV(t *testing.T) {
	var batches []int
	pr := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/model":
			fmt.Fprint(w, `{"name":"iris","version":"v1","features":["a","b"],"classes":["x","y"]}`)
		case "/predict":
			var req struct{ Instances [][]float64 }
			_ = json.NewDecoder(r.Body).Decode(&req)
			batches = append(batches, len(req.Instances))
			var preds []string
			for _, row := range req.Instances {
				label, px := "x", 0.75
				if row[0] > row[1] {
					label, px = "y", 0.25
				}
				preds = append(preds, fmt.Sprintf(`{"label":%q,"probabilities":{"x":%g,"y":%g}}`, label, px, 1-px))
			}
			fmt.Fprintf(w, `{"predictions":[%s]}`, strings.Join(preds, ","))
		}
	}))
	defer pr.Close()
	in := filepath.Join(t.TempDir(), "in.csv")
	// Columns in another order, and one the model does not know.
	if err := os.WriteFile(in, []byte("b,id,a\n2,r1,1\n1,r2,2\n5,r3,3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := ferry(t, "", pr.URL, "", "predict", "--model", "iris", "--batch", "2", in)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := "b,id,a,label,p_x,p_y\n2,r1,1,x,0.75,0.25\n1,r2,2,y,0.25,0.75\n5,r3,3,x,0.75,0.25\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	if fmt.Sprint(batches) != "[2 1]" {
		t.Errorf("batches %v, want [2 1]", batches)
	}
	if _, errOut, code := ferry(t, "", pr.URL, "", "predict", filepath.Join("testdata", "nope.csv")); code != 2 || !strings.Contains(errOut, "no such file") {
		t.Errorf("missing file: %d %q", code, errOut)
	}
}

// TestPredictRawCSV sends a table's cells as raw records: numbers, text
// (a code with a leading zero stays text), and null for an empty cell.
func TestPredictRawCSV(t *testing.T) {
	var got []string
	pr := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/model":
			fmt.Fprint(w, `{"name":"churn","version":"v1","features":["age","color","zip"],"classes":["no","yes"]}`)
		case "/predict":
			var req struct{ Instances []json.RawMessage }
			_ = json.NewDecoder(r.Body).Decode(&req)
			var preds []string
			for _, row := range req.Instances {
				got = append(got, string(row))
				preds = append(preds, `{"label":"no","probabilities":{"no":0.5,"yes":0.5}}`)
			}
			fmt.Fprintf(w, `{"predictions":[%s]}`, strings.Join(preds, ","))
		}
	}))
	defer pr.Close()
	in := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(in, []byte("id,age,color,zip\n1,31.5,red,007\n2,,,75001\n3,40,NA,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := ferry(t, "", pr.URL, "", "predict", "--model", "churn", in); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := `[31.5,"red","007"] [null,null,75001] [40,"NA",null]`
	if strings.Join(got, " ") != want {
		t.Errorf("sent %s, want %s", strings.Join(got, " "), want)
	}
}
