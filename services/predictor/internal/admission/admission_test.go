package admission

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestGateBoundsLargeRequests(t *testing.T) {
	var freed sync.WaitGroup
	freed.Add(1)
	g := New(100, 2, 50*time.Millisecond, time.Millisecond, freed.Done)
	ctx := context.Background()

	first, err := g.Acquire(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Acquire(ctx, 60); err == nil {
		t.Fatal("a second body that does not fit the budget was let in")
	}
	second, err := g.Acquire(ctx, 30)
	if err != nil {
		t.Fatalf("a body that fits beside the first: %v", err)
	}
	if _, err := g.Acquire(ctx, 10); err == nil {
		t.Fatal("a third large body was let in with two slots")
	}
	// One larger than the whole budget waits for all of it.
	got := make(chan func(), 1)
	go func() {
		rel, err := g.Acquire(ctx, 1000)
		if err != nil {
			t.Error(err)
		}
		got <- rel
	}()
	first()
	second()
	(<-got)()
	// The burst is over: its memory goes back to the system (a wait
	// that hangs here is the failure).
	freed.Wait()
}

// TestHoldTakesASlotOnlyWhenAsked: bytes reserved for a body still
// arriving leave the slots free, and Shrink gives back what a body did
// not need.
func TestHoldTakesASlotOnlyWhenAsked(t *testing.T) {
	g := New(100, 1, 50*time.Millisecond, time.Millisecond, nil)
	ctx := context.Background()
	var arriving []*Hold
	for range 3 {
		h, err := g.Reserve(ctx, 20)
		if err != nil {
			t.Fatal(err)
		}
		arriving = append(arriving, h)
	}
	rel, err := g.Acquire(ctx, 40)
	if err != nil {
		t.Fatalf("bodies still arriving took the slot: %v", err)
	}
	rel()
	if _, err := g.Reserve(ctx, 60); err == nil {
		t.Fatal("60 bytes fit beside 60 of 100 held")
	}
	arriving[0].Shrink(0)
	h, err := g.Reserve(ctx, 60)
	if err != nil {
		t.Fatalf("Shrink did not give bytes back: %v", err)
	}
	h.Release()
	h.Release() // twice is once
	for _, h := range arriving {
		h.Release()
	}
	if _, err := g.Reserve(ctx, 100); err != nil {
		t.Fatalf("the budget did not come back whole: %v", err)
	}
}
