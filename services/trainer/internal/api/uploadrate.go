package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelferry/modelferry/pkg/errcode"
	"github.com/modelferry/modelferry/pkg/httpserver"
)

// A body that trickles would hold its place in the queue, and a streamed
// CSV the training worker, for as long as the client likes. /train bodies
// must arrive at MinUploadRate bytes a second averaged over UploadWindow:
// a slower one (a stall, a Content-Length longer than the body, a chunked
// body without its end) is cut by expiring the connection's read
// deadline, and the request and its run fail with errUploadTooSlow. The
// whole body must also arrive by window + limit/rate, its deadline.

// defaultUploadWindow is the window the rate is averaged over.
const defaultUploadWindow = 30 * time.Second

// errUploadTooSlow is the cause of a body cut for its rate.
var errUploadTooSlow = errors.New("upload too slow")

// rateGuard counts a body's bytes as they are read and cuts it when the
// last window brought fewer than the minimum.
type rateGuard struct {
	r    io.Reader
	read atomic.Int64
	cut  atomic.Bool
	stop chan struct{}
	rc   *http.ResponseController
	// mu orders the watch's cut and done: once done, nothing is cut.
	mu     sync.Mutex
	done   bool
	rate   int64
	window time.Duration
}

// guardUpload wraps r for the rate and the deadline, when a rate is set;
// done stops the watch once the body is read (or abandoned).
func (a *API) guardUpload(rc *http.ResponseController, r io.Reader, size int64) (guarded io.Reader, done func()) {
	if a.cfg.MinUploadRate <= 0 {
		return r, func() {}
	}
	window := a.uploadWindow()
	if size < 0 || size > a.cfg.MaxUploadBytes {
		size = a.cfg.MaxUploadBytes
	}
	deadline := time.Now().Add(window + time.Duration(float64(size)/float64(a.cfg.MinUploadRate)*float64(time.Second)))
	if err := rc.SetReadDeadline(deadline); err != nil {
		a.log.Debug("setting the upload deadline", "err", err)
	}
	g := &rateGuard{r: r, stop: make(chan struct{}), rc: rc, rate: a.cfg.MinUploadRate, window: window}
	go g.watch()
	return g, g.finish
}

// finish stops the watch and lifts the deadline: a wait for the run may
// follow, and the server reads the connection meanwhile to notice a
// client that leaves.
func (g *rateGuard) finish() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.done {
		return
	}
	g.done = true
	close(g.stop)
	if !g.cut.Load() {
		_ = g.rc.SetReadDeadline(time.Time{})
	}
}

func (g *rateGuard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	g.read.Add(int64(n))
	if err != nil && !errors.Is(err, io.EOF) && (g.cut.Load() || errors.Is(err, os.ErrDeadlineExceeded)) {
		err = fmt.Errorf("%w: %w", errUploadTooSlow, err)
	}
	return n, err
}

// watch samples the count every tenth of the window and compares it with
// the sample one window before.
func (g *rateGuard) watch() {
	const samples = 10
	tick := time.NewTicker(g.window / samples)
	defer tick.Stop()
	var ring [samples]int64
	need := int64(float64(g.rate) * g.window.Seconds())
	for i := 0; ; i++ {
		select {
		case <-g.stop:
			return
		case <-tick.C:
		}
		now := g.read.Load()
		if i >= samples && now-ring[i%samples] < need {
			g.mu.Lock()
			if !g.done {
				g.cut.Store(true)
				_ = g.rc.SetReadDeadline(time.Now()) // the pending Read fails at once
			}
			g.mu.Unlock()
			return
		}
		ring[i%samples] = now
	}
}

// uploadTooSlow is the answer to a body cut for its rate, or nil for any
// other error.
func (a *API) uploadTooSlow(err error) error {
	if !errors.Is(err, errUploadTooSlow) {
		return nil
	}
	return &httpserver.Error{Status: http.StatusRequestTimeout, Code: errcode.InvalidArgument,
		Message: fmt.Sprintf("the upload arrived slower than %d bytes a second over %s, or never ended "+
			"(TRAINER_MIN_UPLOAD_RATE): send the whole body, at least that fast", a.cfg.MinUploadRate, a.uploadWindow()),
		Cause: err}
}

func (a *API) uploadWindow() time.Duration {
	if a.cfg.UploadWindow > 0 {
		return a.cfg.UploadWindow
	}
	return defaultUploadWindow
}
