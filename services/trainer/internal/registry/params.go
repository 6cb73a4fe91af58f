package registry

import (
	"fmt"
	"math"

	"github.com/modelferry/modelferry/pkg/logreg"
	"github.com/modelferry/modelferry/pkg/search"
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
	return nil
}
