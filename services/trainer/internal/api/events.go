package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/errcode"
	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/services/trainer/internal/jobs"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

// Jobs finds the runs this process is working on; *jobs.Queue has it.
type Jobs interface {
	Get(id string) (*jobs.Job, bool)
}

// How often an event stream samples its run, and sends a comment to keep
// proxies from closing a quiet stream.
const (
	eventInterval     = 100 * time.Millisecond
	keepAliveInterval = 15 * time.Second
)

// progressEvent is the data of a "progress" event.
type progressEvent struct {
	Status        registry.Status `json:"status"`
	QueuePosition int             `json:"queue_position,omitempty"`
	registry.Progress
}

func progressOf(r registry.Run) progressEvent {
	ev := progressEvent{Status: r.Status, QueuePosition: r.QueuePosition}
	if r.Progress != nil {
		ev.Progress = *r.Progress
	}
	return ev
}

// runEvents streams a run as Server-Sent Events: "progress" events
// (status, stage, bytes read, iteration, loss, grad_norm) whenever it
// changes, sampled every eventInterval, then one "run" event with the
// final run record, and the stream ends. A run that has ended already, or
// that this process is not running, gets the "run" event alone.
func (a *API) runEvents(c *gin.Context) {
	id := c.Param("id")
	if !modelstore.ValidVersion(id) {
		a.fail(c, httpserver.Errorf(http.StatusNotFound, errcode.NotFound, "run %q not found", id))
		return
	}
	run, err := a.cfg.Registry.Run(c, id)
	if err != nil {
		a.fail(c, storeError(err, "run "+id))
		return
	}
	// The stream lasts as long as the run.
	if err := http.NewResponseController(c.Writer).SetWriteDeadline(time.Time{}); err != nil {
		a.log.Debug("lifting the write deadline", "err", err)
	}
	c.Header("Content-Type", "text/event-stream")
	c.Header("Cache-Control", "no-cache")
	c.Header("X-Accel-Buffering", "no")
	send := func(event string, data any) {
		c.SSEvent(event, data)
		c.Writer.Flush()
	}
	var job *jobs.Job
	live := false
	if a.cfg.Jobs != nil {
		job, live = a.cfg.Jobs.Get(id)
	}
	if !live || run.Status.Terminal() {
		send("run", run)
		return
	}
	last := progressOf(job.Snapshot())
	send("progress", last)
	tick := time.NewTicker(eventInterval)
	defer tick.Stop()
	keepAlive := time.NewTicker(keepAliveInterval)
	defer keepAlive.Stop()
	for {
		select {
		case <-job.Done():
			send("run", job.Snapshot())
			return
		case <-c.Request.Context().Done():
			return
		case <-tick.C:
			if ev := progressOf(job.Snapshot()); ev != last {
				send("progress", ev)
				last = ev
			}
		case <-keepAlive.C:
			_, _ = c.Writer.WriteString(": keep-alive\n\n")
			c.Writer.Flush()
		}
	}
}
