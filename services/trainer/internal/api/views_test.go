package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelferry/modelferry/pkg/artifact"
	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/services/trainer/internal/jobs"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

// sseEvent is one Server-Sent Event.
type sseEvent struct {
	name string
	data string
}

// readEvents reads events from an SSE stream onto a channel, closed at
// the end of the stream.
func readEvents(r io.Reader) <-chan sseEvent {
	out := make(chan sseEvent)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" {
					out <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "event:"):
				ev.name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "data:"):
				ev.data += strings.TrimSpace(strings.TrimPrefix(line, "data:"))
			}
		}
	}()
	return out
}

func nextEvent(t *testing.T, events <-chan sseEvent) (sseEvent, bool) {
	t.Helper()
	select {
	case ev, ok := <-events:
		return ev, ok
	case <-time.After(30 * time.Second):
		t.Fatal("no event within 30s")
		return sseEvent{}, false
	}
}

// serve runs the API on loopback behind the server's real timeouts.
func (e *env) serve(write time.Duration) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	srv := httpserver.NewServer(e.engine, slog.New(slog.NewTextHandler(io.Discard, nil)),
		httpserver.Timeouts{Read: time.Second, Write: write})
	go func() { _ = srv.Serve(ln) }()
	e.t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

func TestRunEvents(t *testing.T) {
	e := newEnv(t)
	// A stream outlives the server's write timeout, as a run does.
	base := e.serve(100 * time.Millisecond)
	release := e.block("/run.json") // held at publishing
	id := e.do("POST", "/train", "text/csv", bytes.NewReader(iris(t))).run(t).ID

	resp, err := http.Get(base + "/runs/" + id + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("%d %s", resp.StatusCode, ct)
	}
	events := readEvents(resp.Body)
	var ev progressEvent
	for ev.Stage != registry.StagePublishing {
		got, ok := nextEvent(t, events)
		if !ok || got.name != "progress" {
			t.Fatalf("got %+v before the run reached publishing", got)
		}
		if err := json.Unmarshal([]byte(got.data), &ev); err != nil {
			t.Fatal(err)
		}
	}
	if ev.Status != registry.StatusRunning || ev.Iteration < 1 || ev.Loss <= 0 || ev.GradNorm <= 0 {
		t.Errorf("progress at publishing: %+v", ev)
	}
	time.Sleep(300 * time.Millisecond) // past the write timeout
	release()
	var final sseEvent
	for {
		got, ok := nextEvent(t, events)
		if !ok {
			break
		}
		final = got
	}
	var run registry.Run
	if err := json.Unmarshal([]byte(final.data), &run); final.name != "run" || err != nil {
		t.Fatalf("last event %q: %v", final.name, err)
	}
	if run.ID != id || run.Status != registry.StatusSucceeded || run.Version == "" || len(run.History) != run.Iterations {
		t.Errorf("final record: %s, version %q, %d history points for %d iterations", run.Status, run.Version, len(run.History), run.Iterations)
	}

	t.Run("a finished run sends its record alone", func(t *testing.T) {
		resp, err := http.Get(base + "/runs/" + id + "/events")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if n := strings.Count(string(body), "event:"); n != 1 || !strings.HasPrefix(string(body), "event:run\n") {
			t.Errorf("%d events: %.200s", n, body)
		}
	})
	t.Run("unknown run", func(t *testing.T) {
		if resp := e.do("GET", "/runs/20200101T000000Z-00000000/events", "", nil); resp.code != 404 {
			t.Errorf("%d %s", resp.code, resp.body)
		}
	})
}

func TestHistoryInRecordsNotInListings(t *testing.T) {
	e := newEnv(t)
	run := e.do("POST", "/train?wait=true", "", nil).run(t)
	got := e.do("GET", "/runs/"+run.ID, "", nil).run(t)
	if len(got.History) == 0 || len(got.History) != got.Iterations || got.History[len(got.History)-1].Loss != *got.Objective {
		t.Errorf("%d points for %d iterations", len(got.History), got.Iterations)
	}
	if resp := e.do("GET", "/runs", "", nil); strings.Contains(string(resp.body), `"history"`) {
		t.Errorf("listing has histories: %.300s", resp.body)
	}
}

func TestArtifactDownload(t *testing.T) {
	e := newEnv(t)
	v := e.do("POST", "/train?wait=true", "", nil).run(t).Version
	path := "/models/iris/versions/" + v + "/artifact"
	resp := e.do("GET", path, "", nil)
	if resp.code != 200 || resp.header.Get("Content-Type") != "application/x-protobuf" {
		t.Fatalf("%d %s", resp.code, resp.header)
	}
	m, err := artifact.DecodeVersion(resp.body, "iris", v)
	if err != nil || len(m.FeatureNames) != 4 {
		t.Fatalf("downloaded artifact: %v", err)
	}
	alias, _, _ := e.store.GetAlias(context.Background(), "iris", "production")
	etag := resp.header.Get("ETag")
	if etag != `"`+alias.SHA256+`"` || modelstore.SHA256(resp.body) != alias.SHA256 {
		t.Errorf("ETag %s, alias sha256 %s", etag, alias.SHA256)
	}
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		if r := e.do("GET", path, "", nil, "If-None-Match", inm); r.code != 304 || len(r.body) != 0 {
			t.Errorf("If-None-Match %s: %d, %d bytes", inm, r.code, len(r.body))
		}
	}
	if r := e.do("GET", path, "", nil, "If-None-Match", `"other"`); r.code != 200 {
		t.Errorf("stale ETag: %d", r.code)
	}
	if r := e.do("GET", "/models/iris/versions/20200101T000000Z-00000000/artifact", "", nil); r.code != 404 {
		t.Errorf("unknown version: %d", r.code)
	}
	e.mem.Overwrite("models/iris/versions/"+v+"/model.pb", resp.body[:len(resp.body)-3])
	if r := e.do("GET", path, "", nil); r.code != 409 || r.apiError(t).Code != "integrity" {
		t.Errorf("corrupt artifact: %d %s", r.code, r.body)
	}
}

func TestDatasets(t *testing.T) {
	e := newEnv(t)
	run := e.do("POST", "/train?wait=true", "text/csv", bytes.NewReader(iris(t))).run(t)
	var list struct {
		Datasets []registry.DatasetView `json:"datasets"`
	}
	resp := e.do("GET", "/datasets", "", nil)
	if err := json.Unmarshal(resp.body, &list); err != nil || resp.code != 200 || len(list.Datasets) != 1 {
		t.Fatalf("%d %s", resp.code, resp.body)
	}
	d := list.Datasets[0]
	if d.SHA256 != run.Dataset.SHA256 || d.Rows != 150 || !slices.Equal(d.Runs, []string{run.ID}) || d.Bytes != int64(len(iris(t))) {
		t.Errorf("dataset %+v", d)
	}
	path := "/datasets/" + d.SHA256
	got := e.do("GET", path, "", nil)
	if got.code != 200 || !bytes.Equal(got.body, iris(t)) || got.header.Get("Content-Type") != "text/csv" ||
		got.header.Get("ETag") != `"`+d.SHA256+`"` {
		t.Errorf("download: %d %s, %d bytes", got.code, got.header, len(got.body))
	}
	if r := e.do("GET", path, "", nil, "If-None-Match", `"`+d.SHA256+`"`); r.code != 304 {
		t.Errorf("If-None-Match: %d", r.code)
	}
	for _, p := range []string{"/datasets/" + strings.Repeat("0", 64), "/datasets/iris.csv", "/datasets/..%2F..%2Fetc"} {
		if r := e.do("GET", p, "", nil); r.code != 404 {
			t.Errorf("%s: %d %s", p, r.code, r.body)
		}
	}
}

// TestReadTokenGuardsTheViews: with a read token, what the console reads
// needs it (or the write token); the API's description stays open.
func TestReadTokenGuardsTheViews(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *jobs.Config) { c.Token, c.ReadToken = "write", "read" })
	v := e.do("POST", "/train?wait=true", "", nil, "Authorization", "Bearer write").run(t).Version
	sum := modelstore.SHA256(iris(t))
	for _, path := range []string{"/datasets", "/datasets/" + sum, "/runs/" + v + "/events",
		"/models/iris/versions/" + v + "/artifact"} {
		for auth, want := range map[string]int{"": 401, "Bearer nope": 403, "Bearer read": 200, "Bearer write": 200} {
			var h []string
			if auth != "" {
				h = []string{"Authorization", auth}
			}
			if resp := e.do("GET", path, "", nil, h...); resp.code != want {
				t.Errorf("GET %s with %q: %d, want %d", path, auth, resp.code, want)
			}
		}
	}
	body := `{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}`
	if resp := e.do("POST", "/models/iris/versions/"+v+"/predict", "", strings.NewReader(body)); resp.code != 401 {
		t.Errorf("predict without the read token: %d", resp.code)
	}
	for _, path := range []string{"/openapi.json", "/docs/"} {
		if resp := e.do("GET", path, "", nil); resp.code != 200 {
			t.Errorf("%s: %d", path, resp.code)
		}
	}
}
