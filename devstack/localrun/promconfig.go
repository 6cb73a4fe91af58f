package localrun

import (
	"fmt"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// writePrometheusConfig copies the Prometheus configuration at src to dst
// with each named job's targets replaced by the one given and rule files
// made absolute (Prometheus reads them relative to the configuration).
func writePrometheusConfig(src, dst string, targets map[string]string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	var cfg struct {
		Rest          map[string]any   `yaml:",inline"`
		RuleFiles     []string         `yaml:"rule_files"`
		ScrapeConfigs []map[string]any `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		return fmt.Errorf("read %s: %w", src, err)
	}
	dir, err := filepath.Abs(filepath.Dir(src))
	if err != nil {
		return err
	}
	for i, f := range cfg.RuleFiles {
		if !filepath.IsAbs(f) {
			cfg.RuleFiles[i] = filepath.Join(dir, f)
		}
	}
	replaced := 0
	for _, job := range cfg.ScrapeConfigs {
		if target, ok := targets[fmt.Sprint(job["job_name"])]; ok {
			job["static_configs"] = []map[string][]string{{"targets": {target}}}
			replaced++
		}
	}
	if replaced != len(targets) {
		return fmt.Errorf("read %s: want the jobs %v, found %d of them", src, targets, replaced)
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, out, 0o644)
}
