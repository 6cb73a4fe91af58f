// Command ferry is modelferry's command-line client: it trains models with
// live progress, lists and compares runs, promotes and rolls back
// versions, and scores CSV files against a predictor. Run `ferry --help`.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	interrupts := make(chan os.Signal, 1)
	signal.Notify(interrupts, os.Interrupt, syscall.SIGTERM)
	os.Exit(run(os.Args[1:], env{
		getenv: os.Getenv, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr,
		interrupts: interrupts, terminal: isTerminal(os.Stdout),
	}))
}
