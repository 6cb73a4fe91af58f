// Command mutate runs the mutation tests of `make mutate`: operator
// mutations over the packages where a silent bug costs most, and the named
// mutations of catalog.go, each against the tests meant to catch it.
//
//	go run ./devstack/cmd/mutate [-targets named,reloader,serving,logreg,modelstore] [-e2e] [-workers 1] [-match re] [-list]
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
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mutate:", err)
		os.Exit(1)
	}
}
