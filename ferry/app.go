package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/modelferry/modelferry/pkg/client"
)

// env is what the command gets from the process: main passes the real
// one, tests their own.
type env struct {
	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
	// interrupts delivers Ctrl-C; only main listens for signals.
	interrupts <-chan os.Signal
	// terminal says stdout is a terminal: bars and colours only then.
	terminal bool
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// app holds the global flags and the environment.
type app struct {
	env
	trainerURL, predictorURL, output string
	// token is the fallback of both servers' tokens; trainerToken and
	// predictorToken each go only to their own server.
	token, trainerToken, predictorToken string
	// tc and pc talk to the trainer and the predictor.
	tc, pc *client.Client
}

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // a failed run or request
	exitUsage  = 2
)

// usageError is a mistake on the command line (exit 2).
type usageError struct{ error }

// errFailedRun is a run that ended without succeeding (exit 1, already
// reported).
var errFailedRun = errors.New("the run did not succeed")

func run(args []string, e env) int {
	a := &app{env: e}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	err := root.ExecuteContext(context.Background())
	var ue usageError
	if err != nil && strings.HasPrefix(err.Error(), "unknown command") {
		err = usageError{err} // cobra's own, for a mistyped command
	}
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "ferry: %v\nRun 'ferry --help' for usage.\n", ue.error)
		return exitUsage
	case errors.Is(err, errFailedRun):
		return exitFailed
	}
	fmt.Fprintf(e.stderr, "ferry: %v\n", err)
	if hint := a.hint(err); hint != "" {
		fmt.Fprintf(e.stderr, "  %s\n", hint)
	}
	return exitFailed
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "ferry",
		Short: "Train, inspect, promote and query modelferry models",
		Long: `ferry talks to a modelferry trainer and predictor.

Configuration: flags, then FERRY_TRAINER_URL (default http://localhost:8080),
FERRY_PREDICTOR_URL (http://localhost:8000), FERRY_TRAINER_TOKEN and
FERRY_PREDICTOR_TOKEN (bearer tokens, each sent only to its own server) and
FERRY_TOKEN (the token of either server whose own token is not set). A token
never follows a redirect to another host or port.`,
		Example: `  ferry train data/iris.csv --model iris --wait
  ferry runs --model iris --limit 5
  ferry promote iris 20261126T221500Z-1a2b3c4d
  ferry predict --model iris flowers.csv -o scored.csv`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&a.trainerURL, "trainer", a.defaultEnv("FERRY_TRAINER_URL", "http://localhost:8080"), "trainer URL (FERRY_TRAINER_URL)")
	pf.StringVar(&a.predictorURL, "predictor", a.defaultEnv("FERRY_PREDICTOR_URL", "http://localhost:8000"), "predictor URL (FERRY_PREDICTOR_URL)")
	pf.StringVar(&a.token, "token", a.getenv("FERRY_TOKEN"), "bearer token of either server without its own (FERRY_TOKEN)")
	pf.StringVar(&a.trainerToken, "trainer-token", a.getenv("FERRY_TRAINER_TOKEN"), "bearer token of the trainer (FERRY_TRAINER_TOKEN)")
	pf.StringVar(&a.predictorToken, "predictor-token", a.getenv("FERRY_PREDICTOR_TOKEN"), "bearer token of the predictor (FERRY_PREDICTOR_TOKEN)")
	pf.StringVar(&a.output, "output", "table", "output format: table or json")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if a.output != "table" && a.output != "json" {
			return usageError{fmt.Errorf("--output %q: want table or json", a.output)}
		}
		var err error
		if a.tc, err = client.New(a.trainerURL, client.Options{Token: cmp.Or(a.trainerToken, a.token)}); err != nil {
			return usageError{err}
		}
		if a.pc, err = client.New(a.predictorURL, client.Options{Token: cmp.Or(a.predictorToken, a.token)}); err != nil {
			return usageError{err}
		}
		return nil
	}
	root.AddCommand(a.trainCommand(), a.runsCommand(), a.runCommand(), a.compareCommand(), a.cancelCommand(),
		a.modelsCommand(), a.modelCommand(), a.promoteCommand(), a.rollbackCommand(), a.datasetsCommand(),
		a.predictCommand(), a.versionCommand())
	return root
}

func (a *app) defaultEnv(name, def string) string {
	if v := a.getenv(name); v != "" {
		return v
	}
	return def
}

// args checks a command's positional arguments as a usage error.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// listing prints items: as JSON with --output json, else as a table of
// one row per item.
func listing[T any](a *app, items []T, header []string, row func(T) []string) error {
	if a.output == "json" {
		return a.printJSON(items)
	}
	rows := make([][]string, 0, len(items))
	for _, it := range items {
		rows = append(rows, row(it))
	}
	return a.table(header, rows)
}

// listCommand is a command without arguments that lists what fetch asks
// the trainer for: a table of header and a row per item, or JSON.
func listCommand[T any](a *app, use, short string, fetch func(*client.Client, context.Context) ([]T, error), header []string, row func(T) []string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			items, err := fetch(a.tc, cmd.Context())
			if err != nil {
				return err
			}
			return listing(a, items, header, row)
		},
	}
}

// hint says what to do about an error.
func (a *app) hint(err error) string {
	var ae *client.APIError
	var ne *net.OpError
	switch {
	case errors.As(err, &ae):
		switch {
		case ae.Status == 401 || ae.Status == 403:
			return "pass the server's token with --trainer-token/--predictor-token (FERRY_TRAINER_TOKEN, FERRY_PREDICTOR_TOKEN) or --token (FERRY_TOKEN)"
		case ae.Status == 404:
			return "list what exists with 'ferry runs', 'ferry models' or 'ferry datasets'"
		case ae.Status == 429:
			return "the training queue is full: try again when a run has finished ('ferry runs --status queued')"
		case ae.Status == 503:
			return "the server is not ready (storage down, no model yet, or shutting down): try again shortly"
		case ae.Code == "integrity":
			return "that version failed its integrity check: promote another one ('ferry model NAME' lists them)"
		case ae.Code == "conflict":
			return "it changed meanwhile: look again and retry"
		}
	case errors.As(err, &ne):
		return fmt.Sprintf("is modelferry running? 'make run' starts it; --trainer (%s) and --predictor (%s) say where it is", a.trainerURL, a.predictorURL)
	}
	return ""
}

// printJSON writes v as indented JSON.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes aligned columns.
func (a *app) table(header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// colour wraps s in an ANSI colour on a terminal.
func (a *app) colour(s string) string {
	if !a.terminal {
		return s
	}
	code := map[string]string{"succeeded": "32", "failed": "31", "cancelled": "33", "running": "36", "queued": "36"}[s]
	if code == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print ferry's version",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := "dev"
			if bi, ok := debug.ReadBuildInfo(); ok {
				if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
					v = bi.Main.Version
				}
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" && len(s.Value) >= 12 {
						v = s.Value[:12]
					}
				}
			}
			fmt.Fprintf(a.stdout, "ferry %s\n", v)
			return nil
		},
	}
}

// withEnv returns e reading its variables from vars (for tests).
func (e env) withEnv(vars map[string]string) env {
	e.getenv = func(k string) string { return vars[k] }
	return e
}
