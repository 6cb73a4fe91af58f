package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/modelferry/modelferry/devstack/licenses"
	"github.com/modelferry/modelferry/devstack/localrun"
	"github.com/modelferry/modelferry/devstack/querycheck"
)

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: devstack run|bench|querycheck|licenses [flags]")
	}
	switch args[0] {
	case "run":
		return localrun.Run(ctx, args[1:], getenv, stdout)
	case "bench":
		return bench(ctx, args[1:], stdout)
	case "querycheck":
		return querycheck.Run(args[1:], stdout)
	case "licenses":
		return licenses.Run(args[1:], stdout)
	}
	return fmt.Errorf("unknown command %q: want run, bench, querycheck or licenses", args[0])
}
