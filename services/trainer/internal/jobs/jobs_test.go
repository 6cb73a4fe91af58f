package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/modelferry/modelferry/pkg/errcode"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/services/trainer/internal/pipeline"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

// saver keeps every saved state of every run, and fails while err is set.
type saver struct {
	mu     sync.Mutex
	states map[string][]registry.Run
	err    error
}

func (s *saver) SaveRun(_ context.Context, run registry.Run, _ registry.SaveOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.states[run.ID] = append(s.states[run.ID], run)
	return nil
}

func (s *saver) last(id string) registry.Run {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.states[id]
	return st[len(st)-1]
}

// gatedWork is work that blocks until released, so tests decide when a
// run ends instead of hoping it is slow enough.
type gatedWork struct {
	started chan string
	release chan struct{}
	err     error
}

func (g *gatedWork) work(ctx context.Context, run registry.Run, _ pipeline.Source, update func(func(*registry.Run)), _ func() error) error {
	g.started <- run.ID
	select {
	case <-g.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	update(func(r *registry.Run) { r.Version = r.ID })
	return g.err
}

func newQueue(t *testing.T, maxQueued, parallel int) (*Queue, *saver, *gatedWork) {
	t.Helper()
	s := &saver{states: map[string][]registry.Run{}}
	g := &gatedWork{started: make(chan string, 100), release: make(chan struct{})}
	q := New(Config{Saver: s, Work: g.work, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics: NewMetrics(prometheus.NewRegistry()), MaxQueued: maxQueued, Parallel: parallel})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		q.Shutdown(ctx)
	})
	return q, s, g
}

func newRun(model string, i int) registry.Run {
	return registry.Run{ID: fmt.Sprintf("20261126T1000%02dZ-%08x", i, i), Model: model, Params: registry.DefaultParams()}
}

// submit takes a place and submits, as the API does.
func submit(q *Queue, ctx context.Context, run registry.Run, src pipeline.Source) (*Job, error) {
	t, err := q.Admit()
	if err != nil {
		src.Release()
		return nil, err
	}
	return q.Submit(ctx, t, run, src)
}

func waitStarted(t *testing.T, g *gatedWork) string {
	t.Helper()
	select {
	case id := <-g.started:
		return id
	case <-time.After(10 * time.Second):
		t.Fatal("no run started within 10s")
		return ""
	}
}

// patience bounds every wait of these tests: a broken deadline or cancel
// fails the test in seconds with what did not happen, instead of hanging
// go test until its own timeout.
const patience = 10 * time.Second

// waitDone waits for j to end; what says what should have ended it.
func waitDone(t *testing.T, j *Job, what string) {
	t.Helper()
	select {
	case <-j.Done():
	case <-time.After(patience):
		t.Fatalf("run %s did not end within %s: %s", j.Snapshot().ID, patience, what)
	}
}

// within runs f and fails the test when it has not returned in time.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(patience):
		t.Fatalf("%s did not return within %s", what, patience)
	}
}

// cancel cancels a run with a deadline, failing clearly when the run does
// not stop.
func cancel(t *testing.T, q *Queue, id string) (registry.Run, error) {
	t.Helper()
	ctx, stop := context.WithTimeout(context.Background(), patience)
	defer stop()
	r, err := q.Cancel(ctx, id)
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelling run %s: it did not stop within %s", id, patience)
	}
	return r, err
}

// submitRuns submits n runs of iris, calling after (when set) after each.
func submitRuns(t *testing.T, q *Queue, n int, after func(i int)) []*Job {
	t.Helper()
	var jobs []*Job
	for i := range n {
		j, err := submit(q, context.Background(), newRun("iris", i), pipeline.Source{})
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, j)
		if after != nil {
			after(i)
		}
	}
	return jobs
}

func TestRunsOfOneModelGoOneAtATime(t *testing.T) {
	q, s, g := newQueue(t, 16, 2)
	jobs := submitRuns(t, q, 4, nil)
	var order []string
	for i := range jobs {
		order = append(order, waitStarted(t, g))
		// While one runs, the next has not started: two slots, one model.
		select {
		case id := <-g.started:
			t.Fatalf("run %s started while %s was running", id, order[i])
		default:
		}
		g.release <- struct{}{}
		waitDone(t, jobs[i], "its work returned")
	}
	for i, j := range jobs {
		if order[i] != j.Snapshot().ID {
			t.Errorf("run %d started as number %d", i, slices.Index(order, j.Snapshot().ID))
		}
		if r := s.last(j.Snapshot().ID); r.Status != registry.StatusSucceeded || r.FinishedAt == nil {
			t.Errorf("run %d saved as %s", i, r.Status)
		}
	}
}

// Positions count the runs ahead, whether the first has started when the
// others join or is still about to: the first saved record of each says
// where it is.
func TestQueuePositionsAreUniqueAndCountDown(t *testing.T) {
	for _, startedFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("the first started before the others joined: %v", startedFirst), func(t *testing.T) {
			q, s, g := newQueue(t, 16, 1)
			jobs := submitRuns(t, q, 4, func(i int) {
				if i == 0 && startedFirst {
					waitStarted(t, g)
				}
			})
			if !startedFirst {
				waitStarted(t, g)
			}
			for i, j := range jobs[1:] {
				if pos := j.Snapshot().QueuePosition; pos != i+1 {
					t.Errorf("run %d at position %d, want %d", i+1, pos, i+1)
				}
				if first := s.states[j.Snapshot().ID][0]; first.Status != registry.StatusQueued ||
					first.Progress == nil || first.Progress.Stage != registry.StageQueued || first.QueuePosition != i+1 {
					t.Errorf("first saved state %s at position %d, progress %+v; want queued at %d", first.Status, first.QueuePosition, first.Progress, i+1)
				}
			}
			g.release <- struct{}{}
			waitDone(t, jobs[0], "its work returned")
			waitStarted(t, g)
			if pos := jobs[2].Snapshot().QueuePosition; pos != 1 {
				t.Errorf("after one finished, run 2 at position %d, want 1", pos)
			}
			close(g.release)
		})
	}
}

func TestFullQueueRefusesAndReleasesTheSource(t *testing.T) {
	q, _, g := newQueue(t, 1, 1)
	ctx := context.Background()
	if _, err := submit(q, ctx, newRun("iris", 0), pipeline.Source{}); err != nil {
		t.Fatal(err)
	}
	waitStarted(t, g) // running: no longer counted as queued
	if _, err := submit(q, ctx, newRun("iris", 1), pipeline.Source{}); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(t.TempDir(), "upload.csv")
	if err := os.WriteFile(tmp, []byte("a,b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := submit(q, ctx, newRun("iris", 2), pipeline.Source{Path: tmp, Temporary: true}); !errors.Is(err, ErrQueueFull) {
		t.Errorf("got %v, want ErrQueueFull", err)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Error("the refused upload was not released")
	}
	close(g.release)
}

func TestSubmitFailsWhenStorageIsDown(t *testing.T) {
	q, s, _ := newQueue(t, 4, 1)
	s.err = fmt.Errorf("%w: injected", modelstore.ErrUnavailable)
	tmp := filepath.Join(t.TempDir(), "upload.csv")
	if err := os.WriteFile(tmp, []byte("a,b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := submit(q, context.Background(), newRun("iris", 0), pipeline.Source{Path: tmp, Temporary: true})
	if !errors.Is(err, modelstore.ErrUnavailable) {
		t.Errorf("got %v, want ErrUnavailable", err)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Error("the spooled upload was not released")
	}
	if _, ok := q.Get(newRun("iris", 0).ID); ok {
		t.Error("an unrecorded run is known")
	}
	// A run never recorded never ran, so it is not counted as failed.
	if n := testutil.CollectAndCount(q.cfg.Metrics.runs); n != 0 {
		t.Errorf("%d run series for a run that was never recorded", n)
	}
	// Its place is free again.
	ticket, err := q.Admit()
	if err != nil {
		t.Fatalf("admit after the failed submit: %v", err)
	}
	ticket.Release()
}

// A place taken and given back, by a request that failed before it
// submitted, is free again, and giving it back twice frees one place.
func TestReleasedTicketFreesItsPlace(t *testing.T) {
	q, _, _ := newQueue(t, 1, 1)
	ticket, err := q.Admit()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Admit(); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("second admit into a queue of one: %v, want ErrQueueFull", err)
	}
	ticket.Release()
	ticket.Release()
	again, err := q.Admit()
	if err != nil {
		t.Fatalf("admit after the place was given back: %v", err)
	}
	if _, err := q.Admit(); !errors.Is(err, ErrQueueFull) {
		t.Errorf("a ticket released twice freed two places: %v", err)
	}
	again.Release()
}

func TestShutdownFailsQueuedRunsAndCancelsRunningOnes(t *testing.T) {
	q, s, g := newQueue(t, 16, 1)
	ctx := context.Background()
	jobs := submitRuns(t, q, 3, nil)
	waitStarted(t, g)
	// The running run never finishes by itself: the deadline cancels it.
	sctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	within(t, "Shutdown past its deadline", func() { q.Shutdown(sctx) })
	if _, err := submit(q, ctx, newRun("iris", 9), pipeline.Source{}); !errors.Is(err, ErrShuttingDown) {
		t.Errorf("submit after shutdown: %v", err)
	}
	for i, j := range jobs {
		waitDone(t, j, "shutdown")
		r := s.last(j.Snapshot().ID)
		want := "shut down before the run started"
		if i == 0 {
			want = "shut down before the run finished"
		}
		if r.Status != registry.StatusFailed || r.Error == nil || !strings.Contains(r.Error.Message, want) {
			t.Errorf("run %d saved as %s %+v, want failed %q", i, r.Status, r.Error, want)
		}
	}
}

func TestFailedWorkIsAFailedRun(t *testing.T) {
	q, s, g := newQueue(t, 4, 1)
	g.err = errors.New("disk exploded at /var/secret")
	j, err := submit(q, context.Background(), newRun("iris", 0), pipeline.Source{})
	if err != nil {
		t.Fatal(err)
	}
	waitStarted(t, g)
	g.release <- struct{}{}
	waitDone(t, j, "its work returned")
	r := s.last(j.Snapshot().ID)
	if r.Status != registry.StatusFailed || r.Error.Code != errcode.Internal || r.Error.Message != "internal error" {
		t.Errorf("saved %s %+v", r.Status, r.Error)
	}
}

func TestConcurrentSubmitsGetUniquePositionsInOrder(t *testing.T) {
	q, _, g := newQueue(t, 64, 1)
	ctx := context.Background()
	first, err := submit(q, ctx, newRun("iris", 0), pipeline.Source{})
	if err != nil {
		t.Fatal(err)
	}
	waitStarted(t, g)
	jobs := make([]*Job, 16)
	var wg sync.WaitGroup
	for i := range jobs {
		wg.Go(func() {
			j, err := submit(q, ctx, newRun("iris", i+1), pipeline.Source{})
			if err != nil {
				t.Error(err)
				return
			}
			jobs[i] = j
		})
	}
	wg.Wait()
	byPosition := map[int]*Job{}
	for _, j := range jobs {
		pos := j.Snapshot().QueuePosition
		if byPosition[pos] != nil {
			t.Fatalf("two runs at position %d", pos)
		}
		byPosition[pos] = j
	}
	// They run in the order of their positions.
	close(g.release)
	waitDone(t, first, "its work returned")
	for pos := 1; pos <= len(jobs); pos++ {
		if id := waitStarted(t, g); id != byPosition[pos].Snapshot().ID {
			t.Fatalf("position %d: %s started instead of %s", pos, id, byPosition[pos].Snapshot().ID)
		}
	}
}

func TestCancel(t *testing.T) {
	q, s, g := newQueue(t, 16, 1)
	ctx := context.Background()
	running, _ := submit(q, ctx, newRun("iris", 0), pipeline.Source{})
	waitStarted(t, g)
	queued, _ := submit(q, ctx, newRun("iris", 1), pipeline.Source{})
	last, _ := submit(q, ctx, newRun("iris", 2), pipeline.Source{})

	t.Run("a queued run leaves the queue", func(t *testing.T) {
		r, err := cancel(t, q, queued.Snapshot().ID)
		if err != nil || r.Status != registry.StatusCancelled || r.Error.Code != errcode.Cancelled {
			t.Fatalf("%+v, %v", r, err)
		}
		if saved := s.last(r.ID); saved.Status != registry.StatusCancelled {
			t.Errorf("saved as %s", saved.Status)
		}
		if pos := last.Snapshot().QueuePosition; pos != 1 {
			t.Errorf("the run behind it is at position %d, want 1", pos)
		}
	})
	t.Run("a running run stops", func(t *testing.T) {
		r, err := cancel(t, q, running.Snapshot().ID)
		if err != nil || r.Status != registry.StatusCancelled || r.FinishedAt == nil {
			t.Fatalf("%+v, %v", r, err)
		}
		if saved := s.last(r.ID); saved.Status != registry.StatusCancelled {
			t.Errorf("saved as %s", saved.Status)
		}
	})
	t.Run("a finished run cannot be cancelled", func(t *testing.T) {
		if _, err := cancel(t, q, queued.Snapshot().ID); !errors.Is(err, ErrNotLive) {
			t.Errorf("got %v, want ErrNotLive", err)
		}
		if _, err := cancel(t, q, "20261126T000000Z-00000000"); !errors.Is(err, ErrNotLive) {
			t.Errorf("unknown run: %v", err)
		}
	})
	if id := waitStarted(t, g); id != last.Snapshot().ID {
		t.Errorf("%s started, want %s", id, last.Snapshot().ID)
	}
	close(g.release)
}

func TestRunTimeoutFailsTheRun(t *testing.T) {
	s := &saver{states: map[string][]registry.Run{}}
	g := &gatedWork{started: make(chan string, 1), release: make(chan struct{})}
	q := New(Config{Saver: s, Work: g.work, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics: NewMetrics(prometheus.NewRegistry()), MaxQueued: 4, RunTimeout: 50 * time.Millisecond})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		q.Shutdown(ctx)
	})
	j, err := submit(q, context.Background(), newRun("iris", 0), pipeline.Source{})
	if err != nil {
		t.Fatal(err)
	}
	// The work never finishes by itself.
	waitDone(t, j, "TRAINER_RUN_TIMEOUT (50ms) should have failed it")
	r := s.last(j.Snapshot().ID)
	if r.Status != registry.StatusFailed || r.Error.Code != errcode.DeadlineExceeded || !strings.Contains(r.Error.Message, "TRAINER_RUN_TIMEOUT") {
		t.Errorf("saved %s %+v", r.Status, r.Error)
	}
}

func TestCancellingAQueuedRunFreesItsPlace(t *testing.T) {
	q, _, g := newQueue(t, 1, 1)
	ctx := context.Background()
	if _, err := submit(q, ctx, newRun("iris", 0), pipeline.Source{}); err != nil {
		t.Fatal(err)
	}
	waitStarted(t, g)
	queued, err := submit(q, ctx, newRun("iris", 1), pipeline.Source{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Admit(); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("admit into a full queue: %v, want ErrQueueFull", err)
	}
	if _, err := cancel(t, q, queued.Snapshot().ID); err != nil {
		t.Fatal(err)
	}
	ticket, err := q.Admit()
	if err != nil {
		t.Fatalf("admit after the queued run was cancelled: %v", err)
	}
	ticket.Release()
	close(g.release)
}
