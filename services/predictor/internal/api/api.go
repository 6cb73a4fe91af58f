// Package api is the predictor's HTTP API for every served model:
// seed-compatible and batch POST /predict, KServe V1 predict, GET /models
// and /model, the Open Inference Protocol v2 REST endpoints with the
// repository index, and an OpenAPI document generated from the loaded
// models with an offline Swagger UI.
package api

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/errcode"
	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/pkg/serving"
	"github.com/modelferry/modelferry/services/predictor/internal/admission"
	"github.com/modelferry/modelferry/services/predictor/internal/catalog"
	"github.com/modelferry/modelferry/services/predictor/internal/monitor"
	"github.com/modelferry/modelferry/services/predictor/internal/usage"
)

// Models are the served models.
type Models interface {
	// Lookup returns the loaded version of the model named name ("" for
	// the default); its errors wrap catalog.ErrNotServed or
	// catalog.ErrNotLoaded and say why.
	Lookup(name string) (*serving.Model, error)
	// List returns every served model, in order.
	List() []catalog.Status
	// Default is the model a request that names none gets.
	Default() string
}

// Config configures the API.
type Config struct {
	Logger *slog.Logger
	Models Models
	// Counters count requests per model; nil counts nothing.
	Counters *usage.Counters
	// Version is the server's version, in GET /v2.
	Version string
	// MaxBodyBytes bounds request bodies; MaxBatch bounds rows per request.
	MaxBodyBytes int64
	MaxBatch     int
	// Gate admits large bodies; nil means one of 4 × MaxBodyBytes.
	Gate *admission.Gate
	// Token, when set, is required as a bearer token on predictions and
	// model details, and on the OpenAPI document (which names the models,
	// features and classes) unless PublicDocs.
	Token      string
	PublicDocs bool
	// Tap, when set, sees every answered prediction (payload sampling,
	// shadow scoring).
	Tap *monitor.Tap
	// ShadowAlias names the alias scored in the shadow, for /model.
	ShadowAlias string
	// Ready reports whether the predictor is ready: its models loaded,
	// not shutting down.
	Ready func() bool
}

// API serves the predictor's endpoints.
type API struct {
	cfg  Config
	log  *slog.Logger
	gate *admission.Gate
	pool sync.Pool // *state
	// jsonCT is the Content-Type header value shared by every /predict
	// answer; nothing appends to it.
	jsonCT []string
}

// state is per-request memory, pooled.
type state struct {
	body []byte
	sc   serving.Scratch
	p    []float64 // one row's probabilities, for /predict
	ans  serving.Answers
	out  []byte
}

// maxPooled keeps one huge request from pinning its buffers in the pool.
const maxPooled = 1 << 20

// New returns the API.
func New(cfg Config) *API {
	if cfg.Gate == nil {
		cfg.Gate = admission.ForProcess(4 * cfg.MaxBodyBytes)
	}
	a := &API{cfg: cfg, log: cfg.Logger, jsonCT: []string{"application/json"}, gate: cfg.Gate}
	a.pool.New = func() any { return &state{body: make([]byte, 0, 4096), out: make([]byte, 0, 1024)} }
	return a
}

// Register adds the routes to e.
func (a *API) Register(e *gin.Engine) {
	// Health and readiness stay open for probes; predictions and model
	// details take PREDICTOR_TOKEN when it is set.
	auth := httpserver.BearerAuth(a.log, "modelferry-predictor", a.cfg.Token)
	e.POST("/predict", auth, a.predict)
	e.POST("/v1/models/:nameverb", auth, a.v1Predict)
	e.GET("/models", auth, a.models)
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
	e.POST("/v2/repository/index", auth, a.oipRepositoryIndex)
	docsAuth := auth
	if a.cfg.PublicDocs {
		docsAuth = func(*gin.Context) {}
	}
	e.GET("/openapi.json", docsAuth, a.serveOpenAPI)
	e.GET("/docs", func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, "/docs/") })
	e.GET("/docs/*file", docsHandler())
	e.NoRoute(a.notFound)
	e.NoMethod(a.notAllowed)
}

func (a *API) fail(c *gin.Context, err error) { httpserver.WriteError(c, a.log, err) }

// lookupError is the answer to a model that cannot serve: 404 for one
// not served, 503 for one not loaded yet.
func lookupError(err error) *httpserver.Error {
	if errors.Is(err, catalog.ErrNotServed) {
		return httpserver.Errorf(http.StatusNotFound, errcode.NotFound, "%s", strings.TrimPrefix(err.Error(), catalog.ErrNotServed.Error()+": "))
	}
	return httpserver.Errorf(http.StatusServiceUnavailable, errcode.Unavailable, "no model loaded yet: %s",
		strings.TrimPrefix(err.Error(), catalog.ErrNotLoaded.Error()+": "))
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
	return httpserver.Errorf(http.StatusUnsupportedMediaType, errcode.UnsupportedMediaType,
		"content type %q is not supported: send Content-Type: application/json", ct)
}

func (a *API) tooLarge() *httpserver.Error {
	return httpserver.Errorf(http.StatusRequestEntityTooLarge, errcode.TooLarge,
		"body is larger than %d bytes (PREDICTOR_MAX_BODY_BYTES)", a.cfg.MaxBodyBytes)
}

// readBody reads the request body into buf, up to MaxBodyBytes; its errors
// are answers to write as they are. A body of admission.Large bytes or more
// first takes its size from the in-flight budget (the whole limit when its
// length is unknown, the rest given back once it has arrived), and once it
// has arrived, one of the gate's slots: a client sending slowly never
// holds a slot. release gives both back once the answer is written.
func (a *API) readBody(c *gin.Context, buf []byte) (_ []byte, release func(), err *httpserver.Error) {
	r := c.Request
	release = func() {}
	if r.ContentLength > a.cfg.MaxBodyBytes {
		return buf, release, a.tooLarge()
	}
	busy := func() *httpserver.Error {
		c.Header("Retry-After", "1")
		return httpserver.Errorf(http.StatusServiceUnavailable, errcode.ResourceExhausted,
			"too many large requests are being read at once (PREDICTOR_MAX_INFLIGHT_BYTES); retry")
	}
	var hold *admission.Hold
	reserve := func(n int64) *httpserver.Error {
		h, err := a.gate.Reserve(r.Context(), n)
		if err != nil {
			return busy()
		}
		hold, release = h, h.Release
		return nil
	}
	// arrived takes a slot for a large body, read whole.
	arrived := func() *httpserver.Error {
		if hold == nil {
			return nil
		}
		hold.Shrink(int64(len(buf)))
		if err := hold.Slot(r.Context()); err != nil {
			return busy()
		}
		return nil
	}
	buf = buf[:0]
	if n := r.ContentLength; n >= 0 {
		if n >= admission.Large {
			if err := reserve(n); err != nil {
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
		return buf, release, arrived()
	}
	for {
		if len(buf) == cap(buf) {
			if hold == nil && len(buf) >= admission.Large {
				if err := reserve(a.cfg.MaxBodyBytes); err != nil {
					return buf, release, err
				}
			}
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > a.cfg.MaxBodyBytes {
			return buf, release, a.tooLarge()
		}
		if errors.Is(err, io.EOF) {
			return buf, release, arrived()
		}
		if err != nil {
			return buf, release, readError(err)
		}
	}
}

func readError(err error) *httpserver.Error {
	return &httpserver.Error{Status: http.StatusBadRequest, Code: errcode.InvalidArgument, Message: "reading the body failed", Cause: err}
}
