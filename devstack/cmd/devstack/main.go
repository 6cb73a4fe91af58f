// Command devstack runs modelferry locally as processes (`make run`),
// measures it under load (`make bench`), checks alert rules and dashboard
// queries against a live Prometheus (`devstack querycheck`) and the licenses
// of the modules the binaries link (`devstack licenses`).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
}
