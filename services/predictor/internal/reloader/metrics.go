package reloader

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are the series of a predictor's reloaders: one family each,
// labelled by model. Make them once per registry.
type Metrics struct {
	predictions *prometheus.CounterVec
	info        *prometheus.GaugeVec
	loaded      *prometheus.GaugeVec
	reloads     *prometheus.CounterVec
	lastOK      *prometheus.GaugeVec
	lastOKTime  *prometheus.GaugeVec
	lastPoll    *prometheus.GaugeVec
}

// NewMetrics registers the reloaders' series on reg (nil: none).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	model := []string{"model"}
	return &Metrics{
		predictions: f.NewCounterVec(prometheus.CounterOpts{
			Name: "predictor_predictions_total", Help: "Rows predicted, by model, version and predicted class.",
		}, []string{"model", "version", "class"}),
		info: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "predictor_model_info", Help: "The model version being served (value 1).",
		}, []string{"model", "version"}),
		loaded: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "predictor_model_loaded", Help: "1 when a version of the model is loaded and served, 0 before the first load.",
		}, model),
		reloads: f.NewCounterVec(prometheus.CounterOpts{
			Name: "predictor_model_reloads_total", Help: "Attempts to load a new version of the model, by result (success, failure).",
		}, []string{"model", "result"}),
		lastOK: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "predictor_model_last_reload_successful", Help: "Whether the last attempt to load a version of the model succeeded.",
		}, model),
		lastOKTime: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "predictor_model_last_reload_success_timestamp_seconds", Help: "When a version of the model was last loaded successfully.",
		}, model),
		lastPoll: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "predictor_alias_last_poll_success_timestamp_seconds", Help: "When the model's alias was last read from storage successfully.",
		}, model),
	}
}

// Forget deletes every series of a model no longer served.
func (m *Metrics) Forget(model string) {
	l := prometheus.Labels{"model": model}
	m.predictions.DeletePartialMatch(l)
	m.info.DeletePartialMatch(l)
	m.loaded.DeletePartialMatch(l)
	m.reloads.DeletePartialMatch(l)
	m.lastOK.DeletePartialMatch(l)
	m.lastOKTime.DeletePartialMatch(l)
	m.lastPoll.DeletePartialMatch(l)
}
