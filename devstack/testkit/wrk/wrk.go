// Package wrk runs the wrk HTTP load generator (Debian: apt-get install
// wrk) against a JSON POST endpoint and reads its report.
package wrk

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// Options of one run.
type Options struct {
	Threads     int
	Connections int
	Duration    time.Duration
	// Body is POSTed with Content-Type: application/json.
	Body string
}

// Result is what wrk reported.
type Result struct {
	RequestsPerSecond float64
	P50, P99          time.Duration
	// Non2xx counts answers that were neither 2xx nor 3xx.
	Non2xx int
}

var (
	rpsRE     = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	latencyRE = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)`)
	non2xxRE  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

// Run loads url and returns wrk's figures.
func Run(url string, opts Options) (Result, error) {
	bin, err := exec.LookPath("wrk")
	if err != nil {
		return Result{}, errors.New("wrk not found: apt-get install wrk")
	}
	dir, err := os.MkdirTemp("", "wrk-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "post.lua")
	lua := fmt.Sprintf("wrk.method = \"POST\"\nwrk.body = %q\nwrk.headers[\"Content-Type\"] = \"application/json\"\n", opts.Body)
	if err := os.WriteFile(script, []byte(lua), 0o644); err != nil {
		return Result{}, err
	}
	out, err := exec.Command(bin, "-t"+strconv.Itoa(opts.Threads), "-c"+strconv.Itoa(opts.Connections),
		"-d"+opts.Duration.String(), "--latency", "-s", script, url).CombinedOutput()
	if err != nil {
		return Result{}, fmt.Errorf("wrk: %w\n%s", err, out)
	}
	return parse(out)
}

func parse(out []byte) (Result, error) {
	var r Result
	m := rpsRE.FindSubmatch(out)
	if m == nil {
		return Result{}, fmt.Errorf("no throughput in wrk's report:\n%s", out)
	}
	r.RequestsPerSecond, _ = strconv.ParseFloat(string(m[1]), 64)
	for _, l := range latencyRE.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(l[2]), 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[string(l[3])]
		d := time.Duration(v * float64(unit))
		if string(l[1]) == "50" {
			r.P50 = d
		} else {
			r.P99 = d
		}
	}
	if m := non2xxRE.FindSubmatch(out); m != nil {
		r.Non2xx, _ = strconv.Atoi(string(m[1]))
	}
	return r, nil
}
