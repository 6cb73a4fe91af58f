// Package envconfig reads a service's configuration from environment
// variables. Each variable is declared once with its default and
// description; the same declarations print --help and log the loaded
// configuration with secrets masked.
package envconfig

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Env collects declarations and parse errors. Create it with New, declare
// every variable, then check Err.
type Env struct {
	getenv   func(string) string
	readFile func(string) ([]byte, error)
	vars     []variable
	errs     []error
}

type variable struct {
	name, def, help string
	secret          bool
	value           string
}

// New reads variables through getenv (os.Getenv in main, a map in tests).
func New(getenv func(string) string) *Env {
	return &Env{getenv: getenv, readFile: os.ReadFile}
}

func (e *Env) lookup(name, def, help string, secret bool) string {
	v := e.getenv(name)
	if secret {
		if path := e.getenv(name + "_FILE"); path != "" {
			if v != "" {
				e.errs = append(e.errs, fmt.Errorf("%s and %s_FILE are both set; set one", name, name))
			}
			b, err := e.readFile(path)
			if err != nil {
				e.errs = append(e.errs, fmt.Errorf("%s_FILE: %w", name, err))
			}
			v = strings.TrimRight(string(b), "\r\n")
		}
	}
	if v == "" {
		v = def
	}
	e.vars = append(e.vars, variable{name: name, def: def, help: help, secret: secret, value: v})
	return v
}

// String declares a string variable.
func (e *Env) String(name, def, help string) string { return e.lookup(name, def, help, false) }

// Secret declares a string variable that may also come from the file named
// by NAME_FILE and is masked when logged.
func (e *Env) Secret(name, help string) string { return e.lookup(name, "", help, true) }

// Int declares an integer variable.
func (e *Env) Int(name string, def int, help string) int {
	s := e.lookup(name, strconv.Itoa(def), help, false)
	v, err := strconv.Atoi(s)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s: %q is not an integer", name, s))
	}
	return v
}

// Int64 declares a 64-bit integer variable, such as a size in bytes.
func (e *Env) Int64(name string, def int64, help string) int64 {
	s := e.lookup(name, strconv.FormatInt(def, 10), help, false)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s: %q is not an integer", name, s))
	}
	return v
}

// Float declares a floating-point variable.
func (e *Env) Float(name string, def float64, help string) float64 {
	s := e.lookup(name, strconv.FormatFloat(def, 'g', -1, 64), help, false)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s: %q is not a number", name, s))
	}
	return v
}

// Bool declares a boolean variable (true/false/1/0).
func (e *Env) Bool(name string, def bool, help string) bool {
	s := e.lookup(name, strconv.FormatBool(def), help, false)
	v, err := strconv.ParseBool(s)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s: %q is not a boolean", name, s))
	}
	return v
}

// Duration declares a duration variable ("1s", "500ms").
func (e *Env) Duration(name string, def time.Duration, help string) time.Duration {
	s := e.lookup(name, def.String(), help, false)
	v, err := time.ParseDuration(s)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s: %q is not a duration", name, s))
	}
	return v
}

// Fail records a validation error found by the caller.
func (e *Env) Fail(format string, args ...any) {
	e.errs = append(e.errs, fmt.Errorf(format, args...))
}

// Err returns every parse and validation error, joined.
func (e *Env) Err() error { return errors.Join(e.errs...) }

// Usage writes the declared variables with their defaults.
func (e *Env) Usage(w io.Writer) {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tDEFAULT\tDESCRIPTION")
	for _, v := range e.vars {
		name := v.name
		if v.secret {
			name += " (or " + v.name + "_FILE)"
		}
		def := v.def
		if def == "" {
			def = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", name, def, v.help)
	}
	_ = tw.Flush()
}

// LogValue lists the loaded values, secrets masked, for a start-up log line.
func (e *Env) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, len(e.vars))
	for _, v := range e.vars {
		val := v.value
		if v.secret && val != "" {
			val = "***"
		}
		attrs = append(attrs, slog.String(v.name, val))
	}
	return slog.GroupValue(attrs...)
}

// Command is what a service's command line asks for.
type Command int

// Commands of ParseArgs.
const (
	Serve       Command = iota // no arguments: run the service
	Help                       // --help: usage printed, nothing else to do
	Healthcheck                // "healthcheck": check a running instance
)

// ParseArgs reads a service's command line, after every variable is
// declared: --help prints the usage with the variables, "healthcheck" asks
// to check a running instance. For Serve and Healthcheck it also returns
// the configuration's errors.
func (e *Env) ParseArgs(name, summary string, args []string, w io.Writer) (Command, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprintf(w, "Usage: %s [healthcheck]\n\n%s Configured by environment variables:\n", name, summary)
		e.Usage(w)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Help, nil
		}
		return Serve, err
	}
	cmd := Serve
	switch {
	case fs.NArg() == 1 && fs.Arg(0) == "healthcheck":
		cmd = Healthcheck
	case fs.NArg() > 0:
		return Serve, fmt.Errorf("unknown command %q: %s takes only healthcheck or --help", fs.Arg(0), name)
	}
	if err := e.Err(); err != nil {
		return cmd, fmt.Errorf("config: %w", err)
	}
	return cmd, nil
}
