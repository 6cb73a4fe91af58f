package pipeline

import (
	"errors"
	"strings"
	"testing"

	"github.com/modelferry/modelferry/pkg/dataset"
)

// checkScale refuses a column whose sums overflow: of absolute values
// always, of squares only when the fit standardizes.
func TestCheckScale(t *testing.T) {
	features := []string{"small", "big"}
	for _, tc := range []struct {
		name        string
		big         float64
		standardize bool
		refused     bool
	}{
		{"plain values", 1e6, true, false},
		{"squares overflow, standardized", 1e200, true, true},
		{"squares overflow, not standardized", 1e200, false, false},
		{"sums overflow, standardized", 1e308, true, true},
		{"sums overflow, not standardized", 1e308, false, true},
		{"negative sums overflow", -1e308, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := []float64{1, tc.big, -2, tc.big, 3, tc.big}
			err := checkScale(x, 3, features, tc.standardize)
			if tc.refused != (err != nil) {
				t.Fatalf("error %v, want refused %v", err, tc.refused)
			}
			if err != nil && (!errors.Is(err, dataset.ErrInvalid) || !strings.Contains(err.Error(), `column "big"`)) {
				t.Errorf("error %v", err)
			}
		})
	}
}
