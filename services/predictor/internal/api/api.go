// Package api is the predictor's HTTP API: seed-compatible and batch
// POST /predict, GET /model, the Open Inference Protocol v2 REST endpoints,
// and the OpenAPI document with an offline Swagger UI.
package api

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/services/predictor/internal/monitor"
	"github.com/modelferry/modelferry/services/predictor/internal/serving"
)

// Models gives the model to serve; nil means none is loaded yet.
type Models interface {
	Current() *serving.Model
	// Waiting says why no model is served yet.
	Waiting() string
}

// Config configures the API.
type Config struct {
	Logger *slog.Logger
	Models Models
	// Model and Alias are what the predictor follows, for messages.
	Model string
	Alias string
	// MaxBodyBytes bounds request bodies; MaxBatch bounds rows per request.
	MaxBodyBytes int64
	MaxBatch     int
	// MaxInflightBytes bounds the bytes of large bodies (over 64 KiB)
	// read at once; 0 means 4 × MaxBodyBytes.
	MaxInflightBytes int64
	// Token, when set, is required as a bearer token on predictions and
	// model details.
	Token string
	// Tap, when set, sees every answered prediction (payload sampling,
	// shadow scoring).
	Tap *monitor.Tap
	// ShadowAlias names the alias scored in the shadow, for /model.
	ShadowAlias string
	// Ready reports readiness beyond having a model (false while shutting
	// down).
	Ready func() bool
}

// API serves the predictor's endpoints.
type API struct {
	cfg  Config
	log  *slog.Logger
	gate *bodyGate
	pool sync.Pool // *state
	// jsonCT is the Content-Type header value shared by every /predict
	// answer; nothing appends to it.
	jsonCT []string
}

// state is per-request memory, pooled.
type state struct {
	body    []byte
	sc      serving.Scratch
	p       []float64
	classes []int
	out     []byte
}

// grow sizes p and classes for rows of k classes.
func (st *state) grow(rows, k int) {
	if cap(st.p) < rows*k {
		st.p = make([]float64, rows*k)
	}
	st.p = st.p[:rows*k]
	if cap(st.classes) < rows {
		st.classes = make([]int, rows)
	}
	st.classes = st.classes[:rows]
}

// maxPooled keeps one huge request from pinning its buffers in the pool.
const maxPooled = 1 << 20

// A large request waits at most gateWait for room before it is answered
// 503; a second without large requests after a burst, the memory it took
// goes back to the operating system.
const (
	gateWait = 10 * time.Second
	gateIdle = time.Second
)

// New returns the API.
func New(cfg Config) *API {
	if cfg.MaxInflightBytes <= 0 {
		cfg.MaxInflightBytes = 4 * cfg.MaxBodyBytes
	}
	a := &API{cfg: cfg, log: cfg.Logger, jsonCT: []string{"application/json"},
		gate: newBodyGate(cfg.MaxInflightBytes, max(1, runtime.GOMAXPROCS(0)/2), gateWait, gateIdle, debug.FreeOSMemory)}
	a.pool.New = func() any { return &state{body: make([]byte, 0, 4096), out: make([]byte, 0, 1024)} }
	return a
}

// Register adds the routes to e.
func (a *API) Register(e *gin.Engine) {
	// Health and readiness stay open for probes; predictions and model
	// details take PREDICTOR_TOKEN when it is set.
	auth := httpserver.BearerAuth(a.log, "modelferry-predictor", a.cfg.Token)
	e.POST("/predict", auth, a.predict)
	e.GET("/model", auth, a.model)
	e.GET("/v2", a.oipServer)
	e.GET("/v2/health/live", a.oipLive)
	e.GET("/v2/health/ready", a.oipReady)
	e.GET("/v2/models/:name", auth, a.oipMetadata)
	e.GET("/v2/models/:name/ready", a.oipModelReady)
	e.POST("/v2/models/:name/infer", auth, a.oipInfer)
	e.GET("/v2/models/:name/versions/:version", auth, a.oipMetadata)
	e.GET("/v2/models/:name/versions/:version/ready", a.oipModelReady)
	e.POST("/v2/models/:name/versions/:version/infer", auth, a.oipInfer)
	e.GET("/openapi.json", serveOpenAPI)
	e.GET("/docs", func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, "/docs/") })
	e.GET("/docs/*file", docsHandler())
}

func (a *API) fail(c *gin.Context, err error) { httpserver.WriteError(c, a.log, err) }

func (a *API) noModel() *httpserver.Error {
	return httpserver.Errorf(http.StatusServiceUnavailable, httpserver.CodeUnavailable,
		"no model loaded yet: %s", a.cfg.Models.Waiting())
}

// jsonContentType accepts a missing type (curl's habit) and
// application/json with parameters.
func jsonContentType(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, _ := strings.Cut(ct, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/json")
}

func unsupported(ct string) *httpserver.Error {
	return httpserver.Errorf(http.StatusUnsupportedMediaType, httpserver.CodeUnsupportedMediaType,
		"content type %q is not supported: send Content-Type: application/json", ct)
}

func (a *API) tooLarge() *httpserver.Error {
	return httpserver.Errorf(http.StatusRequestEntityTooLarge, httpserver.CodeTooLarge,
		"body is larger than %d bytes (PREDICTOR_MAX_BODY_BYTES)", a.cfg.MaxBodyBytes)
}

// readBody reads the request body into buf, up to MaxBodyBytes. A body
// over largeBody bytes first takes its size from the in-flight budget (the
// whole limit when its length is unknown), which release gives back once
// the answer is written.
func (a *API) readBody(c *gin.Context, buf []byte) (_ []byte, release func(), err error) {
	r := c.Request
	release = func() {}
	if r.ContentLength > a.cfg.MaxBodyBytes {
		return buf, release, a.tooLarge()
	}
	admit := func(n int64) error {
		rel, err := a.gate.acquire(r.Context(), n)
		if err != nil {
			c.Header("Retry-After", "1")
			return httpserver.Errorf(http.StatusServiceUnavailable, httpserver.CodeResourceExhausted,
				"too many large requests are being read at once (PREDICTOR_MAX_INFLIGHT_BYTES); retry")
		}
		release = rel
		return nil
	}
	buf = buf[:0]
	if n := r.ContentLength; n >= 0 {
		if n >= largeBody {
			if err := admit(n); err != nil {
				return buf, release, err
			}
		}
		// The server stops the body at its declared length.
		if int64(cap(buf)) < n {
			buf = make([]byte, 0, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			return buf, release, readError(err)
		}
		return buf, release, nil
	}
	gated := false
	for {
		if len(buf) == cap(buf) {
			if !gated && len(buf) >= largeBody {
				if err := admit(a.cfg.MaxBodyBytes); err != nil {
					return buf, release, err
				}
				gated = true
			}
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > a.cfg.MaxBodyBytes {
			return buf, release, a.tooLarge()
		}
		if errors.Is(err, io.EOF) {
			return buf, release, nil
		}
		if err != nil {
			return buf, release, readError(err)
		}
	}
}

func readError(err error) error {
	return &httpserver.Error{Status: http.StatusBadRequest, Code: httpserver.CodeInvalidArgument, Message: "reading the body failed", Cause: err}
}

func (a *API) predict(c *gin.Context) {
	m := a.cfg.Models.Current()
	if m == nil {
		a.fail(c, a.noModel())
		return
	}
	if ct := c.Request.Header.Get("Content-Type"); !jsonContentType(ct) {
		a.fail(c, unsupported(ct))
		return
	}
	st := a.pool.Get().(*state)
	defer a.release(st)
	body, release, err := a.readBody(c, st.body)
	st.body = body
	defer release()
	if err != nil {
		a.fail(c, err)
		return
	}
	req, err := m.DecodePredict(st.body, a.cfg.MaxBatch, &st.sc)
	if err != nil {
		a.fail(c, inputError(err))
		return
	}
	if cap(st.p) < m.NumClasses() {
		st.p = make([]float64, m.NumClasses())
	}
	p := st.p[:m.NumClasses()]
	out := st.out[:0]
	if req.Batch {
		out, err = m.AppendBatch(out, req.X, req.Rows, p)
	} else {
		var k int
		if k, err = m.Predict(req.X, p); err == nil {
			out = m.AppendSingle(out, k, p)
		}
	}
	st.out = out
	if err != nil {
		a.fail(c, inputError(err))
		return
	}
	// Written directly: gin's c.Data allocates the header value each time.
	c.Writer.Header()["Content-Type"] = a.jsonCT
	c.Writer.WriteHeader(http.StatusOK)
	_, _ = c.Writer.Write(out)
	a.cfg.Tap.Answered(m.Name, m.Version, m, req.X[:req.Rows*m.NumFeatures()], m.NumFeatures(), m.NumClasses(), st.body, out)
}

func (a *API) release(st *state) {
	if cap(st.body) <= maxPooled && cap(st.out) <= maxPooled && cap(st.sc.X) <= maxPooled/8 &&
		cap(st.p) <= maxPooled/8 && cap(st.classes) <= maxPooled/8 {
		a.pool.Put(st)
	}
}

func inputError(err error) error {
	var ie *serving.InputError
	if errors.As(err, &ie) {
		if ie.TooLarge {
			return httpserver.Errorf(http.StatusRequestEntityTooLarge, httpserver.CodeTooLarge, "%s", ie.Error())
		}
		return httpserver.Errorf(http.StatusBadRequest, httpserver.CodeInvalidArgument, "%s", ie.Error())
	}
	return err
}

type modelMetrics struct {
	MetricsOn string  `json:"metrics_on"`
	Rows      uint64  `json:"rows"`
	Accuracy  float64 `json:"accuracy"`
	LogLoss   float64 `json:"log_loss"`
	MacroF1   float64 `json:"macro_f1"`
}

type modelInfo struct {
	Name           string        `json:"name"`
	Version        string        `json:"version"`
	SHA256         string        `json:"sha256"`
	Alias          string        `json:"alias"`
	Features       []string      `json:"features"`
	Classes        []string      `json:"classes"`
	Metrics        *modelMetrics `json:"metrics,omitempty"`
	Params         any           `json:"params,omitempty"`
	Dataset        any           `json:"dataset,omitempty"`
	RunID          string        `json:"run_id,omitempty"`
	TrainerVersion string        `json:"trainer_version,omitempty"`
	CreatedAt      *time.Time    `json:"created_at,omitempty"`
	LoadedAt       time.Time     `json:"loaded_at"`
	// Monitored says whether drift is watched: versions made before
	// training baselines existed are not.
	Monitored bool        `json:"monitored"`
	Shadow    *shadowInfo `json:"shadow,omitempty"`
}

// shadowInfo is how the shadow version compares with the served one.
type shadowInfo struct {
	Alias     string   `json:"alias"`
	Version   string   `json:"version"`
	Rows      uint64   `json:"rows"`
	Agreement *float64 `json:"agreement,omitempty"`
	// MeanAbsProbDiff is the mean absolute difference of the class
	// probabilities per row.
	MeanAbsProbDiff *float64 `json:"mean_abs_prob_diff,omitempty"`
}

func (a *API) model(c *gin.Context) {
	m := a.cfg.Models.Current()
	if m == nil {
		a.fail(c, a.noModel())
		return
	}
	info := modelInfo{
		Name: m.Name, Version: m.Version, SHA256: m.SHA256, Alias: a.cfg.Alias,
		Features: m.Features, Classes: m.Classes, RunID: m.Meta.RunId,
		TrainerVersion: m.Meta.TrainerVersion, LoadedAt: m.LoadedAt,
	}
	if mt := m.Meta.Metrics; mt != nil {
		info.Metrics = &modelMetrics{MetricsOn: mt.MetricsOn, Rows: mt.Rows, Accuracy: mt.Accuracy, LogLoss: mt.LogLoss, MacroF1: mt.MacroF1}
	}
	if p := m.Meta.Params; p != nil {
		info.Params = gin.H{"c": p.C, "max_iter": p.MaxIter, "tol": p.Tol, "test_fraction": p.TestFraction,
			"seed": p.Seed, "standardize": p.Standardize, "label": p.Label}
	}
	if d := m.Meta.Dataset; d != nil {
		info.Dataset = gin.H{"uri": d.Uri, "sha256": d.Sha256, "rows": d.Rows}
	}
	if t := m.Meta.CreatedAt; t != nil {
		ct := t.AsTime()
		info.CreatedAt = &ct
	}
	info.Monitored = m.Drift() != nil
	if t := a.cfg.Tap; t != nil && t.Shadow != nil {
		info.Shadow = &shadowInfo{Alias: a.cfg.ShadowAlias}
		if _, v, ok := t.ShadowOf(m.Name); ok {
			info.Shadow.Version = v
		}
		if st, ok := t.Shadow.Stats(m.Name); ok && st.Version == m.Version && st.ShadowVersion == info.Shadow.Version && st.Rows > 0 {
			agreement, diff := st.Agreement(), st.AbsDiffSum/float64(st.Rows)
			info.Shadow.Rows, info.Shadow.Agreement, info.Shadow.MeanAbsProbDiff = st.Rows, &agreement, &diff
		}
	}
	c.JSON(http.StatusOK, info)
}
