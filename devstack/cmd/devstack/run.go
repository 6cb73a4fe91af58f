package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/modelferry/modelferry/devstack"
	"github.com/modelferry/modelferry/devstack/licenses"
	"github.com/modelferry/modelferry/devstack/querycheck"
)

// Fixed development credentials of the local S3 server; printed at start.
const (
	devAccessKey = "modelferry"
	devSecretKey = "modelferry-dev-secret"
)

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: devstack run|bench|querycheck|licenses [flags]")
	}
	switch args[0] {
	case "run":
		return runStack(ctx, args[1:], getenv, stdout)
	case "bench":
		return bench(ctx, args[1:], stdout)
	case "querycheck":
		return querycheck.Run(args[1:], stdout)
	case "licenses":
		return licenses.Run(args[1:], stdout)
	}
	return fmt.Errorf("unknown command %q: want run, bench, querycheck or licenses", args[0])
}

// runPorts are the ports `make run` listens on, each from a variable.
func runPorts() []struct{ proc, env, def string } {
	return []struct{ proc, env, def string }{
		{"s3", "MODELFERRY_S3_PORT", "9000"},
		{"trainer", "MODELFERRY_TRAINER_PORT", "8080"},
		{"predictor", "MODELFERRY_PREDICTOR_PORT", "8000"},
		{"predictor-grpc", "MODELFERRY_PREDICTOR_GRPC_PORT", "8001"},
		{"prometheus", "MODELFERRY_PROMETHEUS_PORT", "9090"},
	}
}

func runStack(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	state := fs.String("state", ".data", "where S3 and Prometheus keep their data between runs")
	bin := fs.String("bin", "bin", "directory of the trainer and predictor binaries")
	data := fs.String("data", "data", "directory of default datasets")
	promConfig := fs.String("prometheus-config", "prometheus/prometheus.local.yml", "Prometheus configuration; its targets are replaced by the ports in use")
	if err := fs.Parse(args); err != nil {
		return err
	}
	port, portVar := map[string]string{}, map[string]string{}
	for _, v := range runPorts() {
		p := getenv(v.env)
		if p == "" {
			p = v.def
		}
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%s=%q: want a port number, 1 to 65535", v.env, p)
		}
		port[v.proc], portVar[v.proc] = p, v.env
	}
	vgw, err := exec.LookPath("versitygw")
	if err != nil {
		return errors.New("versitygw not found: run `make tools` (make run does)")
	}
	prom, err := exec.LookPath("prometheus")
	if err != nil {
		fmt.Fprintln(stdout, "prometheus is not on PATH (make test-tools builds it into .tools/bin): running without it")
		prom = ""
	}
	dataDir, err := filepath.Abs(*data)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*state, 0o755); err != nil {
		return err
	}
	promFile := filepath.Join(*state, "prometheus.yml")
	if err := writePrometheusConfig(*promConfig, promFile, map[string]string{
		"prometheus": "localhost:" + port["prometheus"], "trainer": "localhost:" + port["trainer"],
		"predictor": "localhost:" + port["predictor"],
	}); err != nil {
		return err
	}
	cfg := devstack.Config{
		BinDir: *bin, Versitygw: vgw, Prometheus: prom, PrometheusConfig: promFile,
		StateDir: *state, DataDir: dataDir,
		S3Addr: "127.0.0.1:" + port["s3"], TrainerAddr: "127.0.0.1:" + port["trainer"],
		PredictorAddrs: []string{"127.0.0.1:" + port["predictor"]}, PredictorGRPCAddrs: []string{"127.0.0.1:" + port["predictor-grpc"]},
		PrometheusAddr: "127.0.0.1:" + port["prometheus"],
		AccessKey:      devAccessKey, SecretKey: devSecretKey, Out: stdout,
		// The predictor serves every model of the bucket.
		Env: map[string]string{"PREDICTOR_MODELS": "*"},
	}
	stack, err := devstack.Start(ctx, cfg)
	if pe := (*devstack.PortError)(nil); errors.As(err, &pe) {
		return fmt.Errorf("%w\nstop that program, or choose another port: %s=<port> make run", err, portVar[pe.Proc])
	}
	if err != nil {
		return err
	}
	promLine := "http://localhost:" + port["prometheus"]
	if prom == "" {
		promLine = "not running (make test-tools builds it)"
	}
	fmt.Fprintf(stdout, `
modelferry is running (data in %s; a second make run keeps the models):
  S3 (versitygw)   http://localhost:%s   access key %s, secret key %s
  trainer          http://localhost:%s
  predictor        http://localhost:%s   every model of the bucket (no model until the first training)
  predictor gRPC   localhost:%s          inference.GRPCInferenceService, with reflection
  prometheus       %s

Train, then predict:
  curl -X POST 'localhost:%[5]s/train?wait=true'
  curl -X POST localhost:%[6]s/predict -H 'Content-Type: application/json' \
    -d '{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}'
  curl localhost:%[6]s/models

The console: http://localhost:%[5]s/ui/ ; a model's serving side (traffic,
latency, drift, alerts from Prometheus): http://localhost:%[5]s/ui/models/iris/serving

Ctrl-C stops everything.

`, *state, port["s3"], devAccessKey, devSecretKey, port["trainer"], port["predictor"], port["predictor-grpc"], promLine)
	err = stack.Wait(ctx)
	if ctx.Err() != nil {
		fmt.Fprintln(stdout, "stopping...")
		stack.Stop()
		return nil
	}
	fmt.Fprintf(stdout, "\n%v: stopping everything\n", err)
	stack.Stop()
	return err
}
