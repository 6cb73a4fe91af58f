// Package admission bounds what large requests take at once, whichever
// protocol brings them: bytes of a budget and a few CPU slots, waited for
// in turn, and the memory of a burst handed back to the system after it.
package admission

import (
	"context"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
)

// Large is the size from which a request counts against the budget:
// small requests, the usual ones, never wait.
const Large = 64 << 10

// Gate bounds what large requests take at once: each holds as many
// bytes of a budget as it may read until it is answered, and one of a few
// slots, so that they never hold every core while small requests wait.
// The others wait their turn, up to maxWait. When the last large request
// is answered and no other comes for a while, the memory they took is
// handed back to the operating system, so that a burst does not leave
// the process holding it.
type Gate struct {
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

// A large request waits at most MaxWait for room before it is refused; a
// second without large requests after a burst, the memory it took goes
// back to the operating system.
const (
	MaxWait = 10 * time.Second
	Idle    = time.Second
)

// ForProcess is the Gate of a predictor: budget bytes, one slot per two
// CPUs, MaxWait, and debug.FreeOSMemory after Idle.
func ForProcess(budget int64) *Gate {
	return New(budget, max(1, runtime.GOMAXPROCS(0)/2), MaxWait, Idle, debug.FreeOSMemory)
}

// New returns a Gate of budget bytes and slots requests; a request waits
// at most maxWait, and idle after the last one, freeMemory runs.
func New(budget int64, slots int, maxWait, idle time.Duration, freeMemory func()) *Gate {
	return &Gate{sem: semaphore.NewWeighted(budget), slots: semaphore.NewWeighted(int64(slots)),
		budget: budget, maxWait: maxWait, idle: idle, freeMemory: freeMemory}
}

// Acquire waits until n bytes fit the budget and a slot is free
// (Reserve, then Hold.Slot), and returns the function that gives them
// back.
func (g *Gate) Acquire(ctx context.Context, n int64) (release func(), err error) {
	h, err := g.Reserve(ctx, n)
	if err != nil {
		return nil, err
	}
	if err := h.Slot(ctx); err != nil {
		h.Release()
		return nil, err
	}
	return h.Release, nil
}

// Hold is what one large request holds: bytes of the budget, taken before
// its body is read, and once the body has arrived, a slot to work on it.
// A client sending slowly holds bytes, never a slot.
type Hold struct {
	g    *Gate
	n    int64
	slot bool
	done bool
}

// Reserve waits until n bytes fit the budget (all of it for a request
// larger than the budget), at most MaxWait.
func (g *Gate) Reserve(ctx context.Context, n int64) (*Hold, error) {
	n = min(n, g.budget)
	ctx, cancel := context.WithTimeout(ctx, g.maxWait)
	defer cancel()
	if err := g.sem.Acquire(ctx, n); err != nil {
		return nil, err
	}
	g.mu.Lock()
	g.inflight++
	g.mu.Unlock()
	return &Hold{g: g, n: n}, nil
}

// Shrink gives back the bytes held beyond n, once the request's real
// size is known.
func (h *Hold) Shrink(n int64) {
	if n < h.n {
		h.g.sem.Release(h.n - max(n, 0))
		h.n = max(n, 0)
	}
}

// Slot waits, at most MaxWait, for one of the slots, which Release gives
// back with the bytes.
func (h *Hold) Slot(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, h.g.maxWait)
	defer cancel()
	if err := h.g.slots.Acquire(ctx, 1); err != nil {
		return err
	}
	h.slot = true
	return nil
}

// Release gives back the bytes and the slot; a second call does nothing.
func (h *Hold) Release() {
	if h.done {
		return
	}
	h.done = true
	h.g.sem.Release(h.n)
	if h.slot {
		h.g.slots.Release(1)
	}
	h.g.leave()
}

func (g *Gate) leave() {
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
