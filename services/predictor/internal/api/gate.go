package api

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
)

// largeBody is the size from which a request body counts against the
// in-flight budget: small requests, the usual ones, never wait.
const largeBody = 64 << 10

// bodyGate bounds what large requests take at once: each holds as many
// bytes of a budget as it may read until it is answered, and one of a few
// slots, so that they never hold every core while small requests wait.
// The others wait their turn, up to maxWait. When the last large request
// is answered and no other comes for a while, the memory they took is
// handed back to the operating system, so that a burst does not leave
// the process holding it.
type bodyGate struct {
	sem     *semaphore.Weighted
	slots   *semaphore.Weighted
	budget  int64
	maxWait time.Duration
	idle    time.Duration
	// freeMemory returns freed memory to the operating system
	// (debug.FreeOSMemory).
	freeMemory func()

	mu       sync.Mutex
	inflight int
	burst    uint64 // counts bursts, so a late timer of an old one does nothing
}

func newBodyGate(budget int64, slots int, maxWait, idle time.Duration, freeMemory func()) *bodyGate {
	return &bodyGate{sem: semaphore.NewWeighted(budget), slots: semaphore.NewWeighted(int64(slots)),
		budget: budget, maxWait: maxWait, idle: idle, freeMemory: freeMemory}
}

// acquire waits until n bytes fit the budget (all of it for a body larger
// than the budget) and returns the function that gives them back.
func (g *bodyGate) acquire(ctx context.Context, n int64) (release func(), err error) {
	n = min(n, g.budget)
	ctx, cancel := context.WithTimeout(ctx, g.maxWait)
	defer cancel()
	if err := g.slots.Acquire(ctx, 1); err != nil {
		return nil, err
	}
	if err := g.sem.Acquire(ctx, n); err != nil {
		g.slots.Release(1)
		return nil, err
	}
	g.mu.Lock()
	g.inflight++
	g.mu.Unlock()
	return func() {
		g.sem.Release(n)
		g.slots.Release(1)
		g.leave()
	}, nil
}

func (g *bodyGate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inflight--
	if g.inflight > 0 || g.freeMemory == nil {
		return
	}
	g.burst++
	burst := g.burst
	time.AfterFunc(g.idle, func() {
		g.mu.Lock()
		quiet := g.inflight == 0 && g.burst == burst
		g.mu.Unlock()
		if quiet {
			g.freeMemory()
		}
	})
}
