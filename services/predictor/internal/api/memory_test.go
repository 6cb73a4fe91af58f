package api

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/services/predictor/internal/admission"
)

// newAPIConfig is newAPI with a loaded model and the configuration edited
// by edit.
func newAPIConfig(t testing.TB, edit func(*Config)) *gin.Engine {
	t.Helper()
	_, models := newAPI(t, true)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := httpserver.NewEngine(httpserver.Options{Logger: logger, Registry: prometheus.NewRegistry(), Namespace: "predictor"})
	cfg := Config{Logger: logger, Models: models, MaxBodyBytes: 8 << 20, MaxBatch: 10000}
	edit(&cfg)
	New(cfg).Register(e)
	return e
}

// hostileOIP is the body of issue 11: 4.19 M zeros for shape [1, 4],
// 8.4 MB.
func hostileOIP() []byte {
	return []byte(`{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP64","data":[` +
		strings.TrimSuffix(strings.Repeat("0,", 4194204), ",") + `]}]}`)
}

// TestOIPBodyIsNotAmplified is the regression test of the OIP memory
// amplification: one 8.4 MB body once took the predictor from 21 MB to
// 375 MB. Answering it now allocates the body and little else.
func TestOIPBodyIsNotAmplified(t *testing.T) {
	body := hostileOIP()
	e := newAPIConfig(t, func(c *Config) { c.MaxBodyBytes = 9 << 20 })
	serveOnce := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/v2/models/iris/infer", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		return w
	}
	serveOnce() // warm up the pools
	var w *httptest.ResponseRecorder
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	w = serveOnce()
	runtime.ReadMemStats(&after)
	if w.Code != 400 || !strings.Contains(w.Body.String(), "more than the 4 values") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	extra := int64(after.TotalAlloc-before.TotalAlloc) - int64(len(body))
	t.Logf("a %d-byte body allocated %d bytes beyond itself", len(body), extra)
	if extra > 2<<20 {
		t.Errorf("a %d-byte body allocated %d bytes beyond itself", len(body), extra)
	}
}

func TestLargeBodiesWaitTheirTurn(t *testing.T) {
	e := newAPIConfig(t, func(c *Config) { c.MaxBodyBytes = 1 << 20; c.Gate = admission.ForProcess(1 << 20) })
	// A large body being read holds the whole budget...
	pr, pw := io.Pipe()
	slow := httptest.NewRequest("POST", "/predict", pr)
	slow.ContentLength = 1 << 20
	done := make(chan *httptest.ResponseRecorder)
	go func() {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, slow)
		done <- w
	}()
	if _, err := pw.Write([]byte(`{"instances": [`)); err != nil {
		t.Fatal(err)
	}
	// ...so another large one waits, and small ones go through.
	if w := do(e, "POST", "/predict", "", seed); w.Code != 200 {
		t.Errorf("small request: %d %.200s", w.Code, w.Body)
	}
	big := `{"instances": [` + strings.TrimSuffix(strings.Repeat("[1,2,3,4],", 8000), ",") + `]}`
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, "POST", "/predict", strings.NewReader(big))
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "PREDICTOR_MAX_INFLIGHT_BYTES") || w.Header().Get("Retry-After") == "" {
		t.Errorf("large request while the budget is taken: %d %.200s", w.Code, w.Body)
	}
	// A body of unknown length counts once it is past the small size.
	chunked := func(body string, timeout time.Duration) *httptest.ResponseRecorder {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		req := httptest.NewRequestWithContext(ctx, "POST", "/predict", io.MultiReader(strings.NewReader(body)))
		req.ContentLength = -1
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		return w
	}
	if w := chunked(big, 50*time.Millisecond); w.Code != http.StatusServiceUnavailable {
		t.Errorf("large chunked request while the budget is taken: %d %.200s", w.Code, w.Body)
	}
	if w := chunked(seed, time.Minute); w.Code != 200 {
		t.Errorf("small chunked request: %d %s", w.Code, w.Body)
	}
	_ = pw.CloseWithError(io.ErrUnexpectedEOF)
	<-done
	// Once it is answered, the budget is free again.
	if w := do(e, "POST", "/predict", "", big); w.Code != 200 {
		t.Errorf("large request after: %d %.200s", w.Code, w.Body)
	}
	if w := chunked(big, time.Minute); w.Code != 200 {
		t.Errorf("large chunked request after: %d %.200s", w.Code, w.Body)
	}
}

// A body of unknown length may grow to PREDICTOR_MAX_BODY_BYTES, so once
// it counts it reserves all of it, not what it has read so far: with a
// budget of one such body, a second chunked body waits while the first is
// read, however little of it has come.
func TestChunkedBodiesReserveTheirBound(t *testing.T) {
	const limit = 1 << 20
	e := newAPIConfig(t, func(c *Config) {
		c.MaxBodyBytes = limit
		c.Gate = admission.New(limit, 4, 50*time.Millisecond, time.Second, nil)
	})
	pr, pw := io.Pipe()
	first := httptest.NewRequest("POST", "/predict", pr)
	first.ContentLength = -1
	done := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, first)
		done <- w
	}()
	// 256 KiB, a quarter of the bound: a write returns once the handler
	// has read it, and past 2×admission.Large it has taken its place.
	if _, err := pw.Write([]byte(`{"instances": [` + strings.Repeat(" ", 256<<10))); err != nil {
		t.Fatal(err)
	}
	big := `{"instances": [` + strings.TrimSuffix(strings.Repeat("[1,2,3,4],", 8000), ",") + `]}`
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	second := httptest.NewRequestWithContext(ctx, "POST", "/predict", io.MultiReader(strings.NewReader(big)))
	second.ContentLength = -1
	w := httptest.NewRecorder()
	e.ServeHTTP(w, second)
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "PREDICTOR_MAX_INFLIGHT_BYTES") {
		t.Errorf("a second chunked body beside one that may reach the whole budget: %d %.200s; want 503", w.Code, w.Body)
	}
	_ = pw.CloseWithError(io.ErrUnexpectedEOF)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the first request was not answered within 10s of its body failing")
	}
	// Its reservation is given back.
	w = httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequestWithContext(ctx, "POST", "/predict", io.MultiReader(strings.NewReader(big))))
	if w.Code != 200 {
		t.Errorf("a chunked body once the first is answered: %d %.200s", w.Code, w.Body)
	}
}
