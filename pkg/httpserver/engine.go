// Package httpserver holds what both services' HTTP layers share: the gin
// engine with recovery, access logs and Prometheus metrics, the JSON error
// shape, the http.Server with its timeouts, and the healthcheck command.
package httpserver

import (
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/modelferry/modelferry/pkg/errcode"
	"github.com/modelferry/modelferry/pkg/modelstore/names"
)

// Options configures NewEngine.
type Options struct {
	Logger *slog.Logger
	// Registry receives <Namespace>_http_requests_total and
	// <Namespace>_http_request_duration_seconds.
	Registry  *prometheus.Registry
	Namespace string
	// Buckets of the latency histogram; nil means 100µs to 60s, for fast
	// predictions and slow trainings alike.
	Buckets []float64
}

// unmatched is the handler label of requests no route matched, so that
// random paths cannot grow the label set.
const unmatched = "unmatched"

// NewEngine returns a gin engine with recovery, metrics and access logging,
// the browser security headers, and JSON answers for unknown routes and
// methods.
func NewEngine(opts Options) *gin.Engine {
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	buckets := opts.Buckets
	if buckets == nil {
		buckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
	}
	f := promauto.With(opts.Registry)
	requests := f.NewCounterVec(prometheus.CounterOpts{
		Namespace: opts.Namespace, Name: "http_requests_total",
		Help: "HTTP requests answered, by route pattern, method and status code.",
	}, []string{"handler", "method", "code"})
	duration := f.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: opts.Namespace, Name: "http_request_duration_seconds",
		Help: "Time to answer HTTP requests, by route pattern and method.", Buckets: buckets,
	}, []string{"handler", "method"})

	logger := opts.Logger
	// Label lookups are cached per (route, method, status): the hot path
	// then costs one sync.Map read instead of two label hashes.
	var series sync.Map // seriesKey -> *seriesPair
	e.Use(func(c *gin.Context) {
		start := time.Now()
		c.Next()
		key := seriesKey{handler: c.FullPath(), method: c.Request.Method, code: c.Writer.Status()}
		if key.handler == "" {
			key.handler = unmatched
		}
		if !knownMethod(key.method) {
			key.method = "other"
		}
		elapsed := time.Since(start)
		v, ok := series.Load(key)
		if !ok {
			v, _ = series.LoadOrStore(key, &seriesPair{
				requests: requests.WithLabelValues(key.handler, key.method, strconv.Itoa(key.code)),
				duration: duration.WithLabelValues(key.handler, key.method),
			})
		}
		pair := v.(*seriesPair)
		pair.requests.Inc()
		pair.duration.Observe(elapsed.Seconds())
		if logger.Enabled(c.Request.Context(), slog.LevelDebug) {
			logger.DebugContext(c.Request.Context(), "request", "method", c.Request.Method, "path", c.Request.URL.Path,
				"status", c.Writer.Status(), "seconds", elapsed.Seconds(), "remote", c.ClientIP())
		}
	})
	e.Use(SecurityHeaders)
	e.Use(gin.CustomRecoveryWithWriter(nil, func(c *gin.Context, v any) {
		logger.ErrorContext(c.Request.Context(), "panic in handler", "path", c.Request.URL.Path, "panic", v)
		c.AbortWithStatusJSON(http.StatusInternalServerError, Body{Error: BodyError{Code: errcode.Internal, Message: "internal error"}})
	}))
	e.NoRoute(NoRoute(logger))
	e.NoMethod(NoMethod(logger))
	return e
}

// NoRoute is the engine's answer to a path no route matches, for a
// service that puts its own in front of it (e.NoRoute) for some paths.
func NoRoute(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		WriteError(c, logger, Errorf(http.StatusNotFound, errcode.NotFound, "no route %s %s", c.Request.Method, names.Clip(c.Request.URL.Path)))
	}
}

// NoMethod is the engine's answer to a method a route does not take.
func NoMethod(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		WriteError(c, logger, Errorf(http.StatusMethodNotAllowed, errcode.MethodNotAllowed, "method %s is not allowed on %s", c.Request.Method, names.Clip(c.Request.URL.Path)))
	}
}

type seriesKey struct {
	handler, method string
	code            int
}

type seriesPair struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

func knownMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// MetricsHandler serves reg in the Prometheus exposition format.
func MetricsHandler(reg *prometheus.Registry) gin.HandlerFunc {
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
	return gin.WrapH(h)
}
