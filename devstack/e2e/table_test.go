package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modelferry/modelferry/pkg/tabular"
	"github.com/modelferry/modelferry/pkg/testmodel"
)

// TestTableAsItComes trains on a raw table (an ID column dropped, text
// columns, empty cells) through a real trainer, and predicts raw records
// through a real predictor following the model's latest alias: /predict
// and KServe V1 answer scikit-learn's Pipeline's probabilities within
// 1e-4, and the Open Inference Protocol's REST endpoint, given one input
// per column, answers /predict's probabilities exactly.
func TestTableAsItComes(t *testing.T) {
	s := startSystem(t, func(o *systemOptions) { o.env["PREDICTOR_MODELS"] = "table@latest" })
	dir := filepath.Join(repoRoot, "pkg", "tabular", "testdata")
	train, err := os.ReadFile(filepath.Join(dir, "binary_basic_train.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct{ Proba [][]float64 }
	b, err := os.ReadFile(filepath.Join(dir, "binary_basic.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(s.trainer+"/train?wait=true&model=table&test_fraction=0&drop=id", "text/csv", strings.NewReader(string(train)))
	if err != nil {
		t.Fatal(err)
	}
	var r run
	err = json.NewDecoder(resp.Body).Decode(&r)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || r.Status != "succeeded" {
		t.Fatalf("train: %d %+v %v", resp.StatusCode, r, err)
	}

	f, err := os.Open(filepath.Join(dir, "binary_basic_test.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	test, err := tabular.ReadCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	records := testmodel.RawRecords(test)
	batch := `{"instances": [` + strings.Join(records, ",") + `]}`
	base := s.predictors[0]
	waitFor(t, "the predictor to load the table's model", swapTimeout, func() bool {
		resp, _, err := predict(http.DefaultClient, base, records[0])
		return err == nil && resp.StatusCode == 200
	})
	check := func(what string, probs [][2]float64) {
		t.Helper()
		if len(probs) != len(g.Proba) {
			t.Fatalf("%s: %d predictions for %d rows", what, len(probs), len(g.Proba))
		}
		worst := 0.0
		for i, p := range probs {
			worst = max(worst, math.Abs(p[0]-g.Proba[i][0]), math.Abs(p[1]-g.Proba[i][1]))
		}
		if worst > 1e-4 {
			t.Errorf("%s: max |Δp| = %g against scikit-learn, want ≤ 1e-4", what, worst)
		}
		t.Logf("%s: max |Δp| = %.2g over %d rows", what, worst, len(probs))
	}
	post := func(path, body string) []byte {
		t.Helper()
		resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out json.RawMessage
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s %v", path, resp.StatusCode, out, err)
		}
		return out
	}
	type probabilities struct {
		Probabilities map[string]float64 `json:"probabilities"`
	}
	var answer struct{ Predictions []probabilities }
	_ = json.Unmarshal(post("/predict", batch), &answer)
	var probs [][2]float64
	for _, p := range answer.Predictions {
		probs = append(probs, [2]float64{p.Probabilities["no"], p.Probabilities["yes"]})
	}
	check("/predict", probs)
	answer.Predictions = nil
	_ = json.Unmarshal(post("/v1/models/table:predict", batch), &answer)
	probs = probs[:0]
	for _, p := range answer.Predictions {
		probs = append(probs, [2]float64{p.Probabilities["no"], p.Probabilities["yes"]})
	}
	check("KServe V1", probs)

	// The Open Inference Protocol: one input per column, strings ("" for
	// missing) in categorical ones, numbers (null for missing) in numeric
	// ones, in another order than the model's; the same probabilities as
	// /predict's, bit for bit.
	predicted := slices.Clone(probs)
	var inputs []string
	for _, col := range []string{"city", "age", "color", "income"} {
		j := slices.Index(test.Header, col)
		var data []string
		for _, rec := range test.Rows {
			v := rec[j]
			missing := slices.Contains(tabular.DefaultNAValues(), v)
			switch {
			case (col == "age" || col == "income") && missing:
				data = append(data, "null")
			case col == "age" || col == "income":
				data = append(data, v)
			case missing:
				data = append(data, `""`)
			default:
				q, _ := json.Marshal(v)
				data = append(data, string(q))
			}
		}
		dt := "BYTES"
		if col == "age" || col == "income" {
			dt = "FP64"
		}
		inputs = append(inputs, fmt.Sprintf(`{"name": %q, "shape": [%d], "datatype": %q, "data": [%s]}`, col, len(data), dt, strings.Join(data, ",")))
	}
	var oip struct {
		Outputs []struct {
			Name string
			Data json.RawMessage
		}
	}
	// Rows of other values in the predictor's pooled scratch first: the
	// OIP rows are packed whole, not left over from /predict's.
	post("/predict", `{"instances": [`+strings.Repeat(`{}, `, len(records)-1)+`{}]}`)
	_ = json.Unmarshal(post("/v2/models/table/infer", `{"inputs": [`+strings.Join(inputs, ",")+`]}`), &oip)
	var flat []float64
	for _, o := range oip.Outputs {
		if o.Name == "probabilities" {
			_ = json.Unmarshal(o.Data, &flat)
		}
	}
	probs = probs[:0]
	for i := 0; i+1 < len(flat); i += 2 {
		probs = append(probs, [2]float64{flat[i], flat[i+1]})
	}
	check("OIP REST", probs)
	if !slices.Equal(probs, predicted) {
		t.Errorf("OIP REST probabilities differ from /predict's for the same records")
	}
}
