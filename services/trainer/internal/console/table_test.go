package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/modelferry/modelferry/devstack/testkit/repo"
)

// TestVersionPageOfATable shows a table's model: the columns' schema, the
// coefficients per category, the scaler of the numeric columns only, and
// a try-it with a select per categorical column that predicts a record
// with a missing value.
func TestVersionPageOfATable(t *testing.T) {
	e := newEnv(t)
	csv, err := os.ReadFile(repo.Path(t, "pkg/tabular/testdata/binary_basic_train.csv"))
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/train?wait=true&model=table&drop=id&test_fraction=0", strings.NewReader(string(csv)))
	req.Header.Set("Content-Type", "text/csv")
	e.engine.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("train: %d %s", w.Code, w.Body)
	}
	run, err := e.reg.Run(context.Background(), strings.TrimPrefix(w.Header().Get("Location"), "/runs/"))
	if err != nil {
		t.Fatal(err)
	}
	page := "/ui/models/table/versions/" + run.Version
	code, body := e.get(page)
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	contains(t, "version", body, `id="schema-table"`, `<tr data-column="color"><td>color</td><td>categorical</td>`,
		`<tr data-column="age"><td>age</td><td>numeric</td><td class="n">12.0%</td>`, "black (28.7%)",
		"color=red", `<select name="x">`, `placeholder="missing"`)
	code, body = e.get(page + "?x=30&x=&x=red&x=Paris#try")
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	contains(t, "try-it", body, `id="try-result"`, `id="try-label"`)
	_, body = e.get(page + "?x=old&x=&x=red&x=Paris#try")
	contains(t, "try-it error", body, `age: &#34;old&#34; is not a number`)
}
