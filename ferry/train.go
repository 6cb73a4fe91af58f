package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/modelferry/modelferry/pkg/client"
)

type trainFlags struct {
	model, label, dataset string
	name                  string
	c, testFraction, tol  float64
	maxIter               int
	seed                  uint64
	noStandardize, wait   bool
	searchC, scoring      string
	folds                 int
	// The table's parameters (design.md §9).
	features, drop, categorical, numeric, naValues []string
	impute, classWeight, weight                    string
	addIndicator                                   bool
	maxCategories                                  int
	minFrequency                                   float64
}

func (a *app) trainCommand() *cobra.Command {
	var f trainFlags
	cmd := &cobra.Command{
		Use:   "train [FILE.csv]",
		Short: "Train a model on a CSV file, a stored dataset, or the model's default data",
		Long: `Train uploads FILE.csv (with a progress bar on a terminal) and starts a run.
Without --wait it prints the run's id; with --wait it follows the run live
(stage, iterations against --max-iter, the loss) and ends with a summary:
the version, its accuracy, and whether production moved (or why not).
Ctrl-C while waiting asks whether to cancel the run.

--search-c makes the run a search: every C of the grid is scored by
stratified k-fold cross-validation on the training rows (--folds,
--scoring), the best is refit, evaluated and published; --wait then shows
the fits done and the best so far, and ends with the table of results.`,
		Example: `  ferry train data/iris.csv --model iris --wait
  ferry train wine.csv --model wine --label class --c 0.5 --test-fraction 0.25
  ferry train --model iris --dataset datasets/<sha256>.csv --wait
  ferry train data/iris.csv --search-c 1e-4:1e4:10 --folds 5 --scoring accuracy --wait
  ferry train customers.csv --model churn --drop id --categorical zip --impute median --class-weight balanced`,
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 && f.dataset != "" {
				return usageError{errors.New("give a FILE or --dataset, not both")}
			}
			return a.train(cmd, args, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.model, "model", "iris", "model name")
	fl.StringVar(&f.label, "label", "", "label column (default: the last column)")
	fl.StringVar(&f.dataset, "dataset", "", "a dataset already in the bucket (datasets/<sha256>.csv)")
	fl.Float64Var(&f.c, "c", 1, "inverse L2 regularization strength")
	fl.Float64Var(&f.testFraction, "test-fraction", 0.2, "share of rows held out for evaluation (0 fits on every row)")
	fl.Float64Var(&f.tol, "tol", 1e-8, "stopping tolerance on the gradient")
	fl.IntVar(&f.maxIter, "max-iter", 1000, "most solver iterations")
	fl.Uint64Var(&f.seed, "seed", 42, "seed of the stratified split")
	fl.BoolVar(&f.noStandardize, "no-standardize", false, "fit on the raw features")
	fl.BoolVar(&f.wait, "wait", false, "follow the run to its end")
	fl.StringVar(&f.searchC, "search-c", "", "search C by cross-validation: start:stop:n (log-spaced, 1e-4:1e4:10) or c1,c2,...")
	fl.IntVar(&f.folds, "folds", 5, "folds of the search's stratified cross-validation")
	fl.StringVar(&f.scoring, "scoring", "neg_log_loss", "the search's score: neg_log_loss, accuracy or f1_macro")
	fl.StringArrayVar(&f.features, "features", nil, "only this column (repeat for more, in order; default: every column but the label)")
	fl.StringArrayVar(&f.drop, "drop", nil, "ignore this column, an ID for instance (repeat for more)")
	fl.StringArrayVar(&f.categorical, "categorical", nil, "treat this numeric-looking column (codes, years) as categorical (repeat for more)")
	fl.StringArrayVar(&f.numeric, "numeric", nil, "force this column numeric (repeat for more)")
	fl.StringArrayVar(&f.naValues, "na-values", nil, "a string read as missing, replacing pandas' default list (repeat for more)")
	fl.StringVar(&f.impute, "impute", "", "missing numeric cells: mean (default), median or most_frequent")
	fl.BoolVar(&f.addIndicator, "add-indicator", false, "add a 0/1 \"was missing\" feature per numeric column with missing values")
	fl.IntVar(&f.maxCategories, "max-categories", 0, "group rare categories so a column has at most this many")
	fl.Float64Var(&f.minFrequency, "min-frequency", 0, "group categories rarer than this share (0-1) or count (>= 1)")
	fl.StringVar(&f.classWeight, "class-weight", "", `"balanced" or a JSON object of weights per class, '{"yes": 2}'`)
	fl.StringVar(&f.weight, "weight", "", "the column of sample weights")
	fl.StringVar(&f.name, "name", "", "the run's name (default: one generated from its id, like brave-otter-42)")
	return cmd
}

func (a *app) train(cmd *cobra.Command, args []string, f trainFlags) error {
	params := url.Values{}
	for _, p := range []struct {
		name, value string
	}{
		{"c", strconv.FormatFloat(f.c, 'g', -1, 64)},
		{"test_fraction", strconv.FormatFloat(f.testFraction, 'g', -1, 64)},
		{"tol", strconv.FormatFloat(f.tol, 'g', -1, 64)},
		{"max_iter", strconv.Itoa(f.maxIter)},
		{"seed", strconv.FormatUint(f.seed, 10)},
		{"standardize", strconv.FormatBool(!f.noStandardize)},
		{"search_c", f.searchC},
		{"folds", strconv.Itoa(f.folds)},
		{"scoring", f.scoring},
	} {
		if cmd.Flags().Changed(strings.ReplaceAll(p.name, "_", "-")) || (p.name == "standardize" && f.noStandardize) {
			params.Set(p.name, p.value)
		}
	}
	for key, v := range map[string][]string{"features": f.features, "drop": f.drop, "categorical": f.categorical,
		"numeric": f.numeric, "na_values": f.naValues} {
		if v != nil {
			params[key] = v
		}
	}
	for key, v := range map[string]string{"impute": f.impute, "class_weight": f.classWeight, "weight": f.weight} {
		if v != "" {
			params.Set(key, v)
		}
	}
	if f.addIndicator {
		params.Set("add_indicator", "true")
	}
	if f.maxCategories != 0 {
		params.Set("max_categories", strconv.Itoa(f.maxCategories))
	}
	if f.minFrequency != 0 {
		params.Set("min_frequency", strconv.FormatFloat(f.minFrequency, 'g', -1, 64))
	}
	req := client.TrainRequest{Model: f.model, Dataset: f.dataset, Label: f.label, Params: params, Name: f.name}
	start := time.Now()
	if len(args) == 1 {
		file, err := os.Open(args[0])
		if err != nil {
			return usageError{err}
		}
		defer file.Close()
		st, err := file.Stat()
		if err != nil {
			return err
		}
		req.Body, req.Size, req.Filename = file, st.Size(), filepath.Base(args[0])
		if a.terminal && a.output == "table" {
			bar := progressbar.NewOptions64(st.Size(), progressbar.OptionSetWriter(a.stderr),
				progressbar.OptionSetDescription("uploading "+args[0]), progressbar.OptionShowBytes(true),
				progressbar.OptionShowTotalBytes(true), progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionClearOnFinish())
			req.Body = io.TeeReader(file, bar)
			defer bar.Close()
		} else if a.output == "table" {
			fmt.Fprintf(a.stderr, "uploading %s (%s)\n", args[0], humanBytes(st.Size()))
		}
	}
	run, err := a.tc.Train(cmd.Context(), req)
	if err != nil {
		return err
	}
	if !f.wait {
		if a.output == "json" {
			return a.printJSON(run)
		}
		fmt.Fprintf(a.stdout, "%s\n", run.ID)
		if a.terminal {
			fmt.Fprintf(a.stderr, "run %s is %s: follow it with 'ferry run %s'\n", run.ID, run.Status, run.ID)
		}
		return nil
	}
	if a.output == "table" {
		fmt.Fprintf(a.stderr, "run %s %s (%s)\n", run.ID, run.Status, time.Since(start).Round(time.Millisecond))
	}
	final, err := a.follow(cmd.Context(), run, f.maxIter)
	if err != nil {
		return err
	}
	return a.summary(final, time.Since(start))
}

// follow shows a run's progress until it ends. Ctrl-C asks whether to
// cancel it.
func (a *app) follow(ctx context.Context, run client.Run, maxIter int) (client.Run, error) {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	show := a.progressView(maxIter)
	defer show.done()
	end := func(r client.Run, err error) (client.Run, error) {
		if err == nil {
			show.end(r)
		}
		return r, err
	}
	type result struct {
		run client.Run
		err error
	}
	results := make(chan result, 1)
	go func() {
		r, err := a.tc.Events(ctx, run.ID, show.update)
		results <- result{r, err}
	}()
	for {
		select {
		case r := <-results:
			return end(r.run, r.err)
		case <-a.interrupts:
			// Following stops before the question: no progress is written
			// while it waits, nor after this returns.
			stop()
			if r := <-results; r.err == nil {
				return r.run, nil // it ended meanwhile
			}
			show.pause()
			if a.confirm(fmt.Sprintf("cancel run %s?", run.ID)) {
				cancelled, err := a.tc.Cancel(context.WithoutCancel(ctx), run.ID)
				if err != nil {
					return client.Run{}, err
				}
				return cancelled, nil
			}
			fmt.Fprintf(a.stderr, "the run goes on; follow it again with 'ferry run %s'\n", run.ID)
			return client.Run{}, errFailedRun
		}
	}
}

// confirm asks a yes/no question on stderr and reads the answer.
func (a *app) confirm(question string) bool {
	fmt.Fprintf(a.stderr, "%s [y/N] ", question)
	line, _ := bufio.NewReader(a.stdin).ReadString('\n')
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes"
}

// progressView shows progress events: a bar against max_iter on a
// terminal, plain lines (a stage change, or at most one a second)
// elsewhere.
type progressView struct {
	a       *app
	bar     *progressbar.ProgressBar
	stage   string
	printed time.Time
	last    int // the last iteration seen
}

func (a *app) progressView(maxIter int) *progressView {
	v := &progressView{a: a}
	if a.terminal && a.output == "table" {
		v.bar = progressbar.NewOptions(maxIter, progressbar.OptionSetWriter(a.stderr),
			progressbar.OptionSetDescription("queued"), progressbar.OptionSetWidth(30),
			progressbar.OptionShowCount(), progressbar.OptionThrottle(50*time.Millisecond), progressbar.OptionSetPredictTime(false),
			progressbar.OptionSetRenderBlankState(true))
	}
	return v
}

func (v *progressView) update(p client.Progress) {
	stage := p.Stage
	if stage == "" {
		stage = p.Status
	}
	v.last = max(v.last, p.Iteration)
	if v.bar != nil {
		desc := fmt.Sprintf("%-10s", stage)
		if p.FitsTotal > 0 {
			desc += " " + searchProgress(p)
		} else if p.Iteration > 0 {
			desc += fmt.Sprintf(" loss %.6g", p.Loss)
		} else if p.BytesTotal > 0 {
			desc += fmt.Sprintf(" %s of %s", humanBytes(p.BytesRead), humanBytes(p.BytesTotal))
		}
		v.bar.Describe(desc)
		_ = v.bar.Set(p.Iteration)
		return
	}
	if v.a.output != "table" {
		return
	}
	if stage != v.stage || time.Since(v.printed) >= time.Second {
		line := stage
		if p.FitsTotal > 0 {
			line += " " + searchProgress(p)
		} else if p.Iteration > 0 {
			line += fmt.Sprintf(" iteration %d loss %.6g grad_norm %.3g", p.Iteration, p.Loss, p.GradNorm)
		}
		fmt.Fprintln(v.a.stderr, line)
		v.stage, v.printed = stage, time.Now()
	}
}

func (v *progressView) pause() {
	if v.bar != nil {
		fmt.Fprintln(v.a.stderr)
	}
}

// end shows how the run ended: its status as the bar's label, and the bar
// full at the iterations it ran, however few events arrived (a fast run
// ends before the first one).
func (v *progressView) end(r client.Run) {
	if v.bar == nil {
		return
	}
	v.bar.Describe(fmt.Sprintf("%-10s", r.Status))
	if r.Iterations > 0 {
		v.last = max(v.last, r.Iterations)
		v.bar.ChangeMax(v.last)
		_ = v.bar.Set(v.last)
	}
}

func (v *progressView) done() {
	if v.bar != nil {
		// A run ends when it converges, mostly long before max_iter: the
		// bar ends full at the last iteration.
		if v.last > 0 {
			v.bar.ChangeMax(v.last)
		}
		v.last = 0
		_ = v.bar.Finish()
		fmt.Fprintln(v.a.stderr)
	}
}

// summary prints how a run ended; a run that did not succeed is exit 1.
func (a *app) summary(run client.Run, took time.Duration) error {
	if a.output == "json" {
		if err := a.printJSON(run); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.stdout, "run       %s %s in %s\n", run.ID, a.colour(run.Status), took.Round(time.Millisecond))
		if run.Error != nil {
			fmt.Fprintf(a.stdout, "error     %s: %s\n", run.Error.Code, run.Error.Message)
		}
		if run.Version != "" {
			fmt.Fprintf(a.stdout, "version   %s\n", versionName(run.Version, run.VersionNumber))
		}
		if run.Metrics != nil {
			fmt.Fprintf(a.stdout, "accuracy  %.4f (log loss %.4f, macro F1 %.4f, on %s data)\n",
				run.Metrics.Accuracy, run.Metrics.LogLoss, run.Metrics.MacroF1, run.MetricsOn)
		}
		if run.Status == "succeeded" {
			if run.Promoted {
				fmt.Fprintf(a.stdout, "promoted  production -> %s\n", run.Version)
			} else {
				fmt.Fprintf(a.stdout, "promoted  no: %s\n", run.PromotionReason)
				if run.Version != "" {
					v := run.Version
					if run.VersionNumber > 0 {
						v = strconv.Itoa(run.VersionNumber)
					}
					fmt.Fprintf(a.stdout, "          promote it with 'ferry promote %s %s'\n", run.Model, v)
				}
			}
		}
	}
	if run.Search != nil && a.output != "json" {
		fmt.Fprintln(a.stdout)
		if err := a.searchTable(run.Search); err != nil {
			return err
		}
	}
	if run.Status != "succeeded" {
		return errFailedRun
	}
	return nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
