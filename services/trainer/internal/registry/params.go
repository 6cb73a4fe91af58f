package registry

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/modelferry/modelferry/pkg/logreg"
	"github.com/modelferry/modelferry/pkg/search"
	"github.com/modelferry/modelferry/pkg/tabular"
)

// Params are a run's training parameters. JSON bodies use these names; CSV
// and multipart bodies pass the same names as query parameters.
type Params struct {
	C            float64 `json:"c"`
	MaxIter      int     `json:"max_iter"`
	Tol          float64 `json:"tol"`
	TestFraction float64 `json:"test_fraction"`
	Seed         uint64  `json:"seed"`
	Standardize  bool    `json:"standardize"`
	// Search, when set, makes the run a search: C (and class weights)
	// chosen by cross-validation on the training rows, the best refit.
	Search *search.Spec `json:"search,omitempty"`
	Table
}

// Run kinds.
const (
	KindTrain  = "train"
	KindSearch = "search"
)

// Kind is the kind of run these parameters make.
func (p Params) Kind() string {
	if p.Search != nil {
		return KindSearch
	}
	return KindTrain
}

// Table are the parameters of a table as it comes (design.md §9): which
// columns, their types, missing values, categories and weights. Any of
// them set trains through the column transform (package tabular).
type Table struct {
	Features      []string     `json:"features,omitempty"`
	Drop          []string     `json:"drop,omitempty"`
	Categorical   []string     `json:"categorical,omitempty"`
	Numeric       []string     `json:"numeric,omitempty"`
	NAValues      []string     `json:"na_values,omitempty"`
	Impute        string       `json:"impute,omitempty"`
	AddIndicator  bool         `json:"add_indicator,omitempty"`
	MaxCategories int          `json:"max_categories,omitempty"`
	MinFrequency  float64      `json:"min_frequency,omitempty"`
	ClassWeight   *ClassWeight `json:"class_weight,omitempty"`
	Weight        string       `json:"weight,omitempty"`
}

// Set reports whether any table parameter is given.
func (t Table) Set() bool {
	return t.Features != nil || t.Drop != nil || t.Categorical != nil || t.Numeric != nil || t.NAValues != nil ||
		t.Impute != "" || t.AddIndicator || t.MaxCategories != 0 || t.MinFrequency != 0 || t.ClassWeight != nil || t.Weight != ""
}

// Spec is the tabular.Spec of these parameters for the label column and a
// limit of maxLevels categories a column (TRAINER_MAX_CATEGORIES).
func (t Table) Spec(label string, maxLevels int) tabular.Spec {
	s := tabular.Spec{
		Label: label, Features: t.Features, Drop: t.Drop, Categorical: t.Categorical, Numeric: t.Numeric,
		NAValues: t.NAValues, Impute: t.Impute, AddIndicator: t.AddIndicator,
		MaxCategories: t.MaxCategories, MinFrequency: t.MinFrequency, MaxLevels: maxLevels, Weight: t.Weight,
	}
	if t.ClassWeight != nil {
		s.ClassWeight = tabular.ClassWeight{Balanced: t.ClassWeight.Balanced, Weights: t.ClassWeight.Weights}
	}
	return s
}

// ClassWeight is class_weight: "balanced" or {"class": weight}.
type ClassWeight struct {
	Balanced bool
	Weights  map[string]float64
}

// MarshalJSON writes "balanced" or the object of weights.
func (c ClassWeight) MarshalJSON() ([]byte, error) {
	if c.Balanced {
		return []byte(`"balanced"`), nil
	}
	return json.Marshal(c.Weights)
}

// UnmarshalJSON reads "balanced" or an object of weights.
func (c *ClassWeight) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		if s != "balanced" {
			return fmt.Errorf(`class_weight %q: give "balanced" or an object of weights per class, {"yes": 2}`, s)
		}
		*c = ClassWeight{Balanced: true}
		return nil
	}
	var w map[string]float64
	if err := json.Unmarshal(b, &w); err != nil || w == nil {
		return fmt.Errorf(`class_weight: give "balanced" or an object of weights per class, {"yes": 2}`)
	}
	*c = ClassWeight{Weights: w}
	return nil
}

// DefaultParams are what a run uses for every parameter it is not given.
func DefaultParams() Params {
	return Params{
		C:            logreg.DefaultC,
		MaxIter:      logreg.DefaultMaxIter,
		Tol:          logreg.DefaultTol,
		TestFraction: 0.2,
		Seed:         42,
		Standardize:  true,
	}
}

// MaxIterLimit bounds max_iter so one request cannot hold the trainer for
// days.
const MaxIterLimit = 100_000

// Validate reports the first out-of-range parameter, naming it.
func (p Params) Validate() error {
	switch {
	case !(p.C > 0) || math.IsInf(p.C, 0):
		return fmt.Errorf("c must be a positive finite number, got %v", p.C)
	case p.MaxIter <= 0 || p.MaxIter > MaxIterLimit:
		return fmt.Errorf("max_iter must be in [1, %d], got %d", MaxIterLimit, p.MaxIter)
	case !(p.Tol > 0) || math.IsInf(p.Tol, 0):
		return fmt.Errorf("tol must be a positive finite number, got %v", p.Tol)
	case !(p.TestFraction >= 0 && p.TestFraction < 1):
		return fmt.Errorf("test_fraction must be in [0, 1), got %v", p.TestFraction)
	}
	if p.Search != nil {
		if err := p.Search.Validate(); err != nil {
			return fmt.Errorf("search: %w", err)
		}
	}
	return p.Table.Spec("", 0).Check()
}
