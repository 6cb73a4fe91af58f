// Package usage counts inference requests per served model and protocol,
// as Triton's nv_inference_request_success and _failure do: requests,
// successes, failures by reason, and rows answered.
package usage

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Protocol is how a request came.
type Protocol int

// The protocols of the predictor.
const (
	Predict  Protocol = iota // POST /predict
	KServeV1                 // POST /v1/models/{name}:predict
	OIPREST                  // POST /v2/models/{name}/infer
	OIPGRPC                  // inference.GRPCInferenceService/ModelInfer
	numProtocols
)

var protocolNames = [numProtocols]string{"predict", "kserve_v1", "oip_rest", "oip_grpc"}

func (p Protocol) String() string { return protocolNames[p] }

// Counters are the families, made once per registry.
type Counters struct {
	requests, success, rows *prometheus.CounterVec
	failure                 *prometheus.CounterVec

	mu     sync.Mutex
	models sync.Map // model -> *model
}

type model struct {
	requests, success, rows [numProtocols]prometheus.Counter
}

// New registers the counters on reg.
func New(reg prometheus.Registerer) *Counters {
	f := promauto.With(reg)
	labels := []string{"model", "protocol"}
	return &Counters{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "predictor_inference_requests_total", Help: "Inference requests to a served model, by protocol (predict, kserve_v1, oip_rest, oip_grpc).",
		}, labels),
		success: f.NewCounterVec(prometheus.CounterOpts{
			Name: "predictor_inference_request_success_total", Help: "Inference requests to a served model that were answered.",
		}, labels),
		failure: f.NewCounterVec(prometheus.CounterOpts{
			Name: "predictor_inference_request_failure_total", Help: "Inference requests to a served model that failed, by reason (the error code).",
		}, []string{"model", "protocol", "reason"}),
		rows: f.NewCounterVec(prometheus.CounterOpts{
			Name: "predictor_inference_rows_total", Help: "Rows answered by a served model.",
		}, labels),
	}
}

func (c *Counters) model(name string) *model {
	if m, ok := c.models.Load(name); ok {
		return m.(*model)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if m, ok := c.models.Load(name); ok {
		return m.(*model)
	}
	m := &model{}
	for p := range numProtocols {
		m.requests[p] = c.requests.WithLabelValues(name, protocolNames[p])
		m.success[p] = c.success.WithLabelValues(name, protocolNames[p])
		m.rows[p] = c.rows.WithLabelValues(name, protocolNames[p])
	}
	c.models.Store(name, m)
	return m
}

// Success counts an answered request of rows rows. A nil Counters counts
// nothing.
func (c *Counters) Success(name string, p Protocol, rows int) {
	if c == nil {
		return
	}
	m := c.model(name)
	m.requests[p].Inc()
	m.success[p].Inc()
	m.rows[p].Add(float64(rows))
}

// Failure counts a failed request; reason is a bounded error code.
func (c *Counters) Failure(name string, p Protocol, reason string) {
	if c == nil {
		return
	}
	c.model(name).requests[p].Inc()
	c.failure.WithLabelValues(name, protocolNames[p], reason).Inc()
}

// Forget deletes the series of a model no longer served.
func (c *Counters) Forget(name string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.models.Delete(name)
	l := prometheus.Labels{"model": name}
	c.requests.DeletePartialMatch(l)
	c.success.DeletePartialMatch(l)
	c.failure.DeletePartialMatch(l)
	c.rows.DeletePartialMatch(l)
}
