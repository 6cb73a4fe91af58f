package search

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Spec is a search as POST /train's params.search gives it (query keys
// search_c, folds, scoring).
type Spec struct {
	C           Grid              `json:"c"`
	ClassWeight []ClassWeightSpec `json:"class_weight,omitempty"`
	Folds       int               `json:"folds,omitempty"`
	Scoring     string            `json:"scoring,omitempty"`
}

// Grid is the C grid: a list of values, or {"logspace": [start, stop, n]}
// (exponents of 10, as numpy.logspace).
type Grid struct {
	Values   []float64
	Logspace *[3]float64
}

// C returns the grid's values.
func (g Grid) C() ([]float64, error) {
	if g.Logspace == nil {
		return g.Values, nil
	}
	n := g.Logspace[2]
	if n != math.Trunc(n) || n < 1 || n > MaxPoints {
		return nil, fmt.Errorf("%w: logspace takes [start, stop, n] with n a whole number from 1 to %d, got n = %v", ErrInvalid, MaxPoints, n)
	}
	return Logspace(g.Logspace[0], g.Logspace[1], int(n))
}

// UnmarshalJSON accepts [c, …] or {"logspace": [start, stop, n]}.
func (g *Grid) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var v struct {
			Logspace *[3]float64 `json:"logspace"`
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil || v.Logspace == nil {
			return fmt.Errorf("%w: c must be a list of numbers or {\"logspace\": [start, stop, n]}", ErrInvalid)
		}
		*g = Grid{Logspace: v.Logspace}
		return nil
	}
	var v []float64
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("%w: c must be a list of numbers or {\"logspace\": [start, stop, n]}", ErrInvalid)
	}
	*g = Grid{Values: v}
	return nil
}

// MarshalJSON writes the form the grid was given in.
func (g Grid) MarshalJSON() ([]byte, error) {
	if g.Logspace != nil {
		return json.Marshal(map[string]any{"logspace": g.Logspace})
	}
	if g.Values == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(g.Values)
}

// ParseGrid reads the command-line and query form of a grid:
// "start:stop:n" for n values from start to stop evenly spaced in log10
// ("1e-4:1e4:10" is scikit-learn's default Cs), or "c1,c2,…".
func ParseGrid(s string) (Grid, error) {
	bad := func(reason string) (Grid, error) {
		return Grid{}, fmt.Errorf("%w: search_c %q: %s: use start:stop:n (\"1e-4:1e4:10\") or a comma-separated list (\"0.1,1,10\")", ErrInvalid, s, reason)
	}
	if parts := strings.Split(s, ":"); len(parts) == 3 {
		lo, err1 := strconv.ParseFloat(strings.TrimSpace(parts[0]), 64)
		hi, err2 := strconv.ParseFloat(strings.TrimSpace(parts[1]), 64)
		n, err3 := strconv.Atoi(strings.TrimSpace(parts[2]))
		switch {
		case err1 != nil || err2 != nil || err3 != nil:
			return bad("not numbers")
		case !(lo > 0) || !(hi > 0):
			return bad("the bounds must be > 0")
		}
		return Grid{Logspace: &[3]float64{math.Log10(lo), math.Log10(hi), float64(n)}}, nil
	}
	if strings.Contains(s, ":") {
		return bad("a range takes three parts")
	}
	var g Grid
	for _, p := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return bad(fmt.Sprintf("%q is not a number", p))
		}
		g.Values = append(g.Values, v)
	}
	return g, nil
}

// ClassWeightSpec is one class-weight candidate as given: null (none),
// "balanced", or weights by class label (classes not named weigh 1, as
// scikit-learn's).
type ClassWeightSpec struct {
	Balanced bool
	ByLabel  map[string]float64
}

// UnmarshalJSON accepts null, "balanced" or {label: weight}.
func (w *ClassWeightSpec) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*w = ClassWeightSpec{}
		return nil
	case bytes.Equal(b, []byte(`"balanced"`)):
		*w = ClassWeightSpec{Balanced: true}
		return nil
	}
	var m map[string]float64
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return fmt.Errorf("%w: a class_weight candidate is null, \"balanced\" or {\"<class>\": weight}, got %s", ErrInvalid, b)
	}
	*w = ClassWeightSpec{ByLabel: m}
	return nil
}

// MarshalJSON writes null, "balanced" or the weights by label.
func (w ClassWeightSpec) MarshalJSON() ([]byte, error) {
	switch {
	case w.Balanced:
		return []byte(`"balanced"`), nil
	case w.ByLabel == nil:
		return []byte("null"), nil
	}
	return json.Marshal(w.ByLabel)
}

// Resolve turns the candidate into class indices given the class labels.
func (w ClassWeightSpec) Resolve(classes []string) (ClassWeight, error) {
	if w.ByLabel == nil {
		return ClassWeight{Balanced: w.Balanced}, nil
	}
	index := make(map[string]int, len(classes))
	by := make([]float64, len(classes))
	for i, c := range classes {
		index[c] = i
		by[i] = 1
	}
	for label, v := range w.ByLabel {
		i, ok := index[label]
		if !ok {
			return ClassWeight{}, fmt.Errorf("%w: class_weight names class %q, which is not among the training labels", ErrInvalid, label)
		}
		by[i] = v
	}
	cw := ClassWeight{ByClass: by}
	return cw, cw.validate(len(classes))
}

// Validate checks what does not depend on the data: the grid, folds,
// scoring and class-weight values.
func (s Spec) Validate() error {
	cs, err := s.C.C()
	if err != nil {
		return err
	}
	scoring, err := ParseScoring(s.Scoring)
	if err != nil {
		return err
	}
	cfg := Config{C: cs, Folds: s.Folds, Scoring: scoring, ClassWeights: make([]ClassWeight, len(s.ClassWeight))}
	for _, w := range s.ClassWeight {
		for label, v := range w.ByLabel {
			if !(v >= 0) || math.IsInf(v, 0) {
				return fmt.Errorf("%w: class weight of class %q must be a finite number >= 0, got %v", ErrInvalid, label, v)
			}
		}
	}
	return cfg.Validate()
}

// Config turns the spec into a search configuration for data with these
// class labels; the fit options are the caller's.
func (s Spec) Config(classes []string) (Config, error) {
	cs, err := s.C.C()
	if err != nil {
		return Config{}, err
	}
	scoring, err := ParseScoring(s.Scoring)
	if err != nil {
		return Config{}, err
	}
	cfg := Config{C: cs, Folds: s.Folds, Scoring: scoring}
	for _, w := range s.ClassWeight {
		cw, err := w.Resolve(classes)
		if err != nil {
			return Config{}, err
		}
		cfg.ClassWeights = append(cfg.ClassWeights, cw)
	}
	if s.Folds == 0 {
		cfg.Folds = DefaultFolds
	}
	return cfg, cfg.Validate()
}

// Record is the run record's search object.
type Record struct {
	Scoring   string         `json:"scoring"`
	Folds     int            `json:"folds"`
	BestIndex int            `json:"best_index"`
	Results   []RecordResult `json:"results"`
}

// RecordResult is one grid point of a Record.
type RecordResult struct {
	C           float64         `json:"c"`
	ClassWeight ClassWeightSpec `json:"class_weight"`
	FoldScores  []float64       `json:"fold_scores"`
	MeanScore   float64         `json:"mean_score"`
	StdScore    float64         `json:"std_score"`
	FitSeconds  float64         `json:"fit_seconds"`
}

// NewRecord is the record of a search run from s.
func NewRecord(s Spec, out *Outcome) Record {
	r := Record{Scoring: string(out.Scoring), Folds: out.Folds, BestIndex: out.BestIndex}
	nw := max(1, len(s.ClassWeight))
	for i, res := range out.Results {
		var cw ClassWeightSpec
		if len(s.ClassWeight) > 0 {
			cw = s.ClassWeight[i%nw]
		}
		r.Results = append(r.Results, RecordResult{
			C: res.C, ClassWeight: cw, FoldScores: res.FoldScores,
			MeanScore: res.MeanScore, StdScore: res.StdScore, FitSeconds: res.FitSeconds,
		})
	}
	return r
}
