package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/modelferry/modelferry/devstack/mutation"
)

// target is a package whose operators are mutated, run against its own
// tests.
type target struct {
	name string
	pkg  string // go package pattern, relative to the repository root
}

var targets = []target{
	{"modelstore", "./pkg/modelstore"},
	{"reloader", "./services/predictor/internal/reloader"},
	{"serving", "./pkg/serving"},
	{"logreg", "./pkg/logreg"},
	{"dataset", "./pkg/dataset"},
	{"drift", "./pkg/drift"},
	{"pipeline", "./services/trainer/internal/pipeline"},
	{"registry", "./services/trainer/internal/registry"},
	{"jobs", "./services/trainer/internal/jobs"},
	{"monitor", "./services/predictor/internal/monitor"},
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("mutate", flag.ContinueOnError)
	fs.SetOutput(out)
	var names []string
	for _, t := range targets {
		names = append(names, t.name)
	}
	only := fs.String("targets", "named,"+strings.Join(names, ","), "comma-separated: named (the catalog) and packages to mutate operator by operator")
	e2e := fs.Bool("e2e", false, "run the named mutations that the end-to-end suite should catch against it too (slow)")
	workers := fs.Int("workers", 1, "mutants tested at once")
	timeout := fs.Duration("timeout", 10*time.Minute, "longest test run of one mutant")
	match := fs.String("match", "", "only mutants whose name matches this regular expression")
	list := fs.Bool("list", false, "list the mutants, run nothing")
	root := fs.String("root", "", "repository root (default: the directory holding go.work above the current one)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *root == "" {
		var err error
		if *root, err = findRoot(); err != nil {
			return err
		}
	}
	re, err := regexp.Compile(*match)
	if err != nil {
		return fmt.Errorf("-match: %w", err)
	}
	want := strings.Split(*only, ",")

	var mutants []*mutation.Mutant
	if slices.Contains(want, "named") {
		for _, n := range catalog {
			m, err := n.Mutant(*root)
			if err != nil {
				return err
			}
			if *e2e && n.e2e {
				m.Tests = append(m.Tests, "./devstack/e2e")
			}
			mutants = append(mutants, m)
		}
	}
	for _, t := range targets {
		if !slices.Contains(want, t.name) {
			continue
		}
		ms, err := operatorMutants(ctx, *root, t, *timeout, *list)
		if err != nil {
			return err
		}
		mutants = append(mutants, ms...)
	}
	mutants = slices.DeleteFunc(mutants, func(m *mutation.Mutant) bool { return !re.MatchString(m.ID) })
	if *list {
		for _, m := range mutants {
			fmt.Fprintf(out, "%-10s %s  (go test %s)\n", m.Target, m.ID, strings.Join(m.Tests, " "))
		}
		return nil
	}

	fmt.Fprintf(out, "%d mutants, %d workers\n", len(mutants), *workers)
	r := &mutation.Runner{Root: *root, Workers: *workers, Timeout: *timeout, Progress: func(res mutation.Result) {
		fmt.Fprintf(out, "%s  (%.1fs)\n", res.Line(), res.Elapsed.Seconds())
	}}
	results, err := r.Run(ctx, mutants)
	fmt.Fprintln(out)
	mutation.WriteReport(out, results)
	if err != nil {
		return err
	}
	for _, res := range results {
		if res.Mutant.Target == "named" && res.Status != mutation.Killed && res.Status != mutation.TimedOut {
			return errors.New("a named mutation was not killed: each names a bug the tests must catch")
		}
	}
	return nil
}

// operatorMutants lists t's operator mutations, marking those its tests
// never reach (found with one covered test run, skipped when listing).
func operatorMutants(ctx context.Context, root string, t target, timeout time.Duration, list bool) ([]*mutation.Mutant, error) {
	importPath, dir, sites, err := mutation.Operators(root, t.pkg)
	if err != nil {
		return nil, err
	}
	var cov *mutation.Coverage
	if !list {
		var took time.Duration
		if cov, took, err = mutation.Cover(ctx, root, importPath, dir, []string{t.pkg}, timeout); err != nil {
			return nil, fmt.Errorf("%s: %w", t.name, err)
		}
		// A mutant that loops forever is given up on long after the
		// suite's own time, build included.
		timeout = min(timeout, 10*took+30*time.Second)
	}
	var out []*mutation.Mutant
	for _, s := range sites {
		out = append(out, &mutation.Mutant{
			Target: t.name, ID: s.String(), File: s.File, Src: s.Src, Tests: []string{t.pkg}, Timeout: timeout,
			Uncovered: cov != nil && !cov.Covered(s.File, s.AnchorLine, s.AnchorCol),
		})
	}
	return out, nil
}

// findRoot walks up from the working directory to the one holding go.work.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.work above the working directory: pass -root")
		}
		dir = parent
	}
}
