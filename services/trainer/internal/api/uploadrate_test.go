package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelferry/modelferry/services/trainer/internal/jobs"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

// TestTricklingUploadsFreeTheWorkerAndTheQueue: a CSV upload that stalls
// after its first rows (a Content-Length longer than the body), and a
// chunked one that never ends, are cut at the minimum rate: another
// model's run gets the worker, and both uploads answer 408.
func TestTricklingUploadsFreeTheWorkerAndTheQueue(t *testing.T) {
	const window = 400 * time.Millisecond
	e := newEnv(t, func(c *Config, _ *jobs.Config) {
		c.MinUploadRate = 1000
		c.UploadWindow = window
	})
	srv := httptest.NewServer(e.engine)
	defer srv.Close()
	head := "a,b,label\n" + strings.Repeat("1,2,x\n3,4,y\n", 20)

	type answer struct {
		code int
		body string
	}
	trickle := func(model string, length int64) (<-chan answer, *io.PipeWriter) {
		pr, pw := io.Pipe()
		req, err := http.NewRequest("POST", srv.URL+"/train?model="+model, pr)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "text/csv")
		req.ContentLength = length
		out := make(chan answer, 1)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				out <- answer{0, err.Error()}
				return
			}
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			out <- answer{resp.StatusCode, string(b)}
		}()
		go func() { _, _ = pw.Write([]byte(head)) }() // then nothing more
		return out, pw
	}
	stalled, w1 := trickle("stalled", 1<<20) // streamed: its run takes the worker
	defer w1.Close()
	unended, w2 := trickle("unended", -1) // chunked: spooled before it is queued
	defer w2.Close()
	// The stalled upload's run holds the worker before iris asks.
	for deadline := time.Now().Add(5 * time.Second); ; {
		var page struct{ Runs []registry.Run }
		resp := e.do("GET", "/runs?model=stalled", "", nil)
		_ = json.Unmarshal(resp.body, &page)
		if len(page.Runs) == 1 && page.Runs[0].Status == registry.StatusRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stalled upload's run never ran: %s", resp.body)
		}
		time.Sleep(10 * time.Millisecond)
	}

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 20*window)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/train?model=iris&wait=true", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("iris still waits behind the stalled upload after %v: %v", time.Since(start), err)
	}
	_ = resp.Body.Close()
	t.Logf("iris waited %v behind a stalled upload (window %v)", time.Since(start), window)
	if resp.StatusCode != 200 {
		t.Errorf("iris: %d", resp.StatusCode)
	}
	for name, ch := range map[string]<-chan answer{"stalled": stalled, "unended": unended} {
		select {
		case a := <-ch:
			if a.code != http.StatusRequestTimeout || !strings.Contains(a.body, "TRAINER_MIN_UPLOAD_RATE") {
				t.Errorf("%s upload: %d %s", name, a.code, a.body)
			}
		case <-time.After(20 * window):
			t.Errorf("%s upload: no answer", name)
		}
	}
	if run := e.do("GET", "/runs?model=stalled", "", nil); !strings.Contains(string(run.body), `"status":"failed"`) {
		t.Errorf("the stalled run: %s", run.body)
	}
}
