package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"

	"github.com/modelferry/modelferry/devstack"
	"github.com/modelferry/modelferry/devstack/licenses"
	"github.com/modelferry/modelferry/devstack/querycheck"
)

// Fixed development credentials of the local S3 server; printed at start.
const (
	devAccessKey = "modelferry"
	devSecretKey = "modelferry-dev-secret"
)

func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: devstack run|bench|querycheck|licenses [flags]")
	}
	switch args[0] {
	case "run":
		return runStack(ctx, args[1:], stdout)
	case "bench":
		return bench(ctx, args[1:], stdout)
	case "querycheck":
		return querycheck.Run(args[1:], stdout)
	case "licenses":
		return licenses.Run(args[1:], stdout)
	}
	return fmt.Errorf("unknown command %q: want run, bench, querycheck or licenses", args[0])
}

func runStack(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	state := fs.String("state", ".data", "where S3 and Prometheus keep their data between runs")
	bin := fs.String("bin", "bin", "directory of the trainer and predictor binaries")
	data := fs.String("data", "data", "directory of default datasets")
	promConfig := fs.String("prometheus-config", "prometheus/prometheus.local.yml", "Prometheus configuration")
	if err := fs.Parse(args); err != nil {
		return err
	}
	vgw, err := exec.LookPath("versitygw")
	if err != nil {
		return errors.New("versitygw not found: run `make tools` (make run does)")
	}
	prom, err := exec.LookPath("prometheus")
	if err != nil {
		fmt.Fprintln(stdout, "prometheus is not installed (apt-get install prometheus): running without it")
		prom = ""
	}
	dataDir, err := filepath.Abs(*data)
	if err != nil {
		return err
	}
	cfg := devstack.Config{
		BinDir: *bin, Versitygw: vgw, Prometheus: prom, PrometheusConfig: *promConfig, PrometheusOptional: true,
		StateDir: *state, DataDir: dataDir,
		S3Addr: "127.0.0.1:9000", TrainerAddr: "127.0.0.1:8080", PredictorAddrs: []string{"127.0.0.1:8000"},
		PrometheusAddr: "127.0.0.1:9090", AccessKey: devAccessKey, SecretKey: devSecretKey, Out: stdout,
	}
	stack, err := devstack.Start(ctx, cfg)
	if err != nil {
		return err
	}
	promLine := "http://localhost:9090"
	switch {
	case prom == "":
		promLine = "not running (apt-get install prometheus)"
	case stack.Prometheus == nil:
		promLine = "not running (see above)"
	}
	fmt.Fprintf(stdout, `
modelferry is running (data in %s; a second make run keeps the models):
  S3 (versitygw)  http://localhost:9000   access key %s, secret key %s
  trainer         http://localhost:8080
  predictor       http://localhost:8000   (no model until the first training)
  prometheus      %s

Train, then predict:
  curl -X POST 'localhost:8080/train?wait=true'
  curl -X POST localhost:8000/predict -H 'Content-Type: application/json' \
    -d '{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}'

Ctrl-C stops everything.

`, *state, devAccessKey, devSecretKey, promLine)
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping...")
	stack.Stop()
	return nil
}
