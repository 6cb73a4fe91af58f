package registry

import (
	"testing"
)

func TestHistoryThinsEvenly(t *testing.T) {
	for _, tc := range []struct {
		name       string
		iterations int
		wantLen    int
		wantStride int
	}{
		{"short fit keeps every iteration", 37, 37, 1},
		{"exactly the bound", MaxHistory, MaxHistory, 1},
		{"one past the bound thins to every second", MaxHistory + 1, 500, 2},
		{"long fit", 10_000 + 3, 625, 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h History
			var views [][]HistoryPoint
			for i := 1; i <= tc.iterations; i++ {
				h.Add(HistoryPoint{Iteration: i, Loss: float64(i), GradNorm: 1 / float64(i)})
				if i%97 == 0 {
					views = append(views, h.Kept())
				}
			}
			pts := h.Points()
			if len(pts) > MaxHistory {
				t.Fatalf("%d points, more than %d", len(pts), MaxHistory)
			}
			if last := pts[len(pts)-1]; last.Iteration != tc.iterations || last.Loss != float64(tc.iterations) {
				t.Errorf("last point %+v, want iteration %d", last, tc.iterations)
			}
			kept := pts
			if pts[len(pts)-1].Iteration%tc.wantStride != 0 {
				kept = pts[:len(pts)-1]
			}
			if len(kept) != tc.wantLen {
				t.Errorf("%d points kept before the last, want %d", len(kept), tc.wantLen)
			}
			// Evenly spaced: every stride-th iteration from the first.
			for i, p := range kept {
				if p.Iteration != (i+1)*tc.wantStride {
					t.Fatalf("point %d is iteration %d, want %d", i, p.Iteration, (i+1)*tc.wantStride)
				}
			}
			// Earlier views were never written into.
			for _, v := range views {
				for i := 1; i < len(v); i++ {
					if v[i].Iteration <= v[i-1].Iteration || v[i].Loss != float64(v[i].Iteration) {
						t.Fatalf("a view changed after it was taken: %+v then %+v", v[i-1], v[i])
					}
				}
			}
		})
	}
	var empty History
	if pts := empty.Points(); len(pts) != 0 {
		t.Errorf("empty history: %v", pts)
	}
}
