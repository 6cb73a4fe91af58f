package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelferry/modelferry/pkg/errcode"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

// halfThen is a request body that gives its first half, then waits for
// rest and gives the rest, or fails with err if err is set.
type halfThen struct {
	data []byte
	sent int
	rest chan struct{}
	err  error
}

func (h *halfThen) Read(p []byte) (int, error) {
	if h.sent == len(h.data)/2 {
		<-h.rest
		if h.err != nil {
			return 0, h.err
		}
	}
	end := len(h.data)
	if h.sent < len(h.data)/2 {
		end = len(h.data) / 2
	}
	n := copy(p, h.data[h.sent:end])
	h.sent += n
	if h.sent == len(h.data) {
		return n, io.EOF
	}
	return n, nil
}

// postHalf posts body, of known length, whose second half waits for
// rest; it returns the response once the handler answers.
func (e *env) postHalf(target string, body *halfThen) <-chan response {
	req := httptest.NewRequest("POST", target, body)
	req.ContentLength = int64(len(body.data))
	req.Header.Set("Content-Type", "text/csv")
	out := make(chan response, 1)
	go func() {
		w := httptest.NewRecorder()
		e.engine.ServeHTTP(w, req)
		out <- response{code: w.Code, header: w.Header(), body: w.Body.Bytes()}
	}()
	return out
}

// onlyRun waits until the trainer lists exactly one run and cond holds
// for it.
func (e *env) onlyRun(t *testing.T, cond func(registry.Run) bool) registry.Run {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var page struct{ Runs []registry.Run }
		resp := e.do("GET", "/runs", "", nil)
		if err := json.Unmarshal(resp.body, &page); err != nil {
			t.Fatalf("GET /runs: %d %s", resp.code, resp.body)
		}
		if len(page.Runs) == 1 && cond(page.Runs[0]) {
			return page.Runs[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs %+v: condition not met within 30s", page.Runs)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// A CSV body of known length is loaded as it arrives: the run reads the
// first half while the second is still on its way.
func TestUploadIsLoadedAsItArrives(t *testing.T) {
	e := newEnv(t)
	body := &halfThen{data: iris(t), rest: make(chan struct{})}
	answer := e.postHalf("/train?wait=true", body)
	run := e.onlyRun(t, func(r registry.Run) bool {
		return r.Progress != nil && r.Progress.Stage == registry.StageLoading && r.Progress.BytesRead > 0
	})
	if p := run.Progress; p.BytesRead > int64(len(body.data)/2) || p.BytesTotal != int64(len(body.data)) {
		t.Errorf("half uploaded, progress %+v of %d bytes", p, len(body.data))
	}
	close(body.rest)
	resp := <-answer
	done := resp.run(t)
	if resp.code != http.StatusOK || done.Status != registry.StatusSucceeded || done.Dataset.Rows != 150 ||
		done.Dataset.Bytes != int64(len(body.data)) {
		t.Fatalf("%d: %s", resp.code, resp.body)
	}
	// The same bytes as a spooled upload: the same dataset.
	again := e.do("POST", "/train?wait=true", "text/csv", bytes.NewReader(body.data))
	if r := again.run(t); r.Dataset.SHA256 != done.Dataset.SHA256 || r.Dataset.URI != done.Dataset.URI {
		t.Errorf("dataset %+v, then %+v", done.Dataset, r.Dataset)
	}
}

// An upload that breaks off fails the request and the run already
// reading it, with the same reason.
func TestBrokenUploadFailsItsRun(t *testing.T) {
	e := newEnv(t)
	body := &halfThen{data: iris(t), rest: make(chan struct{}), err: errors.New("connection reset by peer")}
	answer := e.postHalf("/train?wait=true", body)
	e.onlyRun(t, func(r registry.Run) bool { return r.Progress != nil && r.Progress.BytesRead > 0 })
	close(body.rest)
	resp := <-answer
	if resp.code != http.StatusBadRequest || !strings.Contains(resp.apiError(t).Message, "reading the upload failed") {
		t.Fatalf("%d %s", resp.code, resp.body)
	}
	run := e.onlyRun(t, func(r registry.Run) bool { return r.Status.Terminal() })
	if run.Status != registry.StatusFailed || run.Error == nil || run.Error.Code != errcode.InvalidArgument ||
		!strings.Contains(run.Error.Message, "the upload did not arrive whole") || run.Version != "" {
		t.Errorf("run %s, error %+v, version %q", run.Status, run.Error, run.Version)
	}
}

// A body announced larger than the limit is refused before any run is
// queued.
func TestUploadOverLimitQueuesNothing(t *testing.T) {
	e := newEnv(t)
	req := httptest.NewRequest("POST", "/train", strings.NewReader("a,b\n1,x\n"))
	req.ContentLength = 2 << 20
	req.Header.Set("Content-Type", "text/csv")
	w := httptest.NewRecorder()
	e.engine.ServeHTTP(w, req)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	var page struct{ Runs []registry.Run }
	if resp := e.do("GET", "/runs", "", nil); json.Unmarshal(resp.body, &page) != nil || len(page.Runs) != 0 {
		t.Errorf("runs after a refused upload: %s", resp.body)
	}
}

// The dataset goes to the bucket while the fit runs, and the version is
// published only once it is there.
func TestDatasetIsStoredWhileTheFitRuns(t *testing.T) {
	e := newEnv(t)
	release := e.block(".csv") // datasets/<sha256>.csv
	resp := e.do("POST", "/train", "text/csv", bytes.NewReader(iris(t)))
	if resp.code != http.StatusAccepted {
		t.Fatalf("%d %s", resp.code, resp.body)
	}
	id := resp.run(t).ID
	run := waitRun(t, e, id, func(r registry.Run) bool {
		return r.Progress != nil && r.Progress.Stage == registry.StagePublishing
	})
	if run.Iterations == 0 || run.Metrics == nil || run.Version != "" || run.Dataset.URI != "" {
		t.Errorf("dataset held: %d iterations, metrics %v, version %q, dataset %q",
			run.Iterations, run.Metrics, run.Version, run.Dataset.URI)
	}
	release()
	done := waitRun(t, e, id, func(r registry.Run) bool { return r.Status.Terminal() })
	if done.Status != registry.StatusSucceeded || done.Dataset.URI != "s3://modelferry/datasets/"+done.Dataset.SHA256+".csv" {
		t.Errorf("run %s, dataset %+v", done.Status, done.Dataset)
	}
	v := e.do("GET", "/models/iris/versions/"+done.Version, "", nil)
	if v.code != http.StatusOK || !strings.Contains(string(v.body), done.Dataset.URI) {
		t.Errorf("version %d %s", v.code, v.body)
	}
}
