package service

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/gin-gonic/gin"
)

// RunFunc is a service's testable entry point: it runs until ctx ends.
type RunFunc func(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error

// Main is all a service's main function does: it runs run with the
// process's arguments, environment and standard output, until SIGINT or
// SIGTERM, and exits 1 with the error. Only main calls it: signals are the
// process's, never a library's.
func Main(name string, run RunFunc) {
	gin.SetMode(gin.ReleaseMode)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}
