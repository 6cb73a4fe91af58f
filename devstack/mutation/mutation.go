// Package mutation checks that tests notice bugs: it changes the source
// one mutation at a time, runs the tests meant to catch it, and reports
// the mutants the tests killed and those that survived.
//
// A mutant never touches the working tree: its source reaches the compiler
// through `go test -overlay`, passed in GOFLAGS so that builds the tests
// start themselves (the end-to-end suite compiles the services) see it too.
// That also makes it work inside a Go workspace, where tools that copy one
// module elsewhere lose the workspace's other modules and report every
// mutant of a module with a relative replace as killed by a build failure.
//
// Mutants come from two places: operator mutations generated from the
// syntax tree (Operators), run only where the package's tests reach
// (Coverage); and named mutations written by hand (Named), each a
// plausible bug such as "swap the model in before checking its hash".
package mutation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Status is what became of a mutant.
type Status int

// Statuses, in report order.
const (
	Survived   Status = iota // every test passed: a bug the tests miss
	Killed                   // a test failed
	TimedOut                 // the tests did not finish: counted as killed
	NotViable                // the mutant does not compile
	NotCovered               // no test runs the mutated code: not run
)

func (s Status) String() string {
	return [...]string{"SURVIVED", "KILLED", "TIMED OUT", "NOT VIABLE", "NOT COVERED"}[s]
}

// Mutant is one changed file and the tests that should notice.
type Mutant struct {
	// Target groups mutants in the report (a package, or "named").
	Target string
	// ID names the mutant: "decode.go:318:9 == -> !=" or a named
	// mutation's name.
	ID string
	// File is the absolute path of the source file; Src its mutated
	// content.
	File string
	Src  []byte
	// Tests are `go test` package patterns, relative to the runner's root;
	// Run optionally selects tests (-run).
	Tests []string
	Run   string
	// Uncovered marks an operator mutant no test reaches: it is reported
	// without running.
	Uncovered bool
	// Timeout, when set, replaces the runner's.
	Timeout time.Duration
}

// Result is the outcome of one mutant.
type Result struct {
	Mutant  *Mutant
	Status  Status
	Failed  []string // tests that failed, for killed mutants
	Output  string   // go test's output, for mutants that did not compile
	Elapsed time.Duration
}

// Runner runs mutants with `go test`.
type Runner struct {
	// Root is the directory go test runs in (the repository root).
	Root string
	// Workers is how many mutants run at once (at least 1).
	Workers int
	// Timeout bounds one mutant's tests; a mutant that loops forever is
	// timed out, not waited for.
	Timeout time.Duration
	// Progress, when set, is called after each mutant.
	Progress func(Result)
}

// Run tests every mutant and returns the results in the order given.
func (r *Runner) Run(ctx context.Context, mutants []*Mutant) ([]Result, error) {
	tmp, err := os.MkdirTemp("", "mutation-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	results := make([]Result, len(mutants))
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for w := range max(r.Workers, 1) {
		wg.Go(func() {
			for i := range next {
				res := r.test(ctx, filepath.Join(tmp, fmt.Sprint(w)), mutants[i])
				results[i] = res
				if r.Progress != nil {
					mu.Lock()
					r.Progress(res)
					mu.Unlock()
				}
			}
		})
	}
	for i := range mutants {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return results, ctx.Err()
}

func (r *Runner) test(ctx context.Context, dir string, m *Mutant) (res Result) {
	res.Mutant = m
	if m.Uncovered {
		res.Status = NotCovered
		return res
	}
	start := time.Now()
	defer func() { res.Elapsed = time.Since(start) }()
	overlay, err := writeOverlay(dir, m)
	if err != nil {
		res.Status, res.Output = NotViable, err.Error()
		return res
	}
	timeout := r.Timeout
	if m.Timeout > 0 {
		timeout = m.Timeout
	}
	// Vet would stop some mutants before any test ran (x == 'a' && x ==
	// 'b' is suspect to it): the tests are what is measured.
	args := []string{"test", "-json", "-count=1", "-vet=off", "-timeout", timeout.String()}
	if m.Run != "" {
		args = append(args, "-run", m.Run)
	}
	out, err := goTest(ctx, r.Root, timeout+30*time.Second, overlay, append(args, m.Tests...))
	if err == nil {
		res.Status = Survived
		return res
	}
	ev := readEvents(out)
	switch {
	case errors.Is(err, context.DeadlineExceeded) || ev.timedOut:
		res.Status = TimedOut
	case ev.buildFailed:
		res.Status, res.Output = NotViable, ev.output.String()
	default:
		res.Status, res.Failed = Killed, ev.failed
	}
	return res
}

// events is what a `go test -json` run reports.
type events struct {
	failed      []string // pkg.Test of failing tests, leaves only
	buildFailed bool
	timedOut    bool
	output      strings.Builder
}

func readEvents(out []byte) events {
	var ev events
	var failed []string
	for _, line := range bytes.Split(out, []byte("\n")) {
		var e struct {
			Action, Package, ImportPath, Test, Output, FailedBuild string
		}
		if json.Unmarshal(line, &e) != nil {
			ev.output.Write(line) // go's own messages
			ev.output.WriteByte('\n')
			continue
		}
		ev.output.WriteString(e.Output)
		switch {
		case e.Action == "build-fail" || e.FailedBuild != "":
			ev.buildFailed = true
		case e.Action == "fail" && e.Test != "":
			failed = append(failed, path.Base(e.Package)+"."+e.Test)
		}
		if strings.Contains(e.Output, "panic: test timed out after") {
			ev.timedOut = true
		}
	}
	ev.failed = leaves(failed)
	return ev
}

// leaves names the failing tests briefly: a test with one failing subtest
// by that subtest, one with several by itself and their count.
func leaves(failed []string) []string {
	var out []string
	for _, f := range failed {
		if strings.Contains(f, "/") {
			continue
		}
		var subs []string
		for _, g := range failed {
			if strings.HasPrefix(g, f+"/") && !slices.ContainsFunc(failed, func(h string) bool { return strings.HasPrefix(h, g+"/") }) {
				subs = append(subs, g)
			}
		}
		switch len(subs) {
		case 0:
			out = append(out, f)
		case 1:
			out = append(out, subs[0])
		default:
			out = append(out, fmt.Sprintf("%s (%d subtests)", f, len(subs)))
		}
	}
	return out
}

// writeOverlay writes the mutated source and the overlay file naming it.
func writeOverlay(dir string, m *Mutant) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	src := filepath.Join(dir, filepath.Base(m.File))
	if err := os.WriteFile(src, m.Src, 0o644); err != nil {
		return "", err
	}
	b, err := json.Marshal(map[string]map[string]string{"Replace": {m.File: src}})
	if err != nil {
		return "", err
	}
	overlay := filepath.Join(dir, "overlay.json")
	return overlay, os.WriteFile(overlay, b, 0o644)
}

// goTest runs go with args in dir, the overlay (if any) in GOFLAGS so that
// go commands the tests run inherit it. Past timeout its whole process
// group is killed.
func goTest(ctx context.Context, dir string, timeout time.Duration, overlay string, args []string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	if overlay != "" {
		flags := strings.TrimSpace(os.Getenv("GOFLAGS") + " -overlay=" + overlay)
		cmd.Env = append(cmd.Env, "GOFLAGS="+flags)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return out, ctx.Err()
	}
	return out, err
}
