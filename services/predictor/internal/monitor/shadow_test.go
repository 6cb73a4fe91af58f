package monitor

import (
	"math"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// threshold is a two-class model: class 1 when x[0] > at.
type threshold struct{ at float64 }

func (m threshold) Score(x, p []float64) (int, error) {
	if x[0] > m.at {
		p[0], p[1] = 0.2, 0.8
		return 1, nil
	}
	p[0], p[1] = 0.8, 0.2
	return 0, nil
}

func TestShadowAgreement(t *testing.T) {
	rows := []float64{-2, 0, -1, 0, 0.5, 0, 1.5, 0} // 4 rows, 2 features
	for _, tc := range []struct {
		name      string
		shadow    threshold
		agreement float64
		diff      float64
	}{
		{"an identical candidate", threshold{0}, 1, 0},
		{"a different candidate", threshold{1}, 0.75, 0.15},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewShadow(ShadowConfig{Registry: prometheus.NewRegistry(), Fraction: 1})
			tap := &Tap{Shadow: s, ShadowOf: func(string) (Scorer, string, bool) { return tc.shadow, "v2", true }}
			tap.Answered("iris", "v1", threshold{0}, rows, 2, 2, nil, nil)
			s.score(<-s.jobs) // what Run does
			st, ok := s.Stats("iris")
			if !ok || st.Rows != 4 || st.Agreement() != tc.agreement || math.Abs(st.AbsDiffSum/4-tc.diff) > 1e-12 {
				t.Errorf("stats %+v agreement %v, want %v and mean diff %v", st, st.Agreement(), tc.agreement, tc.diff)
			}
			if got := testutil.ToFloat64(s.agreed.WithLabelValues("iris", "v1", "v2")); got != 4*tc.agreement {
				t.Errorf("agreements counter %v", got)
			}
		})
	}
}

func TestShadowDropsWhenFull(t *testing.T) {
	s := NewShadow(ShadowConfig{Registry: prometheus.NewRegistry(), Fraction: 1, Queue: 2})
	for range 5 {
		s.Offer("iris", "v1", threshold{0}, "v2", threshold{1}, []float64{1}, 1, 2)
	}
	if got := testutil.ToFloat64(s.dropped.WithLabelValues("iris")); got != 3 {
		t.Errorf("dropped %v, want 3", got)
	}
	if (*Shadow)(nil).Sample() {
		t.Error("no shadow sampled")
	}
}

// A new version on either side is a new comparison: the counts restart,
// in Stats and in the series, when only the shadow version changes too.
func TestShadowCountsRestartWithANewVersion(t *testing.T) {
	rows := []float64{-2, -1, 0.5, 1.5} // 4 rows, 1 feature
	for _, tc := range []struct {
		name                   string
		version, shadowVersion string
	}{
		{"the shadow version changes", "v1", "v3"},
		{"the served version changes", "v2", "v2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewShadow(ShadowConfig{Registry: prometheus.NewRegistry(), Fraction: 1})
			s.Offer("iris", "v1", threshold{0}, "v2", threshold{1}, rows, 1, 2)
			s.score(<-s.jobs)
			// Rows where the new pair agrees on all.
			s.Offer("iris", tc.version, threshold{0}, tc.shadowVersion, threshold{0}, rows[:2], 1, 2)
			s.score(<-s.jobs)
			st, _ := s.Stats("iris")
			if st.Version != tc.version || st.ShadowVersion != tc.shadowVersion || st.Rows != 2 || st.Agreement() != 1 {
				t.Errorf("stats %+v, want %s against %s over its 2 rows alone, all agreeing", st, tc.shadowVersion, tc.version)
			}
			if got := testutil.ToFloat64(s.rows.WithLabelValues("iris", tc.version, tc.shadowVersion)); got != 2 {
				t.Errorf("rows counter of the new pair %v, want 2", got)
			}
			if n := testutil.CollectAndCount(s.rows); n != 1 {
				t.Errorf("%d rows series, want the new pair's alone", n)
			}
		})
	}
}
