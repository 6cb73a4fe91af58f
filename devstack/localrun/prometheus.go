package localrun

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// findPrometheus picks the Prometheus `make run` starts: the first one on
// path (a PATH value) outside tools, which is installed (Debian's package
// ships a web UI), else the one `make test-tools` built into tools (API
// only), else none. origin says which, for the banner.
func findPrometheus(path, tools string) (bin, origin string) {
	toolsAbs, _ := filepath.Abs(tools)
	var built string
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		cand := filepath.Join(dir, "prometheus")
		if fi, err := os.Stat(cand); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			continue
		}
		if abs, _ := filepath.Abs(dir); abs == toolsAbs {
			if built == "" {
				built = cand
			}
			continue
		}
		return cand, "installed"
	}
	if built != "" {
		return built, "built by make test-tools"
	}
	return "", ""
}

// buildPrometheus runs the build command (the Makefile's rule for the
// pinned Prometheus) in its own process group, killed with ctx, and says
// every minute that it is still at work: a first build takes several
// minutes, and silence reads as a hang.
func buildPrometheus(ctx context.Context, command []string, out io.Writer) error {
	cmd := exec.CommandContext(ctx, command[0], command[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("build prometheus: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("build prometheus (%s): %w", strings.Join(command, " "), err)
			}
			fmt.Fprintf(out, "built in %s\n", time.Since(start).Round(time.Second))
			return nil
		case <-tick.C:
			fmt.Fprintf(out, "still building (%s so far); the rest serves meanwhile\n", time.Since(start).Round(time.Second))
		}
	}
}

// hasWebUI reports whether the Prometheus at addr serves its web UI: one
// built without the UI's assets answers its pages with an error line
// ("Error opening React index.html").
func hasWebUI(addr string) bool {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get("http://" + addr + "/graph")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode == http.StatusOK && strings.Contains(string(body), "<html") && !strings.Contains(string(body), "Error opening")
}

// prometheusLine is the banner's line for Prometheus at port.
func prometheusLine(port, bin, origin string, ui bool) string {
	if ui {
		return fmt.Sprintf("http://localhost:%s   web UI (%s, %s)", port, bin, origin)
	}
	return fmt.Sprintf("http://localhost:%s/api/v1/query?query=up   API only: %s (%s) has no web UI; "+
		"Debian's package has one (apt-get install prometheus), and make run prefers it", port, bin, origin)
}
