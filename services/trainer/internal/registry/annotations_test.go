package registry

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func TestGeneratedName(t *testing.T) {
	a, b := GeneratedName("20261126T100000Z-00000001"), GeneratedName("20261126T100000Z-00000002")
	if a != GeneratedName("20261126T100000Z-00000001") {
		t.Error("not the same for the same id")
	}
	if a == b {
		t.Errorf("two ids, one name %s", a)
	}
	for _, n := range []string{a, b} {
		if !regexp.MustCompile(`^[a-z]+-[a-z]+-[0-9]{1,2}$`).MatchString(n) || CheckName(n) != nil {
			t.Errorf("name %q is not adjective-animal-number", n)
		}
	}
	if got := GeneratedName("20261126T100000Z-00000001"); got != "sunny-tiger-35" {
		t.Errorf("GeneratedName = %s, want sunny-tiger-35: the scheme is pinned, tests and docs name runs by it", got)
	}
}

func TestAnnotate(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	done := Run{ID: version(1), Model: "iris", Status: StatusSucceeded, Name: "first", Tags: map[string]string{"keep": "1", "drop": "x"}}
	busy := Run{ID: version(2), Model: "iris", Status: StatusRunning}
	saveRuns(t, f, done, busy)

	got, err := f.reg.Annotate(ctx, done.ID, Annotations{Name: ptr("renamed"), Description: ptr("# notes\n\nline"),
		Tags: map[string]*string{"team": ptr("fraud"), "drop": nil}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "renamed" || got.Description != "# notes\n\nline" || fmt.Sprint(got.Tags) != "map[keep:1 team:fraud]" || got.Revision != 1 {
		t.Errorf("edited: %+v", got)
	}
	stored, err := f.reg.Run(ctx, done.ID)
	if err != nil || stored.Name != "renamed" || stored.Tags["team"] != "fraud" {
		t.Errorf("stored: %+v %v", stored, err)
	}
	s, _ := ParseSearch("tags.team = 'fraud' and attributes.run_name = 'renamed'", nil)
	if page, err := f.reg.SearchRuns(ctx, RunQuery{Limit: 10}, s); err != nil || len(page.Runs) != 1 || page.Runs[0].ID != done.ID {
		t.Errorf("the search does not see the edit: %+v %v", page.Runs, err)
	}

	for _, tc := range []struct {
		name string
		id   string
		a    Annotations
		want error
		msg  string
	}{
		{"stale revision", done.ID, Annotations{Name: ptr("x"), IfRevision: ptr(0)}, ErrStale, "at revision 0: it is at 1"},
		{"running run", busy.ID, Annotations{Name: ptr("x")}, ErrRunActive, ""},
		{"blank name", done.ID, Annotations{Name: ptr("  ")}, nil, "name must not be empty"},
		{"long name", done.ID, Annotations{Name: ptr(strings.Repeat("n", MaxNameBytes+1))}, nil, "251 bytes long; at most 250"},
		{"long tag key", done.ID, Annotations{Tags: map[string]*string{strings.Repeat("k", 251): ptr("v")}}, nil, "at most 250"},
		{"long tag value", done.ID, Annotations{Tags: map[string]*string{"k": ptr(strings.Repeat("v", 5001))}}, nil, "5001 bytes long; at most 5000"},
		{"control character", done.ID, Annotations{Tags: map[string]*string{"k": ptr("a\x00b")}}, nil, "control character"},
		{"long description", done.ID, Annotations{Description: ptr(strings.Repeat("d", MaxDescriptionBytes+1))}, nil, "at most 16384"},
		{"too many tags", done.ID, Annotations{Tags: func() map[string]*string {
			m := map[string]*string{}
			for i := range 49 {
				m[fmt.Sprint("t", i)] = ptr("v")
			}
			return m
		}()}, nil, "51 tags; at most 50"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.reg.Annotate(ctx, tc.id, tc.a)
			var ee *EditError
			switch {
			case err == nil:
				t.Fatal("no error")
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Errorf("error %v, want %v", err, tc.want)
			case tc.want == nil && !errors.As(err, &ee):
				t.Errorf("error %v, want an *EditError", err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q lacks %q", err, tc.msg)
			}
		})
	}
	if run, _ := f.reg.Run(ctx, done.ID); run.Revision != 1 || run.Name != "renamed" {
		t.Errorf("a refused edit changed the run: %+v", run)
	}
	// A run this process has just finished is read from its live state,
	// which must show the edit too.
	ended := Run{ID: version(3), Model: "iris", Status: StatusSucceeded, Name: "live", History: []HistoryPoint{{Iteration: 1}}}
	saveRuns(t, f, ended)
	f.live[ended.ID] = ended
	if _, err := f.reg.Annotate(ctx, ended.ID, Annotations{Name: ptr("edited")}); err != nil {
		t.Fatal(err)
	}
	if run, _ := f.reg.Run(ctx, ended.ID); run.Name != "edited" || len(run.History) != 1 {
		t.Errorf("GET of a live ended run after an edit: name %q, %d history points", run.Name, len(run.History))
	}
	if page, _ := f.reg.Runs(ctx, RunQuery{Limit: 1}); len(page.Runs) != 1 || page.Runs[0].Name != "edited" {
		t.Errorf("listing of a live ended run after an edit: %+v", page.Runs)
	}
}

// TestAnnotateLosesNoConcurrentEdit has many writers tag one run at once:
// compare-and-swap makes every one of them land.
func TestAnnotateLosesNoConcurrentEdit(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	run := Run{ID: version(1), Model: "iris", Status: StatusSucceeded}
	saveRuns(t, f, run)
	// The first round of puts of the record waits until every writer
	// has read it, so they race for real.
	const writers = 8
	var arrived sync.WaitGroup
	arrived.Add(writers)
	var mu sync.Mutex
	first := writers
	f.mem.SetHook(func(op, key string) error {
		if op != "put" || key != "runs/iris/"+run.ID+".json" {
			return nil
		}
		mu.Lock()
		wait := first > 0
		first--
		mu.Unlock()
		if wait {
			arrived.Done()
			arrived.Wait()
		}
		return nil
	})
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, err := f.reg.Annotate(ctx, run.ID, Annotations{Tags: map[string]*string{fmt.Sprint("w", i): ptr("1")}})
				if err != nil && strings.Contains(err.Error(), "etag") {
					continue // gave up after its retries under this much contention: try again, as a client would after a 409
				}
				errs <- err
				return
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	got, err := f.reg.Run(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Tags) != writers || got.Revision != writers {
		t.Errorf("after %d concurrent edits: %d tags, revision %d: %v", writers, len(got.Tags), got.Revision, got.Tags)
	}
}
