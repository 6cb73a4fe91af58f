// Package localrun is `make run`: the whole system on this machine, on
// loopback ports, with the pinned tools, Prometheus joining when it is
// ready. It imports little beyond the standard library, so the binary
// `make run` builds first compiles in seconds.
package localrun

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/modelferry/modelferry/devstack"
	"github.com/modelferry/modelferry/devstack/localports"
)

// Fixed development credentials of the local S3 server; printed at start.
const (
	devAccessKey = "modelferry"
	devSecretKey = "modelferry-dev-secret"
)

// Run runs the stack until ctx ends or a core process exits: `make run`.
// args are its flags; the ports come from getenv (MODELFERRY_*_PORT).
func Run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	state := fs.String("state", ".data", "where S3 and Prometheus keep their data between runs")
	bin := fs.String("bin", "bin", "directory of the trainer and predictor binaries")
	data := fs.String("data", "data", "directory of default datasets")
	promConfig := fs.String("prometheus-config", "prometheus/prometheus.local.yml", "Prometheus configuration; its targets are replaced by the ports in use")
	tools := fs.String("tools", ".tools/bin", "directory of the pinned tools; a Prometheus there has no web UI, so one installed elsewhere on PATH comes first")
	promBuild := fs.String("prometheus-build", "", "command that builds Prometheus into -tools when none is found; it runs in the background once the rest serves")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ports, err := localports.Resolve(getenv)
	if err != nil {
		return err
	}
	if err := localports.Check(ports); err != nil {
		return err
	}
	port := localports.Map(ports)
	vgw, err := exec.LookPath("versitygw")
	if err != nil {
		return errors.New("versitygw not found: run `make tools` (make run does)")
	}
	prom, promOrigin := findPrometheus(getenv("PATH"), *tools)
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
		for _, p := range ports {
			if p.Proc == pe.Proc {
				return fmt.Errorf("%w\nstop that program, or choose another port: %s=<port> make run", err, p.Env)
			}
		}
	}
	if err != nil {
		return err
	}
	var promLine string
	switch {
	case prom != "":
		promLine = prometheusLine(port["prometheus"], prom, promOrigin, hasWebUI(cfg.PrometheusAddr))
	case *promBuild != "":
		promLine = "building in the background: it joins when built (see the lines prometheus-build| below)"
	default:
		promLine = "not running: none installed (apt-get install prometheus, or make test-tools builds one)"
	}
	fmt.Fprintf(stdout, `
modelferry is running (data in %s; a second make run keeps the models):
  S3 (versitygw)   http://localhost:%s   access key %s, secret key %s
  trainer          http://localhost:%s   console at /ui/
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
	ctx, cancel := context.WithCancel(ctx)
	joined := make(chan struct{})
	go func() {
		defer close(joined)
		if prom != "" || *promBuild == "" {
			return
		}
		joinPrometheus(ctx, stack, strings.Fields(*promBuild), *tools, port["prometheus"])
	}()
	err = stack.Wait(ctx)
	stopping := ctx.Err() != nil
	cancel()
	<-joined
	if stopping {
		fmt.Fprintln(stdout, "stopping...")
		stack.Stop()
		return nil
	}
	fmt.Fprintf(stdout, "\n%v: stopping everything\n", err)
	stack.Stop()
	return err
}

// joinPrometheus builds Prometheus with command while the rest serves,
// then starts it. Prometheus is optional: a failure is reported, and the
// rest keeps running.
func joinPrometheus(ctx context.Context, stack *devstack.Stack, command []string, tools, port string) {
	out := stack.Output("prometheus-build")
	fmt.Fprintf(out, "none installed: building the pinned Prometheus into %s (%s): about 6 CPU-minutes, "+
		"so 3-4 minutes on an idle 2-core machine and longer on a busy one; only the first make run builds it\n",
		tools, strings.Join(command, " "))
	if err := buildPrometheus(ctx, command, out); err != nil {
		if ctx.Err() == nil {
			fmt.Fprintf(out, "%v: running without Prometheus\n", err)
		}
		return
	}
	bin := filepath.Join(tools, "prometheus")
	if err := stack.StartPrometheus(ctx, bin); err != nil {
		if ctx.Err() == nil {
			fmt.Fprintf(out, "start: %v: running without Prometheus\n", err)
		}
		return
	}
	fmt.Fprintf(out, "prometheus joined: %s\n", prometheusLine(port, bin, "built by make test-tools", hasWebUI("127.0.0.1:"+port)))
}
