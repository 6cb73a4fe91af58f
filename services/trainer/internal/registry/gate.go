package registry

import (
	"fmt"
	"slices"

	"github.com/modelferry/modelferry/pkg/artifact/artifactpb"
)

// Gate decides whether a run's model may replace production.
type Gate struct {
	// MinAccuracy is the lowest accuracy a model may have to be promoted.
	MinAccuracy float64
	// MaxRegression is how much lower than production's accuracy a new
	// model's may be.
	MaxRegression float64
}

// Decide returns whether cand may replace prod (nil when there is no
// production model yet) and, when not, why.
func (g Gate) Decide(cand, prod *artifactpb.Model) (bool, string) {
	if cand.GetMetrics().GetMetricsOn() != "test" {
		return false, "metrics come from the training data (test_fraction 0), which the gate cannot judge: promote it by hand if it is good enough"
	}
	acc := cand.GetMetrics().GetAccuracy()
	if acc < g.MinAccuracy {
		return false, fmt.Sprintf("accuracy %.4f is below the minimum %.4f", acc, g.MinAccuracy)
	}
	if prod == nil {
		return true, ""
	}
	if !slices.Equal(cand.FeatureNames, prod.FeatureNames) || !slices.Equal(cand.ClassNames, prod.ClassNames) {
		return false, fmt.Sprintf("features or classes differ from production %s: clients would break: promote it by hand once they are ready", prod.Version)
	}
	if prod.GetMetrics().GetMetricsOn() != "test" {
		// A production model promoted by hand with training-data metrics:
		// its accuracy is no yardstick.
		return true, ""
	}
	prodAcc := prod.GetMetrics().GetAccuracy()
	if acc < prodAcc-g.MaxRegression {
		return false, fmt.Sprintf("accuracy %.4f is more than %.4f below production %s (%.4f)", acc, g.MaxRegression, prod.Version, prodAcc)
	}
	return true, ""
}
