// Package querycheck evaluates every Grafana panel query of the given
// dashboards and every rule Prometheus has loaded against a live Prometheus
// through its HTTP API:
//
//   - each dashboard must pass LoadDashboard's checks (Grafana's dashboard
//     schema, the data source as a variable);
//   - each query variable's label_values() must give at least one value;
//   - each panel query, with every variable set to All, must run without
//     error and return at least one series with a number (not NaN) over the
//     window;
//   - each rule must be healthy in /api/v1/rules (Prometheus evaluated it
//     without error), its expression must run without error, and every alert
//     and recording rule named in the rule files must be loaded.
//
// Grafana's interval variables ($__rate_interval, $__interval, $__range...)
// are replaced by fixed durations, the dashboard's query variables by their
// allValue; any other variable is an error. Failing checks are retried until
// -retry runs out (Prometheus may not have scraped enough samples yet).
// -queries adds named queries (the trainer console's) to the panel queries.
// The end-to-end suite calls it, and so does the compose test through
// `devstack querycheck`:
//
//	go run ./devstack/cmd/devstack querycheck -prometheus http://127.0.0.1:9090 \
//	    -rules 'prometheus/rules/*.yml' grafana/dashboards/*.json
package querycheck

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

type check struct {
	name string // what it is, for the report
	run  func(ctx context.Context) (string, error)
}

// Run parses the command line (flags as above, then dashboard files) and
// runs every check, writing one line per check to out.
func Run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("querycheck", flag.ContinueOnError)
	prom := fs.String("prometheus", "http://127.0.0.1:9090", "Prometheus base URL")
	rules := fs.String("rules", "", "glob of the rule files whose rules must all be loaded (empty: skip that check)")
	window := fs.Duration("window", 10*time.Minute, "panel queries run over [now-window, now]")
	step := fs.Duration("step", 5*time.Second, "step of the panel range queries")
	rateInterval := fs.String("rate-interval", "1m", "value of $__rate_interval")
	retry := fs.Duration("retry", 60*time.Second, "keep retrying failing checks this long")
	queries := fs.String("queries", "", "JSON file of more named queries ({name: PromQL}, e.g. the trainer console's, from GET /models/{m}/serving) checked as panel queries are")
	if err := fs.Parse(args); err != nil {
		return err
	}
	base, err := url.Parse(*prom)
	if err != nil || base.Host == "" {
		return fmt.Errorf("bad -prometheus %q", *prom)
	}
	c := &client{base: base, http: &http.Client{Timeout: 20 * time.Second}}

	vars := map[string]string{
		"__rate_interval": *rateInterval,
		"__interval":      step.String(),
		"__interval_ms":   strconv.FormatInt(step.Milliseconds(), 10),
		"__range":         window.String(),
		"__range_s":       strconv.FormatInt(int64(window.Seconds()), 10),
		"__range_ms":      strconv.FormatInt(window.Milliseconds(), 10),
	}
	var checks []check
	for _, path := range fs.Args() {
		d, err := LoadDashboard(path)
		if err != nil {
			return err
		}
		dvars := maps.Clone(vars)
		for _, v := range d.Variables {
			dvars[v.Name] = v.AllValue
			checks = append(checks, check{
				name: fmt.Sprintf("variable $%s", v.Name),
				run: func(ctx context.Context) (string, error) {
					end := time.Now()
					return c.labelHasValues(ctx, v.Label, v.Selector, end.Add(-*window), end)
				},
			})
		}
		for _, q := range d.Queries {
			expr, err := substitute(q.Expr, dvars)
			if err != nil {
				return fmt.Errorf("%s: panel %q: %w", path, q.Panel, err)
			}
			checks = append(checks, check{
				name: fmt.Sprintf("panel %q %s", q.Panel, q.RefID),
				run: func(ctx context.Context) (string, error) {
					end := time.Now()
					return c.rangeHasData(ctx, expr, end.Add(-*window), end, *step)
				},
			})
		}
	}

	if *queries != "" {
		named, err := loadQueries(*queries)
		if err != nil {
			return err
		}
		for _, name := range slices.Sorted(maps.Keys(named)) {
			expr := named[name]
			checks = append(checks, check{
				name: "query " + name,
				run: func(ctx context.Context) (string, error) {
					end := time.Now()
					return c.rangeHasData(ctx, expr, end.Add(-*window), end, *step)
				},
			})
		}
	}

	ctx := context.Background()
	loaded, err := c.rules(ctx)
	if err != nil {
		return err
	}
	if *rules != "" {
		want, err := ruleNames(*rules)
		if err != nil {
			return err
		}
		if len(want) == 0 {
			return fmt.Errorf("no rules found in %s", *rules)
		}
		for _, n := range want {
			checks = append(checks, check{name: "rule " + n + " loaded", run: func(ctx context.Context) (string, error) {
				if _, ok := loaded[n]; !ok {
					return "", errors.New("not in /api/v1/rules: is the rule file mounted and listed in rule_files?")
				}
				return "loaded", nil
			}})
		}
	}
	names := make([]string, 0, len(loaded))
	for n := range loaded {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		checks = append(checks, check{name: "rule " + n, run: func(ctx context.Context) (string, error) {
			rs, err := c.rules(ctx)
			if err != nil {
				return "", err
			}
			r := rs[n]
			if r.Health != "ok" {
				return "", fmt.Errorf("health %q: %s", r.Health, r.LastError)
			}
			return c.instantEvaluates(ctx, r.Query)
		}})
	}

	return runChecks(ctx, checks, *retry, out)
}

// runChecks runs every check, retrying the failing ones until retry is
// spent, and prints one line per check and a closing count.
func runChecks(ctx context.Context, checks []check, retry time.Duration, out io.Writer) error {
	deadline := time.Now().Add(retry)
	results := make([]string, len(checks))
	errs := make([]error, len(checks))
	pending := make([]int, len(checks))
	for i := range checks {
		pending[i] = i
	}
	for {
		var again []int
		for _, i := range pending {
			results[i], errs[i] = checks[i].run(ctx)
			if errs[i] != nil {
				again = append(again, i)
			}
		}
		pending = again
		if len(pending) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Second)
	}
	failed := 0
	for i, ch := range checks {
		if errs[i] != nil {
			failed++
			fmt.Fprintf(out, "FAIL %s: %v\n", ch.name, errs[i])
			continue
		}
		fmt.Fprintf(out, "ok   %s: %s\n", ch.name, results[i])
	}
	fmt.Fprintf(out, "%d passed, %d failed\n", len(checks)-failed, failed)
	if failed > 0 {
		return fmt.Errorf("%d of %d checks failed", failed, len(checks))
	}
	return nil
}

// loadQueries reads a JSON object of named PromQL queries.
func loadQueries(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var named map[string]string
	if err := json.Unmarshal(b, &named); err != nil {
		return nil, fmt.Errorf("%s: want a JSON object of name to PromQL: %w", path, err)
	}
	if len(named) == 0 {
		return nil, fmt.Errorf("%s: no queries", path)
	}
	return named, nil
}

var varRE = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(?::[a-z]+)?\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)\]\]`)

// substitute replaces Grafana variables with vars, failing on unknown ones.
func substitute(expr string, vars map[string]string) (string, error) {
	var unknown []string
	s := varRE.ReplaceAllStringFunc(expr, func(m string) string {
		sm := varRE.FindStringSubmatch(m)
		name := sm[1] + sm[2] + sm[3]
		v, ok := vars[name]
		if !ok {
			unknown = append(unknown, name)
			return m
		}
		return v
	})
	if len(unknown) > 0 {
		return "", fmt.Errorf("unsupported variables %v", unknown)
	}
	return s, nil
}

var ruleNameRE = regexp.MustCompile(`(?m)^\s*-?\s*(?:alert|record):\s*["']?([A-Za-z_:][A-Za-z0-9_:]*)`)

// ruleNames reads the alert and record names from rule files without a
// YAML parser: promtool check rules validates the files themselves.
func ruleNames(glob string) ([]string, error) {
	files, err := filepath.Glob(glob)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for _, m := range ruleNameRE.FindAllStringSubmatch(string(b), -1) {
			names = append(names, m[1])
		}
	}
	return names, nil
}

type client struct {
	base *url.URL
	http *http.Client
}

type apiResponse struct {
	Status    string          `json:"status"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
	Data      json.RawMessage `json:"data"`
}

// call sends form as a POST body, or with method GET in the URL.
func (c *client) call(ctx context.Context, method, path string, form url.Values) (json.RawMessage, error) {
	u := c.base.JoinPath(path)
	var req *http.Request
	var err error
	if method == http.MethodGet {
		u.RawQuery = form.Encode()
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(form.Encode()))
		if req != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("%s: %s: %.200s", path, resp.Status, body)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: %s: %s", r.ErrorType, r.Error, strings.Join(r.Warnings, "; "))
	}
	return r.Data, nil
}

type sample [2]any // [unix time, "value"]

// rangeHasData runs a range query and wants a series with a number in it.
func (c *client) rangeHasData(ctx context.Context, expr string, start, end time.Time, step time.Duration) (string, error) {
	data, err := c.call(ctx, http.MethodPost, "/api/v1/query_range", url.Values{
		"query": {expr},
		"start": {strconv.FormatInt(start.Unix(), 10)},
		"end":   {strconv.FormatInt(end.Unix(), 10)},
		"step":  {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
	})
	if err != nil {
		return "", err
	}
	var m struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
			Values []sample          `json:"values"`
		} `json:"result"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return "", err
	}
	if len(m.Result) == 0 {
		return "", errors.New("no series")
	}
	numbers := 0
	for _, s := range m.Result {
		for _, v := range s.Values {
			if str, ok := v[1].(string); ok {
				if f, err := strconv.ParseFloat(str, 64); err == nil && !math.IsNaN(f) {
					numbers++
				}
			}
		}
	}
	if numbers == 0 {
		return "", fmt.Errorf("%d series, but every value is NaN", len(m.Result))
	}
	return fmt.Sprintf("%d series, %d values", len(m.Result), numbers), nil
}

// labelHasValues asks for the values of label on the series that match
// selector (any series when empty), as Grafana's label_values() does, and
// wants at least one.
func (c *client) labelHasValues(ctx context.Context, label, selector string, start, end time.Time) (string, error) {
	form := url.Values{
		"start": {strconv.FormatInt(start.Unix(), 10)},
		"end":   {strconv.FormatInt(end.Unix(), 10)},
	}
	if selector != "" {
		form.Set("match[]", selector)
	}
	data, err := c.call(ctx, http.MethodGet, "/api/v1/label/"+url.PathEscape(label)+"/values", form)
	if err != nil {
		return "", err
	}
	var values []string
	if err := json.Unmarshal(data, &values); err != nil {
		return "", err
	}
	if len(values) == 0 {
		return "", fmt.Errorf("label_values(%s, %s) gives no value", selector, label)
	}
	return fmt.Sprintf("%d values: %s", len(values), strings.Join(values, ", ")), nil
}

// instantEvaluates runs expr now; an empty result is fine (an alert that
// does not fire).
func (c *client) instantEvaluates(ctx context.Context, expr string) (string, error) {
	data, err := c.call(ctx, http.MethodPost, "/api/v1/query", url.Values{"query": {expr}})
	if err != nil {
		return "", err
	}
	var m struct {
		ResultType string            `json:"resultType"`
		Result     []json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return "", err
	}
	return fmt.Sprintf("evaluates (%d series now)", len(m.Result)), nil
}

type rule struct {
	Name      string `json:"name"`
	Query     string `json:"query"`
	Health    string `json:"health"`
	LastError string `json:"lastError"`
	Type      string `json:"type"`
	State     string `json:"state"`
}

// rules returns the loaded rules by name.
func (c *client) rules(ctx context.Context) (map[string]rule, error) {
	data, err := c.call(ctx, http.MethodGet, "/api/v1/rules", nil)
	if err != nil {
		return nil, err
	}
	var m struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []rule `json:"rules"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	rs := map[string]rule{}
	for _, g := range m.Groups {
		for _, r := range g.Rules {
			if _, dup := rs[r.Name]; dup {
				return nil, fmt.Errorf("rule %s is defined twice", r.Name)
			}
			rs[r.Name] = r
		}
	}
	return rs, nil
}
