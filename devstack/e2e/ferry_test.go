package e2e

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// ferry runs the ferry binary against the stack and returns its output
// and exit code.
func (s *system) ferry(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(s.bin, "ferry"), args...)
	cmd.Env = append(os.Environ(), "FERRY_TRAINER_URL="+s.trainer, "FERRY_PREDICTOR_URL="+s.predictors[0])
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("ferry %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

func (s *system) mustFerry(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := s.ferry(t, "", args...)
	if code != 0 {
		t.Fatalf("ferry %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// versionRE finds a summary's version: its number, then its id.
var versionRE = regexp.MustCompile(`version +#([0-9]+) ([0-9]{8}T[0-9]{6}Z-[0-9a-f]{8})`)

func testFerry(t *testing.T, s *system) {
	iris := filepath.Join(repoRoot, "data", "iris.csv")

	// Two versions of a model of ferry's own, so rollback has somewhere to go.
	first := s.mustFerry(t, "train", iris, "--model", "ferry-iris", "--wait")
	second := s.mustFerry(t, "train", iris, "--model", "ferry-iris", "--c", "0.5", "--wait")
	n1, n2 := versionRE.FindStringSubmatch(first), versionRE.FindStringSubmatch(second)
	if n1 == nil || n2 == nil || n1[1] != "1" || n2[1] != "2" {
		t.Fatalf("train summaries, want versions #1 and #2 of a new model:\n%s\n%s", first, second)
	}
	v1, v2 := n1[1:], n2[1:] // number, id
	if !strings.Contains(first, "promoted  production -> "+v1[1]) || !regexp.MustCompile(`accuracy  (0\.9|1\.0)`).MatchString(first) {
		t.Fatalf("train summaries:\n%s\n%s", first, second)
	}

	id := strings.TrimSpace(s.mustFerry(t, "train", iris, "--model", "ferry-iris"))
	if !strings.Contains(s.mustFerry(t, "run", id), "model          ferry-iris") {
		t.Errorf("run %s not shown", id)
	}
	if runs := s.mustFerry(t, "runs", "--model", "ferry-iris", "--limit", "5"); !strings.Contains(runs, v1[1]) || !strings.Contains(runs, "yes") {
		t.Errorf("runs:\n%s", runs)
	}
	var page struct {
		Runs []struct{ ID, Model string }
	}
	if err := json.Unmarshal([]byte(s.mustFerry(t, "runs", "--model", "ferry-iris", "--output", "json")), &page); err != nil || len(page.Runs) < 3 {
		t.Errorf("runs --output json: %+v, %v", page, err)
	}
	if cmp := s.mustFerry(t, "compare", v1[1], v2[1]); !strings.Contains(cmp, "* c ") || !strings.Contains(cmp, "  model") {
		t.Errorf("compare marks no difference in c:\n%s", cmp)
	}
	if models := s.mustFerry(t, "models"); !strings.Contains(models, "ferry-iris") {
		t.Errorf("models:\n%s", models)
	}
	model := s.mustFerry(t, "model", "ferry-iris")
	if !strings.Contains(model, v1[1]) || !strings.Contains(model, v2[1]) {
		t.Errorf("model:\n%s", model)
	}
	// By its number.
	if out := s.mustFerry(t, "promote", "ferry-iris", v1[0], "--alias", "staging"); !strings.Contains(out, "ferry-iris@staging: - -> "+v1[1]) {
		t.Errorf("promote: %s", out)
	}
	// Promote the second version, then roll back: production goes back to
	// what it named before, shown and asked first.
	var models []struct {
		Name    string
		Aliases map[string]struct{ Version string }
	}
	if err := json.Unmarshal([]byte(s.mustFerry(t, "models", "--output", "json")), &models); err != nil {
		t.Fatal(err)
	}
	before := ""
	for _, m := range models {
		if m.Name == "ferry-iris" {
			before = m.Aliases["production"].Version
		}
	}
	if before == v2[1] {
		// Already there: move elsewhere first, so the promote is a move.
		s.mustFerry(t, "promote", "ferry-iris", v1[1])
		before = v1[1]
	}
	if out := s.mustFerry(t, "promote", "ferry-iris", v2[1]); !strings.Contains(out, before+" -> "+v2[1]) {
		t.Errorf("promote: %s", out)
	}
	if _, errOut, code := s.ferry(t, "n\n", "rollback", "ferry-iris"); code != 1 || !strings.Contains(errOut, v2[1]+" -> "+before) || !strings.Contains(errOut, "roll back? [y/N]") {
		t.Errorf("declined rollback: %d %s", code, errOut)
	}
	if out := s.mustFerry(t, "rollback", "ferry-iris", "--yes"); !strings.Contains(out, "ferry-iris@production: "+v2[1]+" -> "+before) {
		t.Errorf("rollback: %s", out)
	}
	if ds := s.mustFerry(t, "datasets"); !strings.Contains(ds, "s3://modelferry/datasets/") {
		t.Errorf("datasets:\n%s", ds)
	}

	// A queued run to cancel: behind a run of the same model on 200,000
	// rows × 50 features, which takes far longer than a cancel.
	big := filepath.Join(t.TempDir(), "big.csv")
	var b strings.Builder
	for j := range 50 {
		fmt.Fprintf(&b, "f%d,", j)
	}
	b.WriteString("label\n")
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 200_000 {
		for range 50 {
			fmt.Fprintf(&b, "%.3f,", r.NormFloat64())
		}
		fmt.Fprintf(&b, "k%d\n", i%3)
	}
	if err := os.WriteFile(big, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	slowID := strings.TrimSpace(s.mustFerry(t, "train", big, "--model", "ferry-slow"))
	queuedID := strings.TrimSpace(s.mustFerry(t, "train", iris, "--model", "ferry-slow"))
	if out := s.mustFerry(t, "cancel", queuedID); !strings.Contains(out, "cancelled") {
		t.Errorf("cancel: %s", out)
	}
	if _, errOut, code := s.ferry(t, "", "cancel", queuedID); code != 1 || !strings.Contains(errOut, "already ended: cancelled at ") ||
		!strings.Contains(errOut, "nothing to cancel") {
		t.Errorf("cancel twice: %d %s", code, errOut)
	}
	waitFor(t, "the big run to end", time.Minute, func() bool {
		return !strings.Contains(s.mustFerry(t, "run", slowID), "progress")
	})

	// Predictions: one row, then a whole file, against the iris predictor.
	var one struct{ Label string }
	if err := json.Unmarshal([]byte(s.mustFerry(t, "predict", seed)), &one); err != nil || one.Label != "setosa" {
		t.Errorf("predict one: %+v, %v", one, err)
	}
	scored := filepath.Join(t.TempDir(), "scored.csv")
	s.mustFerry(t, "predict", "--model", "iris", iris, "-o", scored, "--batch", "64")
	f, err := os.Open(scored)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) != 151 || strings.Join(recs[0], ",") != "sepal_length,sepal_width,petal_length,petal_width,species,label,p_setosa,p_versicolor,p_virginica" {
		t.Fatalf("scored CSV: %d records, header %v, %v", len(recs), recs[0], err)
	}
	agree := 0
	for _, rec := range recs[1:] {
		if rec[4] == rec[5] {
			agree++
		}
	}
	if agree < 140 {
		t.Errorf("only %d of 150 rows scored as their species", agree)
	}
	if out := s.mustFerry(t, "version"); !strings.HasPrefix(out, "ferry ") {
		t.Errorf("version: %q", out)
	}
	if out := s.mustFerry(t, "completion", "bash"); !strings.Contains(out, "bash completion") {
		t.Errorf("completion: %.100s", out)
	}
}
