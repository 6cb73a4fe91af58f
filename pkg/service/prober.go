package service

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/errcode"
	"github.com/modelferry/modelferry/pkg/httpserver"
)

// Check is one condition of readiness. It returns nil when the condition
// holds, or an error whose message says to an operator what is missing.
// Details, when the service has any, go into the ready answer.
type Check func(ctx context.Context) (details map[string]any, err error)

// Prober answers /healthz and /readyz. A service is ready when every check
// passes and it is not shutting down; shutdown drops readiness first.
type Prober struct {
	shuttingDown atomic.Bool
	mu           sync.Mutex
	checks       []Check
}

// AddCheck adds a condition of readiness.
func (p *Prober) AddCheck(c Check) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.checks = append(p.checks, c)
}

// NotReady marks the service as shutting down: /readyz answers 503 from
// now on.
func (p *Prober) NotReady() { p.shuttingDown.Store(true) }

// Ready runs the checks and returns the details of a ready service, or why
// it is not ready.
func (p *Prober) Ready(ctx context.Context) (map[string]any, error) {
	if p.shuttingDown.Load() {
		return nil, errShuttingDown
	}
	p.mu.Lock()
	checks := p.checks
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	out := map[string]any{"status": "ready"}
	for _, c := range checks {
		details, err := c(ctx)
		if err != nil {
			return nil, err
		}
		for k, v := range details {
			out[k] = v
		}
	}
	return out, nil
}

type notReady string

func (e notReady) Error() string { return string(e) }

const errShuttingDown = notReady("shutting down")

// Register adds /healthz and /readyz to e.
func (p *Prober) Register(e *gin.Engine, fail func(*gin.Context, error)) {
	e.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	e.GET("/readyz", func(c *gin.Context) {
		details, err := p.Ready(c)
		if err != nil {
			fail(c, httpserver.Errorf(http.StatusServiceUnavailable, errcode.Unavailable, "not ready: %s", err))
			return
		}
		c.JSON(http.StatusOK, details)
	})
}
