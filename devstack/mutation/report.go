package mutation

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
)

// Summary counts one target's results by status.
type Summary struct {
	Target string
	Counts [NotCovered + 1]int
}

// Score is the share of the mutants run that the tests killed (timeouts
// count as killed), or 1 when none ran.
func (s Summary) Score() float64 {
	killed := s.Counts[Killed] + s.Counts[TimedOut]
	if killed+s.Counts[Survived] == 0 {
		return 1
	}
	return float64(killed) / float64(killed+s.Counts[Survived])
}

// Summarize counts results per target, targets in order of appearance.
func Summarize(results []Result) []Summary {
	var out []Summary
	index := map[string]int{}
	for _, r := range results {
		if r.Mutant == nil {
			continue // not run: interrupted
		}
		i, ok := index[r.Mutant.Target]
		if !ok {
			i = len(out)
			index[r.Mutant.Target] = i
			out = append(out, Summary{Target: r.Mutant.Target})
		}
		out[i].Counts[r.Status]++
	}
	return out
}

// Line formats one result: status, mutant and what killed it.
func (r Result) Line() string {
	s := fmt.Sprintf("%-11s %s", r.Status, r.Mutant.ID)
	if src := sourceLine(r.Mutant); src != "" {
		s += "   | " + src
	}
	if len(r.Failed) > 0 {
		s += "\n            killed by " + strings.Join(r.Failed, ", ")
	}
	return s
}

// sourceLine is the original line an operator mutant changes, for reading
// the report without the source at hand.
func sourceLine(m *Mutant) string {
	var line int
	if _, err := fmt.Sscanf(m.ID[strings.Index(m.ID, ":")+1:], "%d:", &line); err != nil || m.Target == "named" {
		return ""
	}
	src, err := os.ReadFile(m.File)
	if err != nil {
		return ""
	}
	lines := bytes.Split(src, []byte("\n"))
	if line < 1 || line > len(lines) {
		return ""
	}
	return strings.TrimSpace(string(lines[line-1]))
}

// WriteReport writes the mutants that survived or did not compile, then
// one line per target.
func WriteReport(w io.Writer, results []Result) {
	for _, r := range results {
		if r.Mutant != nil && (r.Status == Survived || r.Status == NotViable) {
			fmt.Fprintln(w, r.Line())
		}
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tkilled\ttimed out\tsurvived\tnot viable\tnot covered\tscore\t")
	for _, s := range Summarize(results) {
		c := s.Counts
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%.1f%%\t\n", s.Target, c[Killed], c[TimedOut], c[Survived], c[NotViable], c[NotCovered], 100*s.Score())
	}
	_ = tw.Flush()
}
