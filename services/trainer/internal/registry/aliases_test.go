package registry

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestSetAliasCostsOneReadAndOneWrite: a move by hand reads the alias once
// and writes it once, conditionally; its answer is what the bucket holds.
func TestSetAliasCostsOneReadAndOneWrite(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	_, v1 := f.publish(t, version(1), 0.9)
	_, v2 := f.publish(t, version(2), 0.9)
	if _, err := f.reg.SetAlias(ctx, "iris", AliasProduction, v1.Version); err != nil {
		t.Fatal(err)
	}
	ops := map[string]int{}
	var mu sync.Mutex
	f.mem.SetHook(func(op, key string) error {
		if strings.HasSuffix(key, "/aliases/production.json") {
			mu.Lock()
			ops[op]++
			mu.Unlock()
		}
		return nil
	})
	change, err := f.reg.SetAlias(ctx, "iris", AliasProduction, v2.Version)
	f.mem.SetHook(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 2 || ops["get"] != 1 || ops["put"] != 1 {
		t.Errorf("the alias was touched %v, want one get and one put", ops)
	}
	now, _, err := f.store.GetAlias(ctx, "iris", AliasProduction)
	if err != nil {
		t.Fatal(err)
	}
	if change.Version != now.Version || change.SHA256 != now.SHA256 || !change.UpdatedAt.Equal(now.UpdatedAt) ||
		change.PreviousVersion != v1.Version || now.Previous != v1.Version {
		t.Errorf("answer %+v, bucket %+v; want previous %s", change, now, v1.Version)
	}
}

// TestSetAliasUnderConcurrentMoves races moves of one alias to distinct
// versions: each answer's previous_version must be exactly the version its
// write replaced, so the answers chain from the first version through every
// move, each version replaced at most once, and end where the alias is.
func TestSetAliasUnderConcurrentMoves(t *testing.T) {
	ctx := context.Background()
	const movers, rounds = 4, 25
	for round := range rounds {
		f := newFixture(t)
		_, first := f.publish(t, version(0), 0.9)
		if _, err := f.reg.SetAlias(ctx, "iris", AliasProduction, first.Version); err != nil {
			t.Fatal(err)
		}
		targets := make([]string, movers)
		for i := range targets {
			_, ref := f.publish(t, version(i+1), 0.9)
			targets[i] = ref.Version
		}
		changes := make([]AliasChange, movers)
		var failed atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range movers {
			wg.Go(func() {
				<-start
				c, err := f.reg.SetAlias(ctx, "iris", AliasProduction, targets[i])
				if err != nil {
					failed.Add(1) // too many lost races; the others must still chain
					return
				}
				changes[i] = c
			})
		}
		close(start)
		wg.Wait()
		next := map[string]string{} // previous → version
		for _, c := range changes {
			if c.Version == "" {
				continue
			}
			if other, dup := next[c.PreviousVersion]; dup {
				t.Fatalf("round %d: %s replaced by both %s and %s", round, c.PreviousVersion, other, c.Version)
			}
			next[c.PreviousVersion] = c.Version
		}
		at, steps := first.Version, 0
		for v, ok := next[at]; ok; v, ok = next[at] {
			at = v
			steps++
		}
		if want := movers - int(failed.Load()); steps != want {
			t.Fatalf("round %d: the answers chain %d moves from %s, want %d: %v", round, steps, first.Version, want, next)
		}
		now, _, err := f.store.GetAlias(ctx, "iris", AliasProduction)
		if err != nil || now.Version != at {
			t.Fatalf("round %d: the alias holds %+v (%v), the chain ends at %s", round, now, err, at)
		}
	}
}
