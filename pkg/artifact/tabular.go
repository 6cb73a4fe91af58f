package artifact

import (
	"github.com/modelferry/modelferry/pkg/artifact/artifactpb"
	"github.com/modelferry/modelferry/pkg/tabular"
)

// TabularFrom returns the artifact form of a fitted transform, with the
// rows skipped for a missing label and the columns dropped for being
// missing everywhere.
func TabularFrom(t *tabular.Transform, rowsSkipped int, dropped []string) *artifactpb.Tabular {
	tb := &artifactpb.Tabular{NaValues: t.NAValues, RowsSkipped: uint64(rowsSkipped), Dropped: dropped}
	for _, c := range t.Columns {
		tb.Columns = append(tb.Columns, &artifactpb.Column{
			Name: c.Name, Type: string(c.Type), MissingShare: c.MissingShare,
			Impute: c.Impute, Indicator: c.Indicator,
			Categories: c.Categories, Shares: c.Shares,
			Infrequent: c.Infrequent, InfrequentShare: c.InfrequentShare,
		})
	}
	return tb
}

// Transform returns the column transform of m, nil for a model of numeric
// features only. It checks only what it needs to build the value;
// Validate checks the rest.
func Transform(m *artifactpb.Model) *tabular.Transform {
	tb := m.Tabular
	if tb == nil {
		return nil
	}
	t := &tabular.Transform{NAValues: tb.NaValues}
	if t.NAValues == nil {
		t.NAValues = []string{}
	}
	for _, c := range tb.Columns {
		t.Columns = append(t.Columns, tabular.Column{
			Name: c.Name, Type: tabular.Type(c.Type), MissingShare: c.MissingShare,
			Impute: c.Impute, Indicator: c.Indicator,
			Categories: c.Categories, Shares: c.Shares,
			Infrequent: c.Infrequent, InfrequentShare: c.InfrequentShare,
		})
	}
	return t
}

// validateTabular checks the transform against the model's inputs.
func validateTabular(m *artifactpb.Model) error {
	tb := m.Tabular
	if tb == nil {
		return nil
	}
	if len(tb.Columns) != len(m.FeatureNames) {
		return corrupt("transform has %d columns, the model %d inputs", len(tb.Columns), len(m.FeatureNames))
	}
	if m.Baseline != nil {
		return corrupt("a tabular model carries no numeric drift baseline")
	}
	for i, c := range tb.Columns {
		if c.Name != m.FeatureNames[i] {
			return corrupt("transform column %d is %q, the model's input %q", i, c.Name, m.FeatureNames[i])
		}
		if !(c.MissingShare >= 0 && c.MissingShare <= 1) || !(c.InfrequentShare >= 0 && c.InfrequentShare <= 1) {
			return corrupt("column %q: shares are not in [0, 1]", c.Name)
		}
		switch tabular.Type(c.Type) {
		case tabular.Numeric:
			if len(c.Categories)+len(c.Shares)+len(c.Infrequent) > 0 {
				return corrupt("numeric column %q has categories", c.Name)
			}
		case tabular.Categorical:
			if c.Indicator || c.Impute != 0 {
				return corrupt("categorical column %q has an imputed value or an indicator", c.Name)
			}
			if len(c.Shares) != len(c.Categories) {
				return corrupt("column %q: %d shares for %d categories", c.Name, len(c.Shares), len(c.Categories))
			}
			if len(c.Categories)+len(c.Infrequent) == 0 {
				return corrupt("categorical column %q has no category", c.Name)
			}
			for _, s := range c.Shares {
				if !(s >= 0 && s <= 1) {
					return corrupt("column %q: shares are not in [0, 1]", c.Name)
				}
			}
		default:
			return corrupt("column %q has type %q, want numeric or categorical", c.Name, c.Type)
		}
	}
	if _, err := Transform(m).Encoder(); err != nil {
		return corrupt("%v", err)
	}
	return nil
}

// layout returns the dense width (numeric columns, then indicators) and
// the levels of each categorical column of a transform.
func layout(tb *artifactpb.Tabular) (dense int, levels []int) {
	for _, c := range tb.Columns {
		switch tabular.Type(c.Type) {
		case tabular.Numeric:
			dense++
			if c.Indicator {
				dense++
			}
		case tabular.Categorical:
			l := len(c.Categories)
			if len(c.Infrequent) > 0 {
				l++
			}
			levels = append(levels, l)
		}
	}
	return dense, levels
}
