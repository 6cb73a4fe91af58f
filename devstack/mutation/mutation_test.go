package mutation

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// module writes a small Go module into a temporary directory: a function
// with operators to mutate and a test that pins some of its behaviour.
func module(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/m\n\ngo 1.22\n",
		"m.go": `package m

// Abs is |x|.
func Abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Name greets.
func Name(s string, ok bool) string {
	if !ok {
		return "?" + s
	}
	return s
}

// Count counts down.
func Count(n int) int {
	c := 0
	for i := n; i > 0; i-- {
		c += 1
	}
	return c
}
`,
		"m_test.go": `package m

import "testing"

func TestAbs(t *testing.T) {
	if Abs(-2) != 2 || Abs(3) != 3 {
		t.Fatal("Abs")
	}
}

func TestCount(t *testing.T) {
	if Count(3) != 3 {
		t.Fatal("Count")
	}
}
`,
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Outside any workspace, whatever the environment says.
	t.Setenv("GOWORK", "off")
	return dir
}

func TestOperators(t *testing.T) {
	dir := module(t)
	importPath, pkgDir, sites, err := Operators(dir, ".")
	if err != nil {
		t.Fatal(err)
	}
	if importPath != "example.com/m" || pkgDir != dir {
		t.Errorf("package %s in %s", importPath, pkgDir)
	}
	var ids []string
	for _, s := range sites {
		ids = append(ids, s.String())
	}
	want := []string{
		"m.go:5:7 < -> <=", "m.go:5:7 < -> >=", "m.go:6:10 - -> (removed)",
		"m.go:13:5 ! -> (removed)",
		"m.go:22:16 > -> >=", "m.go:22:16 > -> <=", "m.go:22:22 -- -> ++", "m.go:23:5 += -> -=",
	}
	if !slices.Equal(ids, want) {
		t.Errorf("sites\n%s\nwant (no - or -= between strings, none in tests)\n%s", strings.Join(ids, "\n"), strings.Join(want, "\n"))
	}
	src, _ := os.ReadFile(filepath.Join(dir, "m.go"))
	if got := string(sites[0].Src); got != strings.Replace(string(src), "x < 0", "x <= 0", 1) {
		t.Errorf("mutated source:\n%s", got)
	}
}

func TestCoverage(t *testing.T) {
	dir := module(t)
	cov, _, err := Cover(context.Background(), dir, "example.com/m", dir, []string{"."}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "m.go")
	for _, tc := range []struct {
		line, col int
		want      bool
	}{
		{5, 7, true},   // the condition in Abs
		{6, 10, true},  // return -x
		{13, 5, false}, // Name is never called
		{22, 16, true}, // the loop condition in Count
	} {
		if got := cov.Covered(file, tc.line, tc.col); got != tc.want {
			t.Errorf("%d:%d covered %v, want %v", tc.line, tc.col, got, tc.want)
		}
	}
}

func TestRunnerReportsEachOutcome(t *testing.T) {
	dir := module(t)
	file := filepath.Join(dir, "m.go")
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	mutant := func(id, from, to string) *Mutant {
		if !strings.Contains(string(src), from) {
			t.Fatalf("%q not in the source", from)
		}
		return &Mutant{Target: "m", ID: id, File: file, Src: []byte(strings.Replace(string(src), from, to, 1)), Tests: []string{"."}}
	}
	mutants := []*Mutant{
		mutant("killed", "return -x", "return x"),
		mutant("survived: the tests never try 0", "x < 0", "x <= 0"),
		mutant("not viable", "return -x", "return -y"),
		mutant("timed out", "i--", "i++"),
		{Target: "m", ID: "not covered", File: file, Src: src, Uncovered: true},
	}
	r := &Runner{Root: dir, Workers: 2, Timeout: 5 * time.Second}
	results, err := r.Run(context.Background(), mutants)
	if err != nil {
		t.Fatal(err)
	}
	want := []Status{Killed, Survived, NotViable, TimedOut, NotCovered}
	for i, res := range results {
		if res.Status != want[i] {
			t.Errorf("%s: %s\n%s", res.Mutant.ID, res.Status, res.Output)
		}
	}
	if !slices.Equal(results[0].Failed, []string{"m.TestAbs"}) {
		t.Errorf("killed by %v, want m.TestAbs", results[0].Failed)
	}
	after, _ := os.ReadFile(file)
	if string(after) != string(src) {
		t.Error("the working tree was changed")
	}
	s := Summarize(results)
	if len(s) != 1 || s[0].Score() != 2.0/3 {
		t.Errorf("summary %+v, score %v, want 2/3", s, s[0].Score())
	}
}

func TestNamedMutationMustApplyOnce(t *testing.T) {
	dir := module(t)
	ok := Named{Name: "abs", File: "m.go", Old: "return -x", New: "return x", Tests: []string{"."}}
	m, err := ok.Mutant(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.File != filepath.Join(dir, "m.go") || !strings.Contains(string(m.Src), "if x < 0 {\n\t\treturn x\n") {
		t.Errorf("mutant %s:\n%s", m.File, m.Src)
	}
	for _, tc := range []struct {
		name string
		n    Named
		want string
	}{
		{"gone", Named{Name: "x", File: "m.go", Old: "return -z", New: "x"}, "occurs 0 times"},
		{"twice", Named{Name: "x", File: "m.go", Old: "return ", New: "return 1 + "}, "occurs 5 times"},
		{"broken", Named{Name: "x", File: "m.go", Old: "return -x", New: "return -x {"}, "does not parse"},
		{"no file", Named{Name: "x", File: "n.go", Old: "a", New: "b"}, "no such file"},
		{"not in the func", Named{Name: "x", File: "m.go", Func: "Name", Old: "return x", New: "return 0"}, "occurs 0 times in m.go (Name)"},
		{"twice in the func", Named{Name: "x", File: "m.go", Func: "Abs", Old: "return", New: "return 1 +"}, "occurs 2 times"},
		{"no such func", Named{Name: "x", File: "m.go", Func: "Nope", Old: "return x", New: "return 0"}, "no func Nope"},
	} {
		if _, err := tc.n.Mutant(dir); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestNamedMutationFindsItsCodeByFunc: with Func, the code is looked for
// in that function alone and matched whatever its spacing.
func TestNamedMutationFindsItsCodeByFunc(t *testing.T) {
	dir := module(t)
	n := Named{Name: "abs", File: "m.go", Func: "Abs", Old: "if x < 0 {   return -x\n}", New: "if x < 0 {\n\t\treturn x\n\t}"}
	m, err := n.Mutant(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(m.Src), "if x < 0 {\n\t\treturn x\n\t}\n\treturn x\n}") {
		t.Errorf("mutant:\n%s", m.Src)
	}
	// The same words in another function are not its business.
	n = Named{Name: "name", File: "m.go", Func: "Name", Old: "return s", New: "return s + s"}
	if m, err = n.Mutant(dir); err != nil || !strings.Contains(string(m.Src), "return s + s\n}") {
		t.Errorf("%v:\n%s", err, m.Src)
	}
}

func TestLeavesNameFailingTestsBriefly(t *testing.T) {
	got := leaves([]string{"p.TestA", "p.TestA/one", "p.TestB", "p.TestB/x", "p.TestB/x/deep", "p.TestB/y", "p.TestC"})
	want := []string{"p.TestA/one", "p.TestB (2 subtests)", "p.TestC"}
	if !slices.Equal(got, want) {
		t.Errorf("%v, want %v", got, want)
	}
}
