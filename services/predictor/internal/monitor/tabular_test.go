package monitor

import (
	"bytes"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/modelferry/modelferry/pkg/artifact"
	"github.com/modelferry/modelferry/pkg/artifact/artifactpb"
	"github.com/modelferry/modelferry/pkg/tabular"
)

// tabularModel reads a categorical colour (blue, green, red, missing,
// and the infrequent pink and teal), a numeric size missing in a fifth of
// the training rows, and a categorical grade that was never missing. It
// has no numeric baseline.
func tabularModel() *artifactpb.Model {
	return &artifactpb.Model{FeatureNames: []string{"colour", "size", "grade"}, ClassNames: []string{"no", "yes"},
		Tabular: &artifactpb.Tabular{NaValues: []string{""}, Columns: []*artifactpb.Column{
			{Name: "colour", Type: "categorical", MissingShare: 0.1,
				Categories: []string{"blue", "green", tabular.MissingCategory, "red"}, Shares: []float64{0.3, 0.3, 0.1, 0.2},
				Infrequent: []string{"pink", "teal"}, InfrequentShare: 0.1},
			{Name: "size", Type: "numeric", MissingShare: 0.2, Impute: 5, Indicator: true},
			{Name: "grade", Type: "categorical", Categories: []string{"a", "b"}, Shares: []float64{0.5, 0.5}},
		}}}
}

// traffic serves rows through the model's own encoder: colours drawn from
// mix (cells as sent, "" is missing), sizes missing with probability
// sizeNA, grades missing with probability gradeNA.
func traffic(t *testing.T, d *Drift, m *artifactpb.Model, rows int, mix map[string]float64, sizeNA, gradeNA float64) {
	t.Helper()
	enc, err := artifact.Transform(m).Encoder()
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(11, 12))
	x, codes := make([]float64, enc.Dense()), make([]int32, enc.Codes())
	row := make([]float64, enc.Dense()+enc.Codes())
	for range rows {
		u, cell := r.Float64(), ""
		for c, p := range mix {
			if cell = c; u < p {
				break
			}
			u -= p
		}
		size, grade := strconv.FormatFloat(10*r.Float64(), 'f', 3, 64), "a"
		if r.Float64() < sizeNA {
			size = ""
		}
		if r.Float64() < gradeNA {
			grade = ""
		} else if r.IntN(2) == 1 {
			grade = "b"
		}
		if err := enc.EncodeRecord([]string{cell, size, grade}, []int{0, 1, 2}, x, codes); err != nil {
			t.Fatal(err)
		}
		copy(row, x)
		for j, c := range codes {
			row[len(x)+j] = float64(c)
		}
		d.Observe(row, r.IntN(2))
	}
}

var trainingMix = map[string]float64{"blue": 0.3, "green": 0.3, "": 0.1, "red": 0.2, "pink": 0.05, "teal": 0.05}

func TestCategoricalDriftFiresOnAShiftedMix(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mix      map[string]float64
		min, max float64
	}{
		{"the training mix", trainingMix, 0, 0.05},
		{"infrequent ones as one bin", map[string]float64{"blue": 0.3, "green": 0.3, "": 0.1, "red": 0.2, "pink": 0.1}, 0, 0.05},
		{"red gone, blue doubled", map[string]float64{"blue": 0.6, "green": 0.2, "": 0.1, "pink": 0.1}, 0.2, math.Inf(1)},
		{"unseen colours", map[string]float64{"blue": 0.15, "green": 0.15, "": 0.1, "red": 0.1, "teal": 0.1, "violet": 0.4}, 0.2, math.Inf(1)},
		{"missing colours", map[string]float64{"blue": 0.2, "green": 0.2, "": 0.5, "red": 0.1}, 0.2, math.Inf(1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tabularModel()
			d := NewDrift(m, NewClock(time.Minute, time.Now()))
			traffic(t, d, m, 20_000, tc.mix, 0.2, 0)
			rep := d.Report()
			if rep.Rows != 20_000 || rep.PSI[0] < tc.min || rep.PSI[0] > tc.max {
				t.Errorf("colour PSI %v over %d rows, want in [%v, %v]", rep.PSI[0], rep.Rows, tc.min, tc.max)
			}
			if !math.IsNaN(rep.PSI[1]) || !math.IsNaN(rep.ClassPSI) || rep.TrainingShare != nil {
				t.Errorf("size PSI %v, class PSI %v, training share %v: want none without a baseline", rep.PSI[1], rep.ClassPSI, rep.TrainingShare)
			}
		})
	}
}

func TestMissingRatioMovesWithLiveMissing(t *testing.T) {
	for _, na := range []float64{0, 0.2, 0.6} {
		m := tabularModel()
		d := NewDrift(m, NewClock(time.Minute, time.Now()))
		traffic(t, d, m, 20_000, trainingMix, na, na)
		rep := d.Report()
		// colour is missing in a tenth of the rows; size and grade in na.
		for j, want := range []float64{0.1, na, na} {
			if math.Abs(rep.MissingLive[j]-want) > 0.015 {
				t.Errorf("%s at %v missing: live ratio %v, want about %v", m.FeatureNames[j], na, rep.MissingLive[j], want)
			}
		}
		if rep.MissingTraining[0] != 0.1 || rep.MissingTraining[1] != 0.2 || rep.MissingTraining[2] != 0 {
			t.Errorf("training ratios %v, want the artifact's [0.1 0.2 0]", rep.MissingTraining)
		}
		// A grade missing where training had none is its own bin: drift.
		if na == 0.6 && rep.PSI[2] < 0.2 {
			t.Errorf("grade missing in %v of rows: PSI %v", na, rep.PSI[2])
		}
	}
}

func TestObserveTabularAllocatesNothing(t *testing.T) {
	d := NewDrift(tabularModel(), NewClock(time.Minute, time.Now()))
	row := []float64{7, 0, 1, float64(tabular.MissingCode)}
	if n := testing.AllocsPerRun(1000, func() { d.Observe(row, 1) }); n != 0 {
		t.Errorf("%v allocations per row", n)
	}
}

func TestCollectorExportsMissingRatio(t *testing.T) {
	m, num := tabularModel(), model(t)
	d := NewDrift(m, NewClock(time.Minute, time.Now()))
	traffic(t, d, m, 1000, map[string]float64{"violet": 1}, 1, 0)
	dn := NewDrift(num, NewClock(time.Minute, time.Now()))
	serve(dn, rand.New(rand.NewPCG(1, 1)), 100, 0)
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(func() []Watched {
		return []Watched{
			{Model: "shop", Version: "v1", Features: m.FeatureNames, Classes: m.ClassNames, Drift: d},
			{Model: "iris", Version: "v2", Features: num.FeatureNames, Classes: num.ClassNames, Drift: dn},
		}
	}))
	got := gather(t, reg)
	// The exposition, as /metrics serves it, passes promtool.
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not on PATH: run make test-tools (make test does)")
	}
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(rec.Body.Bytes())
	if out, err := cmd.CombinedOutput(); err != nil || !bytes.Contains(rec.Body.Bytes(), []byte("# TYPE predictor_feature_missing_ratio gauge")) {
		t.Errorf("promtool check metrics: %v\n%s\n%s", err, out, rec.Body.Bytes())
	}
	for k, v := range map[string]float64{
		`predictor_feature_missing_ratio{feature="size",model="shop",source="live"}`:     1,
		`predictor_feature_missing_ratio{feature="size",model="shop",source="training"}`: 0.2,
		`predictor_feature_missing_ratio{feature="grade",model="shop",source="live"}`:    0,
		`predictor_feature_missing_ratio{feature="a",model="iris",source="live"}`:        0,
		`predictor_feature_missing_ratio{feature="a",model="iris",source="training"}`:    0,
		`predictor_model_monitored{model="shop",version="v1"}`:                           1,
	} {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (exported %v), want %v", k, g, ok, v)
		}
	}
	if psi := got[`predictor_feature_psi{feature="colour",model="shop"}`]; psi < 0.2 {
		t.Errorf("colour PSI of unseen colours only: %v", psi)
	}
	for _, k := range []string{`predictor_feature_psi{feature="size",model="shop"}`, `predictor_predicted_class_psi{model="shop"}`} {
		if _, ok := got[k]; ok {
			t.Errorf("%s exported without a baseline", k)
		}
	}
}

// A tabular model with a baseline has the numeric PSI of its numeric
// columns, over the values that were there, and the class PSI.
func TestTabularNumericColumnsKeepTheirPSI(t *testing.T) {
	for _, tc := range []struct {
		name     string
		edges    []float64
		min, max float64
	}{
		{"as in training", []float64{2, 4, 6, 8}, 0, 0.05},
		{"ten times smaller in training", []float64{0.2, 0.4, 0.6, 0.8}, 0.2, math.Inf(1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tabularModel()
			m.Baseline = &artifactpb.Baseline{Rows: 100, LabelCounts: []uint64{50, 50}, PredictionCounts: []uint64{50, 50},
				Features: []*artifactpb.FeatureBaseline{{}, {Edges: tc.edges, Counts: []uint64{20, 20, 20, 20, 20}}, {}}}
			d := NewDrift(m, NewClock(time.Minute, time.Now()))
			// Half the sizes missing: they count in no bin.
			traffic(t, d, m, 20_000, trainingMix, 0.5, 0)
			rep := d.Report()
			if rep.PSI[1] < tc.min || rep.PSI[1] > tc.max {
				t.Errorf("size PSI %v, want in [%v, %v]", rep.PSI[1], tc.min, tc.max)
			}
			if rep.PSI[0] > 0.05 || math.IsNaN(rep.ClassPSI) || rep.ClassPSI > 0.05 || len(rep.TrainingShare) != 2 {
				t.Errorf("colour PSI %v, class PSI %v, training share %v", rep.PSI[0], rep.ClassPSI, rep.TrainingShare)
			}
		})
	}
}
