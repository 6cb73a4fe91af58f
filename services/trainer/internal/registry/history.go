package registry

// Stage is the step a live run is at.
type Stage string

// Stages of a run, in order.
const (
	StageQueued     Stage = "queued"
	StageLoading    Stage = "loading"
	StageSplitting  Stage = "splitting"
	StageSearching  Stage = "searching"
	StageFitting    Stage = "fitting"
	StageEvaluating Stage = "evaluating"
	StagePublishing Stage = "publishing"
)

// HistoryPoint is one solver iteration.
type HistoryPoint struct {
	Iteration int     `json:"iteration"`
	Loss      float64 `json:"loss"`
	GradNorm  float64 `json:"grad_norm"`
}

// MaxHistory bounds the points a run's history keeps.
const MaxHistory = 1000

// History collects a fit's iterations, thinned evenly: it keeps every
// stride-th iteration, doubling the stride (and dropping every other
// point) whenever MaxHistory points would be passed, and the last
// iteration seen. The zero value is ready.
//
// Points returns slices that later calls never write into (appends go past
// their capacity, thinning builds a new array), so run records that share
// them can be copied without copying the history.
type History struct {
	kept   []HistoryPoint
	stride int
	last   HistoryPoint
	seen   bool
}

// Add records an iteration; iterations come in increasing order.
func (h *History) Add(p HistoryPoint) {
	if h.stride == 0 {
		h.stride = 1
	}
	h.last, h.seen = p, true
	// Full: the last kept point is the last seen, so a new one means
	// thinning first.
	if len(h.kept) == MaxHistory {
		h.stride *= 2
		thinned := make([]HistoryPoint, 0, MaxHistory)
		for _, q := range h.kept {
			if q.Iteration%h.stride == 0 {
				thinned = append(thinned, q)
			}
		}
		h.kept = thinned
	}
	if p.Iteration%h.stride == 0 {
		h.kept = append(h.kept, p)
	}
}

// Kept returns the kept iterations, without the last one unless it is due
// anyway: what a live run shows, at no copying cost.
func (h *History) Kept() []HistoryPoint {
	n := len(h.kept)
	return h.kept[:n:n]
}

// Points returns the kept iterations and the last one, in order: at most
// MaxHistory points, what a finished fit records.
func (h *History) Points() []HistoryPoint {
	n := len(h.kept)
	out := h.kept[:n:n]
	if h.seen && (n == 0 || h.kept[n-1].Iteration != h.last.Iteration) {
		out = append(out, h.last)
	}
	return out
}
