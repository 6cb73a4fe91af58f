package monitor

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"
)

// Watched is a served model version and its drift watch.
type Watched struct {
	Model, Version    string
	Features, Classes []string
	Drift             *Drift
}

var (
	psiDesc = prometheus.NewDesc("predictor_feature_psi",
		"Population stability index of a feature's live values over the drift window against the training baseline (above 0.2: a significant shift).",
		[]string{"model", "feature"}, nil)
	classPSIDesc = prometheus.NewDesc("predictor_predicted_class_psi",
		"Population stability index of the predicted class mix over the drift window against the model's predictions on its training rows.",
		[]string{"model"}, nil)
	shareDesc = prometheus.NewDesc("predictor_class_share",
		"Share of each predicted class: over the drift window (source=live) and on the training rows (source=training).",
		[]string{"model", "class", "source"}, nil)
	missingDesc = prometheus.NewDesc("predictor_feature_missing_ratio",
		"Share of rows where a feature was missing: over the drift window (source=live) and on the training rows (source=training).",
		[]string{"model", "feature", "source"}, nil)
	rowsDesc = prometheus.NewDesc("predictor_drift_window_rows",
		"Rows served in the drift window, which the drift figures are computed over.",
		[]string{"model"}, nil)
	monitoredDesc = prometheus.NewDesc("predictor_model_monitored",
		"1 when the served version carries a training baseline and is watched for drift, 0 when it predates baselines.",
		[]string{"model", "version"}, nil)
)

// collector computes drift at scrape time for the models served then.
type collector struct{ models func() []Watched }

// NewCollector exports the drift of whatever models returns at each
// scrape.
func NewCollector(models func() []Watched) prometheus.Collector { return collector{models} }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{psiDesc, classPSIDesc, shareDesc, missingDesc, rowsDesc, monitoredDesc} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	for _, w := range c.models() {
		if w.Drift == nil {
			ch <- prometheus.MustNewConstMetric(monitoredDesc, prometheus.GaugeValue, 0, w.Model, w.Version)
			continue
		}
		ch <- prometheus.MustNewConstMetric(monitoredDesc, prometheus.GaugeValue, 1, w.Model, w.Version)
		r := w.Drift.Report()
		ch <- prometheus.MustNewConstMetric(rowsDesc, prometheus.GaugeValue, float64(r.Rows), w.Model)
		for j, f := range w.Features {
			if !math.IsNaN(r.PSI[j]) {
				ch <- prometheus.MustNewConstMetric(psiDesc, prometheus.GaugeValue, r.PSI[j], w.Model, f)
			}
			ch <- prometheus.MustNewConstMetric(missingDesc, prometheus.GaugeValue, r.MissingLive[j], w.Model, f, "live")
			ch <- prometheus.MustNewConstMetric(missingDesc, prometheus.GaugeValue, r.MissingTraining[j], w.Model, f, "training")
		}
		if !math.IsNaN(r.ClassPSI) {
			ch <- prometheus.MustNewConstMetric(classPSIDesc, prometheus.GaugeValue, r.ClassPSI, w.Model)
		}
		for k, class := range w.Classes {
			ch <- prometheus.MustNewConstMetric(shareDesc, prometheus.GaugeValue, r.LiveShare[k], w.Model, class, "live")
			if r.TrainingShare != nil {
				ch <- prometheus.MustNewConstMetric(shareDesc, prometheus.GaugeValue, r.TrainingShare[k], w.Model, class, "training")
			}
		}
	}
}
