package console

import (
	"regexp"
	"strings"
	"testing"
)

// Compare keeps the columns in the order the runs were picked, warns when
// the runs were scored on different test sets, and marks a best only
// between runs scored on the same one.
func TestCompareMarksBestOnlyBetweenComparableRuns(t *testing.T) {
	e := newEnv(t)
	a := e.train(t, "")
	b := e.train(t, "c=0.01&standardize=false&max_iter=20")
	other := e.train(t, "test_fraction=0.3") // another test set
	header := regexp.MustCompile(`<th class="mono">([^<]+)</th>`)
	for _, tc := range []struct {
		name  string
		runs  []string
		marks int
		warn  bool
	}{
		{"one test set", []string{b.ID, a.ID}, 3, false},
		{"two test sets, alone in one", []string{other.ID, a.ID}, 0, true},
		{"two test sets, two in one", []string{a.ID, other.ID, b.ID}, 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, body := e.get("/ui/compare?run=" + strings.Join(tc.runs, "&run="))
			var cols []string
			for _, m := range header.FindAllStringSubmatch(body, -1) {
				cols = append(cols, m[1])
			}
			if strings.Join(cols, " ") != strings.Join(tc.runs, " ") {
				t.Errorf("columns %v, want the order picked %v", cols, tc.runs)
			}
			if n := strings.Count(body, "★ best"); n != tc.marks {
				t.Errorf("%d best marks, want %d", n, tc.marks)
			}
			if got := strings.Contains(body, `id="test-sets-differ"`); got != tc.warn {
				t.Errorf("warning shown %v, want %v", got, tc.warn)
			}
			for _, row := range []string{"duration", "iterations"} {
				if m := regexp.MustCompile(`<tr><th>` + row + `</th>.*?</tr>`).FindString(body); strings.Contains(m, "best") {
					t.Errorf("%s is marked best: %s", row, m)
				}
			}
		})
	}
}
