package localrun

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// freePorts returns n distinct free loopback ports, held open until all are
// chosen.
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	var ports []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		_, p, _ := net.SplitHostPort(ln.Addr().String())
		ports = append(ports, p)
	}
	return ports
}

// `make run` with a port in use stops with an error naming the port and
// the variable that moves it, and never says it is running. S3 starts
// before the trainer, so a taken trainer port also shows that what was
// started is stopped again.
func TestRunFailsOnATakenPort(t *testing.T) {
	for _, taken := range []string{"MODELFERRY_S3_PORT", "MODELFERRY_TRAINER_PORT"} {
		t.Run(taken, func(t *testing.T) {
			ports := freePorts(t, 5)
			env := map[string]string{
				"MODELFERRY_S3_PORT": ports[0], "MODELFERRY_TRAINER_PORT": ports[1],
				"MODELFERRY_PREDICTOR_PORT": ports[2], "MODELFERRY_PROMETHEUS_PORT": ports[3],
				"MODELFERRY_PREDICTOR_GRPC_PORT": ports[4],
			}
			ln, err := net.Listen("tcp", "127.0.0.1:"+env[taken])
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			var out strings.Builder
			err = Run(context.Background(), []string{"-state", t.TempDir(), "-bin", t.TempDir(),
				"-prometheus-config", "../../prometheus/prometheus.local.yml"},
				func(k string) string { return env[k] }, &out)
			if err == nil || !strings.Contains(err.Error(), "port "+env[taken]) || !strings.Contains(err.Error(), taken+"=") {
				t.Fatalf("run: %v, want an error naming port %s and %s", err, env[taken], taken)
			}
			if strings.Contains(out.String(), "is running") {
				t.Errorf("output says it is running:\n%s", out.String())
			}
			if taken != "MODELFERRY_S3_PORT" {
				// versitygw was stopped: its port is free again.
				ln, err := net.Listen("tcp", "127.0.0.1:"+env["MODELFERRY_S3_PORT"])
				if err != nil {
					t.Fatalf("S3's port after the failure: %v", err)
				}
				_ = ln.Close()
			}
		})
	}
}

func TestRunRejectsABadPort(t *testing.T) {
	env := map[string]string{"MODELFERRY_PREDICTOR_PORT": "80800"}
	err := Run(context.Background(), []string{"-state", t.TempDir()}, func(k string) string { return env[k] }, &strings.Builder{})
	if err == nil || !strings.Contains(err.Error(), `MODELFERRY_PREDICTOR_PORT="80800"`) {
		t.Fatalf("run: %v", err)
	}
}

func TestPrometheusConfigFollowsThePorts(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "prometheus.yml")
	targets := map[string]string{"prometheus": "localhost:19090", "trainer": "localhost:18080", "predictor": "localhost:18000"}
	if err := writePrometheusConfig("../../prometheus/prometheus.local.yml", dst, targets); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Global        map[string]any `yaml:"global"`
		RuleFiles     []string       `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Global["scrape_interval"] != "5s" {
		t.Errorf("global settings lost: %v", cfg.Global)
	}
	for _, f := range cfg.RuleFiles {
		if m, _ := filepath.Glob(f); len(m) == 0 {
			t.Errorf("rule files %s: none found", f)
		}
	}
	for _, sc := range cfg.ScrapeConfigs {
		if len(sc.StaticConfigs) != 1 || len(sc.StaticConfigs[0].Targets) != 1 || sc.StaticConfigs[0].Targets[0] != targets[sc.JobName] {
			t.Errorf("job %s scrapes %+v, want %s", sc.JobName, sc.StaticConfigs, targets[sc.JobName])
		}
		delete(targets, sc.JobName)
	}
	if len(targets) > 0 {
		t.Errorf("jobs missing: %v", targets)
	}

	err = writePrometheusConfig("../../prometheus/prometheus.local.yml", dst, map[string]string{"alertmanager": "localhost:9093"})
	if err == nil {
		t.Error("a job the configuration lacks was not reported")
	}
}
