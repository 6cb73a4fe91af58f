// Package serving reads what the predictors do from Prometheus' HTTP API
// for the trainer's console and GET /models/{m}/serving: the named PromQL
// queries (queries.go), a client that bounds and caches them (client.go)
// and the figures they make (figures.go).
package serving

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// API is the part of Prometheus' HTTP API the figures need;
// promv1.API has it.
type API interface {
	QueryRange(ctx context.Context, query string, r promv1.Range, opts ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error)
	Alerts(ctx context.Context) (promv1.AlertsResult, error)
}

// Defaults of Config.
const (
	DefaultTimeout  = 2 * time.Second
	DefaultCacheTTL = 10 * time.Second
)

// Config configures a Client.
type Config struct {
	API API
	// Timeout bounds each query (DefaultTimeout), CacheTTL how long an
	// answer, or a failure, is reused (DefaultCacheTTL).
	Timeout, CacheTTL time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Client runs the queries with a timeout and caches each answer per
// (query, range, step): a page reloaded every few seconds, or by many
// people, costs Prometheus one query per TTL, and a Prometheus that is down
// or slow costs at most one timeout per TTL, never one per page.
type Client struct {
	cfg   Config
	mu    sync.Mutex
	cache map[cacheKey]*entry
}

type cacheKey struct {
	query      string
	span, step time.Duration
}

// entry is a cached answer; done is closed once it is there, so that
// concurrent asks for the same key wait for one call to Prometheus.
type entry struct {
	done chan struct{}
	at   time.Time
	val  any
	took time.Duration
	err  error
}

// New returns a Client over cfg.API.
func New(cfg Config) *Client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Client{cfg: cfg, cache: map[cacheKey]*entry{}}
}

// Dial returns a Client of the Prometheus at address (http://host:9090).
func Dial(address string) (*Client, error) {
	c, err := api.NewClient(api.Config{Address: address, Client: &http.Client{Timeout: DefaultTimeout + time.Second}})
	if err != nil {
		return nil, fmt.Errorf("prometheus client %s: %w", address, err)
	}
	return New(Config{API: promv1.NewAPI(c)}), nil
}

// Result is the answer to one range query.
type Result struct {
	Matrix model.Matrix
	// End is the end of the range the answer is for: that of the call
	// that fetched it.
	End time.Time
	// Took is how long Prometheus took; Cached says the answer was
	// reused (Took is then that of the call that fetched it).
	Took   time.Duration
	Cached bool
}

// get returns key's answer younger than the TTL, or calls fetch for a new
// one. fetch runs on its own deadline, not the caller's: others may be
// waiting for the same answer, and a caller that cannot wait (the models
// list) leaves it to fill the cache for the next page.
func (c *Client) get(ctx context.Context, key cacheKey, fetch func(ctx context.Context, now time.Time) (any, error)) (*entry, bool, error) {
	now := c.cfg.Now()
	c.mu.Lock()
	e, ok := c.cache[key]
	if ok {
		select {
		case <-e.done:
			ok = now.Sub(e.at) < c.cfg.CacheTTL
		default: // in flight: wait for it
		}
	}
	if ok {
		c.mu.Unlock()
		select {
		case <-e.done:
			return e, true, e.err
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
	e = &entry{done: make(chan struct{}), at: now}
	c.cache[key] = e
	c.mu.Unlock()
	go func() {
		fctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
		defer cancel()
		start := time.Now()
		e.val, e.err = fetch(fctx, now)
		e.took = time.Since(start)
		close(e.done)
	}()
	select {
	case <-e.done:
		return e, false, e.err
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
}

// QueryRange runs q over [now-span, now] at step, or returns the cached
// answer of the same (q, span, step). The end is rounded down to the step
// so that the points of consecutive calls align.
func (c *Client) QueryRange(ctx context.Context, q string, span, step time.Duration) (Result, error) {
	e, cached, err := c.get(ctx, cacheKey{q, span, step}, func(ctx context.Context, now time.Time) (any, error) {
		end := now.Truncate(step)
		v, _, _, err := c.cfg.API.QueryRange(ctx, q, promv1.Range{Start: end.Add(-span), End: end, Step: step})
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", q, err)
		}
		m, ok := v.(model.Matrix)
		if !ok {
			return nil, fmt.Errorf("query %s: got a %s, want a matrix", q, v.Type())
		}
		return Result{Matrix: m, End: end}, nil
	})
	if err != nil {
		return Result{}, err
	}
	r := e.val.(Result)
	r.Took, r.Cached = e.took, cached
	return r, nil
}

// Alerts returns the alerts Prometheus holds, cached as the queries are.
func (c *Client) Alerts(ctx context.Context) ([]promv1.Alert, error) {
	e, _, err := c.get(ctx, cacheKey{query: "/api/v1/alerts"}, func(ctx context.Context, _ time.Time) (any, error) {
		r, err := c.cfg.API.Alerts(ctx)
		if err != nil {
			return nil, fmt.Errorf("alerts: %w", err)
		}
		return r.Alerts, nil
	})
	if err != nil {
		return nil, err
	}
	return e.val.([]promv1.Alert), nil
}

type promAlert = promv1.Alert
