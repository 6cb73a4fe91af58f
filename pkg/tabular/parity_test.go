package tabular

import (
	"context"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/modelferry/modelferry/pkg/logreg"
)

// TestProbabilitiesMatchScikitLearn is the parity contract: on every golden
// table, the probabilities of the test rows (unseen categories and missing
// cells included) equal scikit-learn's Pipeline's within 1e-4. Set
// TABULAR_PARITY_TABLE to a file name to write the max |Δp| per case as a
// markdown table.
func TestProbabilitiesMatchScikitLearn(t *testing.T) {
	var report strings.Builder
	report.WriteString("| case | rows | classes | params | max abs dp |\n|---|---|---|---|---|\n")
	for _, gc := range loadGoldens(t) {
		t.Run(gc.name, func(t *testing.T) {
			g := gc.g
			p := prepareGolden(t, g)
			c := g.Params.C
			m, info, err := logreg.Fit(context.Background(), p.Data(), logreg.Options{C: c, Standardize: true})
			if err != nil {
				t.Fatal(err)
			}
			if !info.Converged {
				t.Fatalf("not converged: %+v", info)
			}
			model, err := m.Compile()
			if err != nil {
				t.Fatal(err)
			}
			test := readTable(t, g.Test)
			pos, err := p.Encoder.Bind(test.Header)
			if err != nil {
				t.Fatal(err)
			}
			if len(test.Rows) != len(g.Proba) {
				t.Fatalf("%d test rows, %d golden", len(test.Rows), len(g.Proba))
			}
			x, codes := make([]float64, p.Encoder.Dense()), make([]int32, p.Encoder.Codes())
			proba := make([]float64, len(p.Classes))
			worst := 0.0
			for i, rec := range test.Rows {
				if err := p.Encoder.EncodeRecord(rec, pos, x, codes); err != nil {
					t.Fatalf("row %d: %v", i, err)
				}
				model.PredictProbaCodes(x, codes, proba)
				for k, want := range g.Proba[i] {
					worst = max(worst, math.Abs(proba[k]-want))
				}
			}
			if worst > 1e-4 {
				t.Errorf("max |Δp| = %.2g, want <= 1e-4", worst)
			}
			t.Logf("max |Δp| = %.1e", worst)
			fmt.Fprintf(&report, "| %s | %d | %d | %s | %.1e |\n", gc.name, p.Rows, len(p.Classes), params(g), worst)
		})
	}
	if f := os.Getenv("TABULAR_PARITY_TABLE"); f != "" {
		if err := os.WriteFile(f, []byte(report.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func params(g *golden) string {
	p := g.Params
	var s []string
	add := func(k string, v any) { s = append(s, fmt.Sprintf("%s=%v", k, v)) }
	if p.Impute != "" {
		add("impute", p.Impute)
	}
	if p.AddIndicator {
		add("add_indicator", true)
	}
	if p.MaxCategories > 0 {
		add("max_categories", p.MaxCategories)
	}
	if p.MinFrequency > 0 {
		add("min_frequency", p.MinFrequency)
	}
	if p.Weight != "" {
		add("weight", p.Weight)
	}
	if p.ClassWeight != nil {
		add("class_weight", p.ClassWeight)
	}
	if len(p.Categorical) > 0 {
		add("categorical", p.Categorical)
	}
	add("C", p.C)
	return strings.Join(s, " ")
}
