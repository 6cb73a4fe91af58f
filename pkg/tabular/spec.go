package tabular

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/modelferry/modelferry/pkg/dataset"
)

// Imputation strategies for numeric columns.
const (
	ImputeMean         = "mean"
	ImputeMedian       = "median"
	ImputeMostFrequent = "most_frequent"
)

// DefaultMaxLevels bounds the one-hot levels of a categorical column
// (TRAINER_MAX_CATEGORIES).
const DefaultMaxLevels = 10_000

// ClassWeight is scikit-learn's class_weight: "balanced" or a weight per
// class; the zero value weighs every class 1.
type ClassWeight struct {
	Balanced bool
	// Weights maps class labels to weights; classes not named weigh 1.
	Weights map[string]float64
}

// Spec chooses the columns and parameterizes the transform.
type Spec struct {
	// Label names the label column; empty means the last column.
	Label string
	// Features, when set, lists the feature columns in order; otherwise
	// every column but the label, the weight and Drop, in table order.
	Features []string
	Drop     []string
	// Categorical forces numeric-looking columns to categorical, Numeric
	// forces columns to numeric (every non-missing value must parse).
	Categorical []string
	Numeric     []string
	// NAValues replaces DefaultNAValues when not nil.
	NAValues []string
	// Impute is the numeric strategy: ImputeMean (the default when
	// empty), ImputeMedian or ImputeMostFrequent.
	Impute string
	// AddIndicator adds a 0/1 "was missing" feature for every numeric
	// column with missing values in training.
	AddIndicator bool
	// MaxCategories and MinFrequency group rare categories as
	// OneHotEncoder does; zero means unset. MinFrequency in (0, 1) is a
	// share of the training rows, an integer >= 1 a count.
	MaxCategories int
	MinFrequency  float64
	// MaxLevels bounds a categorical column's levels after grouping; 0
	// means DefaultMaxLevels.
	MaxLevels int
	// Weight names a sample-weight column.
	Weight      string
	ClassWeight ClassWeight
}

func specError(format string, args ...any) error {
	return &dataset.ParseError{Msg: fmt.Sprintf(format, args...)}
}

// Check validates the parameters that do not depend on the table.
func (s Spec) Check() error {
	switch s.Impute {
	case "", ImputeMean, ImputeMedian, ImputeMostFrequent:
	default:
		return specError("impute %q is not a strategy: use mean, median or most_frequent", s.Impute)
	}
	if s.MaxCategories < 0 || s.MaxCategories == 1 {
		return specError("max_categories must be at least 2 (the frequent categories plus one for the infrequent), got %d", s.MaxCategories)
	}
	if m := s.MinFrequency; m < 0 || math.IsNaN(m) || math.IsInf(m, 0) || (m >= 1 && m != math.Trunc(m)) {
		return specError("min_frequency must be a share in (0, 1) or a whole count >= 1, got %v", m)
	}
	if s.MaxLevels < 0 {
		return specError("the category limit must be positive, got %d", s.MaxLevels)
	}
	for c, w := range s.ClassWeight.Weights {
		if !(w >= 0) || math.IsInf(w, 0) {
			return specError("class_weight for class %q is %v: give a finite weight >= 0", c, w)
		}
	}
	if s.ClassWeight.Balanced && len(s.ClassWeight.Weights) > 0 {
		return specError(`class_weight is either "balanced" or a weight per class, not both`)
	}
	return nil
}

// CheckColumns checks that every column s names is in header, as Prepare
// does first: a caller that reads the table before Prepare (a train/test
// split) says what is wrong before it.
func (s Spec) CheckColumns(header []string) error {
	_, err := s.plan(header)
	return err
}

// columnPlan is the outcome of choosing columns: indexes into the header.
type columnPlan struct {
	label    int
	weight   int // -1 when none
	features []int
	forced   map[int]Type
}

// plan resolves the names in s against the header.
func (s Spec) plan(header []string) (columnPlan, error) {
	index := make(map[string]int, len(header))
	for i, h := range header {
		index[h] = i
	}
	lookup := func(param, name string) (int, error) {
		i, ok := index[name]
		if !ok {
			return 0, specError("%s names %q, which is no column of the table (columns: %s): check the spelling", param, name, columnList(header))
		}
		return i, nil
	}
	p := columnPlan{weight: -1, forced: map[int]Type{}}
	if s.Label == "" {
		if len(header) < 2 {
			return p, specError("the table has %d column: it needs at least one feature column and a label column", len(header))
		}
		p.label = len(header) - 1
	} else {
		i, err := lookup("label", s.Label)
		if err != nil {
			return p, err
		}
		p.label = i
	}
	if s.Weight != "" {
		i, err := lookup("weight", s.Weight)
		if err != nil {
			return p, err
		}
		if i == p.label {
			return p, specError("weight names the label column %q: name a column of sample weights", s.Weight)
		}
		p.weight = i
	}
	drop := map[int]bool{}
	for _, name := range s.Drop {
		i, err := lookup("drop", name)
		if err != nil {
			return p, err
		}
		if i == p.label {
			return p, specError("drop names the label column %q: the label cannot be dropped", name)
		}
		drop[i] = true
	}
	if s.Features != nil {
		seen := map[int]bool{}
		for _, name := range s.Features {
			i, err := lookup("features", name)
			if err != nil {
				return p, err
			}
			switch {
			case i == p.label:
				return p, specError("features names the label column %q: list only the inputs", name)
			case i == p.weight:
				return p, specError("features names the weight column %q: a column is either a feature or the sample weight", name)
			case seen[i]:
				return p, specError("features names %q twice", name)
			}
			seen[i] = true
			if !drop[i] {
				p.features = append(p.features, i)
			}
		}
	} else {
		for i := range header {
			if i != p.label && i != p.weight && !drop[i] {
				p.features = append(p.features, i)
			}
		}
	}
	for _, name := range s.Categorical {
		i, err := lookup("categorical", name)
		if err != nil {
			return p, err
		}
		p.forced[i] = Categorical
	}
	for _, name := range s.Numeric {
		i, err := lookup("numeric", name)
		if err != nil {
			return p, err
		}
		if p.forced[i] == Categorical {
			return p, specError("column %q is named by both categorical and numeric: keep it in one", name)
		}
		p.forced[i] = Numeric
	}
	if len(p.features) == 0 {
		return p, specError("no feature column is left after features and drop: keep at least one")
	}
	return p, nil
}

// columnList names the columns for a message, the first 20.
func columnList(header []string) string {
	if len(header) > 20 {
		return strings.Join(slices.Clip(header[:20]), ", ") + ", …"
	}
	return strings.Join(header, ", ")
}
