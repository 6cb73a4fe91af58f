package registry

import "sync"

// runCache keeps finished runs in memory. A run's record changes only
// while it is queued or running, so a finished one can be served from
// memory for good: listings then read only what is new since the last.
// It holds at most max runs, forgetting the oldest cached first.
type runCache struct {
	mu    sync.Mutex
	max   int
	runs  map[string]*Run // never changed once stored: put replaces
	order []string
}

func newRunCache(max int) *runCache { return &runCache{max: max, runs: map[string]*Run{}} }

// peek returns the cached run itself, shared: its reader must not
// change it (listings copy what they answer).
func (c *runCache) peek(id string) (*Run, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.runs[id]
	return r, ok
}

// put keeps run, without its history (up to 1,000 points: listings
// leave it out), if it is finished.
func (c *runCache) put(run Run) {
	if !run.Status.Terminal() {
		return
	}
	run.History = nil
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.runs[run.ID]; !ok {
		c.order = append(c.order, run.ID)
	}
	run = run.Clone()
	c.runs[run.ID] = &run
	for len(c.order) > c.max {
		delete(c.runs, c.order[0])
		c.order = c.order[1:]
	}
}
