package api

import (
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/modelferry/modelferry/devstack/testkit/repo"
	"github.com/modelferry/modelferry/pkg/tabular"
	"github.com/modelferry/modelferry/pkg/testmodel"
)

// TestTrainAndTryATableAsItComes trains on a raw table (an ID column
// dropped, text columns, empty cells) through POST /train with the table
// parameters in the query, shows the schema on the version, and answers
// raw records through the try-it with scikit-learn's probabilities.
func TestTrainAndTryATableAsItComes(t *testing.T) {
	dir := repo.Path(t, "pkg/tabular/testdata")
	train, err := os.ReadFile(dir + "/binary_basic_train.csv")
	if err != nil {
		t.Fatal(err)
	}
	var g struct{ Proba [][]float64 }
	b, _ := os.ReadFile(dir + "/binary_basic.golden.json")
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	run := e.do("POST", "/train?wait=true&test_fraction=0&drop=id", "text/csv", strings.NewReader(string(train))).run(t)
	if run.Version == "" || run.Schema == nil {
		t.Fatalf("run %+v", run)
	}
	if run.Params.Drop == nil || run.Params.Drop[0] != "id" {
		t.Errorf("params %+v", run.Params)
	}
	resp := e.do("GET", "/models/iris/versions/"+run.Version, "", nil)
	var version struct {
		Record struct {
			Schema *struct {
				Columns []struct {
					Name, Type   string
					MissingShare float64 `json:"missing_share"`
					Categories   []struct{ Value string }
				}
			}
		}
	}
	if err := json.Unmarshal(resp.body, &version); err != nil || version.Record.Schema == nil || len(version.Record.Schema.Columns) != 4 {
		t.Fatalf("version %d %s", resp.code, resp.body)
	}
	schema := version.Record.Schema
	if c := schema.Columns[2]; c.Name != "color" || c.Type != "categorical" || len(c.Categories) == 0 {
		t.Errorf("color column %+v", c)
	}

	tf, err := os.Open(dir + "/binary_basic_test.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer tf.Close()
	test, err := tabular.ReadCSV(tf)
	if err != nil {
		t.Fatal(err)
	}
	instances := testmodel.RawRecords(test)
	path := "/models/iris/versions/" + run.Version + "/predict"
	resp = e.do("POST", path, "application/json", strings.NewReader(`{"instances": [`+strings.Join(instances, ",")+`]}`))
	var got struct {
		Predictions []struct{ Probabilities map[string]float64 }
	}
	if err := json.Unmarshal(resp.body, &got); err != nil || len(got.Predictions) != len(test.Rows) {
		t.Fatalf("%d %s", resp.code, resp.body)
	}
	worst := 0.0
	for i, p := range got.Predictions {
		worst = max(worst, math.Abs(p.Probabilities["no"]-g.Proba[i][0]), math.Abs(p.Probabilities["yes"]-g.Proba[i][1]))
	}
	if worst > 1e-4 {
		t.Errorf("max |Δp| = %g against scikit-learn, want ≤ 1e-4", worst)
	}

	for _, tc := range []struct{ name, body, want string }{
		{"unknown key", `{"age": 30, "colour": "red"}`, "colour: unknown feature"},
		{"text in a numeric column", `{"age": "old"}`, `age: \"old\" is not a number`},
		{"array in source order, too short", `{"instances": [[30, 1000]]}`, "expected 4 values"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.do("POST", path, "application/json", strings.NewReader(tc.body))
			if resp.code != 400 || !strings.Contains(string(resp.body), tc.want) {
				t.Errorf("%d %s, want 400 with %q", resp.code, resp.body, tc.want)
			}
		})
	}
	t.Run("array in source order", func(t *testing.T) {
		resp := e.do("POST", path, "application/json", strings.NewReader(`{"instances": [[30, null, "red", 8]]}`))
		if resp.code != 200 {
			t.Errorf("%d %s", resp.code, resp.body)
		}
	})
}
