// Command portcheck fails, in seconds, when a port `make run` needs is
// taken: `make run` calls it before building anything.
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/modelferry/modelferry/devstack/localports"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "make run:", err)
		os.Exit(1)
	}
}

func run(_ context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected arguments %q: the ports come from MODELFERRY_*_PORT", args)
	}
	ports, err := localports.Resolve(getenv)
	if err != nil {
		return err
	}
	if err := localports.Check(ports); err != nil {
		return err
	}
	fmt.Fprint(stdout, "ports free:")
	for _, p := range ports {
		fmt.Fprintf(stdout, " %s %s", p.Proc, p.Value)
	}
	fmt.Fprintln(stdout)
	return nil
}
