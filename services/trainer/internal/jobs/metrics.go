package jobs

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are the trainer's run metrics.
type Metrics struct {
	runs       *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	inProgress prometheus.Gauge
	accuracy   *prometheus.GaugeVec
}

// NewMetrics registers the run metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
		runs: f.NewCounterVec(prometheus.CounterOpts{
			Name: "trainer_runs_total", Help: "Finished training runs, by model and final status.",
		}, []string{"model", "status"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name: "trainer_run_duration_seconds", Help: "Time from a run's start to its end, by model.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800},
		}, []string{"model"}),
		inProgress: f.NewGauge(prometheus.GaugeOpts{
			Name: "trainer_runs_in_progress", Help: "Runs being trained now.",
		}),
		accuracy: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "trainer_model_accuracy", Help: "Accuracy of the last successful run, by model.",
		}, []string{"model"}),
	}
}
