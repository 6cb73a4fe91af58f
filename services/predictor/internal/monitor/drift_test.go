package monitor

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelferry/modelferry/pkg/artifact/artifactpb"
	"github.com/modelferry/modelferry/pkg/drift"
)

// model has two features, standard normal and uniform on [0,10), and a
// baseline from 20,000 training rows; class 0 when the first is negative.
func model(t testing.TB) *artifactpb.Model {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	a, b := make([]float64, 20_000), make([]float64, 20_000)
	preds := []uint64{0, 0}
	for i := range a {
		a[i], b[i] = r.NormFloat64(), 10*r.Float64()
		if a[i] < 0 {
			preds[0]++
		} else {
			preds[1]++
		}
	}
	ea, eb := drift.Edges(a, 10), drift.Edges(b, 10)
	return &artifactpb.Model{FeatureNames: []string{"a", "b"}, ClassNames: []string{"neg", "pos"},
		Baseline: &artifactpb.Baseline{Rows: 20_000,
			Features:    []*artifactpb.FeatureBaseline{{Edges: ea, Counts: drift.Counts(ea, a)}, {Edges: eb, Counts: drift.Counts(eb, b)}},
			LabelCounts: preds, PredictionCounts: preds}}
}

func serve(d *Drift, r *rand.Rand, rows int, shiftA float64) {
	x := make([]float64, 2)
	for range rows {
		x[0], x[1] = r.NormFloat64()+shiftA, 10*r.Float64()
		class := 0
		if x[0] >= 0 {
			class = 1
		}
		d.Observe(x, class)
	}
}

func TestDriftSeesAShiftAndForgetsIt(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	clock := NewClock(time.Minute, now)
	d := NewDrift(model(t), clock)
	r := rand.New(rand.NewPCG(3, 4))

	serve(d, r, 5000, 0)
	rep := d.Report()
	if rep.Rows != 5000 || rep.PSI[0] > 0.05 || rep.PSI[1] > 0.05 || rep.ClassPSI > 0.05 {
		t.Fatalf("training-like traffic: %+v", rep)
	}
	// The window is ten minutes: its last instant still counts the rows,
	// exactly one window later none are.
	clock.Set(now.Add(10*time.Minute - time.Nanosecond))
	if rep := d.Report(); rep.Rows != 5000 {
		t.Errorf("at the window's last instant: %d rows, want 5000", rep.Rows)
	}
	clock.Set(now.Add(10 * time.Minute))
	if rep := d.Report(); rep.Rows != 0 {
		t.Errorf("exactly one window later: %d rows, want 0", rep.Rows)
	}
	// Feature a moves by one standard deviation.
	serve(d, r, 5000, 1)
	rep = d.Report()
	if rep.Rows != 5000 || rep.PSI[0] < 0.2 || rep.PSI[1] > 0.05 || rep.ClassPSI < 0.1 {
		t.Fatalf("shifted traffic (the old window gone): %+v", rep)
	}
	if rep.LiveShare[1] < 0.75 || rep.TrainingShare[1] > 0.55 {
		t.Errorf("class mix live %v, training %v", rep.LiveShare, rep.TrainingShare)
	}
	// Half a window later both halves count; a window later neither.
	clock.Set(now.Add(15 * time.Minute))
	serve(d, r, 5000, 0)
	if rep := d.Report(); rep.Rows != 10_000 {
		t.Errorf("window rows %d, want 10000", rep.Rows)
	}
	clock.Set(now.Add(40 * time.Minute))
	if rep := d.Report(); rep.Rows != 0 || rep.PSI[0] != 0 {
		t.Errorf("after the window: %+v", rep)
	}
}

// A training set's labels and the model's predictions on it differ: live
// predictions are compared with the predictions, never with the labels.
func TestClassDriftIsAgainstTrainingPredictions(t *testing.T) {
	m := model(t)
	preds := m.Baseline.PredictionCounts
	m.Baseline.LabelCounts = []uint64{preds[0] / 4, preds[1] + preds[0] - preds[0]/4}
	d := NewDrift(m, NewClock(time.Minute, time.Now()))
	serve(d, rand.New(rand.NewPCG(7, 8)), 5000, 0)
	rep := d.Report()
	if rep.ClassPSI > 0.05 {
		t.Errorf("class PSI %v for traffic predicted as in training: compared with the labels %v, not the predictions %v",
			rep.ClassPSI, m.Baseline.LabelCounts, preds)
	}
	if want := float64(preds[0]) / float64(preds[0]+preds[1]); rep.TrainingShare[0] != want {
		t.Errorf("training share %v, want the predictions' %v", rep.TrainingShare, want)
	}
}

// A window without rows has no live mix: shares of zero, never NaN.
func TestEmptyWindowSharesAreZero(t *testing.T) {
	rep := NewDrift(model(t), NewClock(time.Minute, time.Now())).Report()
	if rep.Rows != 0 || len(rep.LiveShare) != 2 || rep.LiveShare[0] != 0 || rep.LiveShare[1] != 0 {
		t.Errorf("empty window: %d rows, live share %v", rep.Rows, rep.LiveShare)
	}
}

func TestNoBaselineNoMonitoring(t *testing.T) {
	m := model(t)
	m.Baseline = nil
	if NewDrift(m, NewClock(time.Minute, time.Now())) != nil {
		t.Error("a model without a baseline is monitored")
	}
}

func TestObserveAllocatesNothingAndIsSafeConcurrently(t *testing.T) {
	d := NewDrift(model(t), NewClock(time.Minute, time.Now()))
	x := []float64{0.5, 3}
	if n := testing.AllocsPerRun(1000, func() { d.Observe(x, 1) }); n != 0 {
		t.Errorf("%v allocations per row", n)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() { serve(d, rand.New(rand.NewPCG(uint64(g), 9)), 2000, 0) })
	}
	wg.Wait()
	if rep := d.Report(); rep.Rows != 1001+8000 {
		t.Errorf("%d rows counted, want %d", rep.Rows, 1001+8000)
	}
}

func BenchmarkObserve(b *testing.B) {
	d := NewDrift(model(b), NewClock(time.Minute, time.Now()))
	x := []float64{0.5, 3}
	for b.Loop() {
		d.Observe(x, 1)
	}
}

func TestCollectorExportsDrift(t *testing.T) {
	m := model(t)
	d := NewDrift(m, NewClock(time.Minute, time.Now()))
	serve(d, rand.New(rand.NewPCG(5, 6)), 3000, 1)
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(func() []Watched {
		return []Watched{
			{Model: "iris", Version: "v2", Features: m.FeatureNames, Classes: m.ClassNames, Drift: d},
			{Model: "old", Version: "v1", Features: []string{"x"}, Classes: []string{"p", "q"}},
		}
	}))
	want := map[string]float64{
		`predictor_drift_window_rows{model="iris"}`:            3000,
		`predictor_model_monitored{model="iris",version="v2"}`: 1,
		`predictor_model_monitored{model="old",version="v1"}`:  0,
	}
	got := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName() + "{"
			for i, l := range m.GetLabel() {
				if i > 0 {
					key += ","
				}
				key += l.GetName() + `="` + l.GetValue() + `"`
			}
			got[key+"}"] = m.GetGauge().GetValue()
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if psi := got[`predictor_feature_psi{feature="a",model="iris"}`]; psi < 0.2 {
		t.Errorf("psi of the shifted feature %v (all: %v)", psi, got)
	}
	if _, ok := got[`predictor_class_share{class="pos",model="iris",source="training"}`]; !ok {
		t.Error("no training class share")
	}
}
