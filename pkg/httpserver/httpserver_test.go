package httpserver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelferry/modelferry/pkg/errcode"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	m.Run()
}

func newTestEngine(t *testing.T) (*gin.Engine, *prometheus.Registry, *strings.Builder) {
	t.Helper()
	var logs strings.Builder
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	reg := prometheus.NewRegistry()
	e := NewEngine(Options{Logger: logger, Registry: reg, Namespace: "svc"})
	e.GET("/items/:id", func(c *gin.Context) {
		switch c.Param("id") {
		case "bad":
			WriteError(c, logger, Errorf(http.StatusBadRequest, errcode.InvalidArgument, "id: %q is not valid", "bad"))
		case "secret":
			WriteError(c, logger, errors.New("dial tcp 10.0.0.1:9000: connection refused"))
		case "panic":
			panic("boom")
		default:
			c.JSON(http.StatusOK, gin.H{"id": c.Param("id")})
		}
	})
	return e, reg, &logs
}

func TestErrorShapeAndStatus(t *testing.T) {
	e, reg, logs := newTestEngine(t)
	for _, tc := range []struct {
		method, path string
		status       int
		code, msg    string
	}{
		{"GET", "/items/bad", 400, errcode.InvalidArgument, `id: "bad" is not valid`},
		{"GET", "/items/secret", 500, errcode.Internal, "internal error"},
		{"GET", "/items/panic", 500, errcode.Internal, "internal error"},
		{"GET", "/nowhere", 404, errcode.NotFound, "no route GET /nowhere"},
		{"DELETE", "/items/1", 405, errcode.MethodNotAllowed, "method DELETE is not allowed on /items/1"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			w := httptest.NewRecorder()
			e.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
			if w.Code != tc.status {
				t.Errorf("status %d, want %d", w.Code, tc.status)
			}
			var b Body
			if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
				t.Fatalf("body %q: %v", w.Body, err)
			}
			if b.Error.Code != tc.code || b.Error.Message != tc.msg {
				t.Errorf("error %+v, want %s %q", b.Error, tc.code, tc.msg)
			}
			if strings.Contains(w.Body.String(), "10.0.0.1") {
				t.Error("internal detail leaked to the client")
			}
		})
	}
	if !strings.Contains(logs.String(), "connection refused") || !strings.Contains(logs.String(), "boom") {
		t.Errorf("internal errors not logged: %s", logs)
	}
	if got := requestCount(t, reg, "/items/:id", "GET", "400"); got != 1 {
		t.Errorf("requests{handler=/items/:id,code=400} = %v, want 1", got)
	}
	if got := requestCount(t, reg, unmatched, "GET", "404"); got != 1 {
		t.Errorf("requests{handler=unmatched} = %v, want 1", got)
	}
}

func requestCount(t *testing.T, reg *prometheus.Registry, handler, method, code string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "svc_http_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["handler"] == handler && labels["method"] == method && labels["code"] == code {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no svc_http_requests_total{handler=%q,method=%q,code=%q}", handler, method, code)
	return 0
}

func TestHealthcheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	if err := Healthcheck(context.Background(), ":"+port); err != nil {
		t.Errorf("healthy server: %v", err)
	}
	srv.Close()
	if err := Healthcheck(context.Background(), ":"+port); err == nil {
		t.Error("stopped server reported healthy")
	}
	if err := Healthcheck(context.Background(), "nonsense"); err == nil {
		t.Error("bad address accepted")
	}
}

func TestJSONError(t *testing.T) {
	type inner struct {
		C float64 `json:"c"`
	}
	var v struct {
		Params inner `json:"params"`
		Tags   []string
	}
	decode := func(body string, limit int64) error {
		r := io.Reader(strings.NewReader(body))
		if limit > 0 {
			r = http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(r), limit)
		}
		dec := json.NewDecoder(r)
		dec.DisallowUnknownFields()
		return dec.Decode(&v)
	}
	for _, tc := range []struct {
		body   string
		limit  int64
		status int
		msg    string
	}{
		{`{"params": {"c": "x"}}`, 0, 400, "params.c: expected a number, got JSON string"},
		{`{"Tags": 5}`, 0, 400, "Tags: expected an array, got JSON number"},
		{`{"params": `, 0, 400, "malformed JSON: unexpected end of body"},
		{`{"params": }`, 0, 400, "malformed JSON at byte 12"},
		{`{"other": 1}`, 0, 400, `unknown field "other"`},
		{`{"params": {"c": 1}}`, 5, 413, "JSON body is larger than 5 bytes"},
	} {
		err := decode(tc.body, tc.limit)
		if err == nil {
			t.Fatalf("%s decoded", tc.body)
		}
		got := JSONError(err, "")
		if got.Status != tc.status || !strings.Contains(got.Message, tc.msg) || strings.Contains(got.Message, "Go ") {
			t.Errorf("%s: %d %q, want %d %q", tc.body, got.Status, got.Message, tc.status, tc.msg)
		}
	}
}

// TestLongPathsAreCut: a 404 or 405 quotes at most about 100 bytes of the
// path, on the trainer and the predictor alike.
func TestLongPathsAreCut(t *testing.T) {
	e, _, _ := newTestEngine(t)
	long := strings.Repeat("a", 1<<20)
	for _, tc := range []struct{ method, path, msg string }{
		{"GET", "/" + long, `no route GET "/` + long[:99] + `"… (1048577 bytes)`},
		{"DELETE", "/items/" + long, `method DELETE is not allowed on "/items/` + long[:93] + `"… (1048583 bytes)`},
	} {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
		var b Body
		if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil || b.Error.Message != tc.msg {
			t.Errorf("%s: %.300s", tc.method, w.Body)
		}
	}
}
