package modelstore

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Concurrent publishes of one model never get the same number, and the
// numbers run 1, 2, 3… with no gap; each names its version.
func TestAssignNumberConcurrently(t *testing.T) {
	mem := NewMemory("b")
	s := New(mem, Options{Timeout: time.Second})
	ctx := context.Background()
	const n = 24
	// Every publish reads the claimed numbers before any claims one: all
	// want number 1 at once.
	var mu sync.Mutex
	claims, all := 0, make(chan struct{})
	mem.SetHook(func(op, key string) error {
		if op == "put" && strings.Contains(key, "/numbers/") {
			mu.Lock()
			claims++
			if claims == n {
				close(all)
			}
			mu.Unlock()
			select {
			case <-all:
			case <-time.After(5 * time.Second):
			}
		}
		return nil
	})
	versions := make([]string, n)
	numbers := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		versions[i] = NewVersion(time.Date(2026, 11, 26, 22, 15, i, 0, time.UTC))
		wg.Go(func() {
			var err error
			if numbers[i], err = s.AssignNumber(ctx, "iris", versions[i]); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got := slices.Clone(numbers)
	slices.Sort(got)
	for i, k := range got {
		if k != i+1 {
			t.Fatalf("numbers %v, want 1 to %d, each once", got, n)
		}
	}
	for i, k := range numbers {
		if v, err := s.VersionOfNumber(ctx, "iris", k); err != nil || v != versions[i] {
			t.Errorf("VersionOfNumber(%d) = %q, %v; want %q", k, v, err, versions[i])
		}
	}
	// Another model counts from 1.
	if k, err := s.AssignNumber(ctx, "wine", versions[0]); err != nil || k != 1 {
		t.Errorf("wine's first number: %d, %v", k, err)
	}
	if _, err := s.VersionOfNumber(ctx, "iris", n+1); !errors.Is(err, ErrNotFound) {
		t.Errorf("unclaimed number: %v, want ErrNotFound", err)
	}
}

// A number claimed by a publish that then failed is not given again.
func TestNumberIsNeverReused(t *testing.T) {
	s := New(NewMemory("b"), Options{Timeout: time.Second})
	ctx := context.Background()
	v1, v2 := NewVersion(time.Unix(1, 0)), NewVersion(time.Unix(2, 0))
	if k, err := s.AssignNumber(ctx, "iris", v1); err != nil || k != 1 {
		t.Fatalf("%d %v", k, err)
	}
	// v1's publish failed: no version v1 exists, its number stays taken.
	if k, err := s.AssignNumber(ctx, "iris", v2); err != nil || k != 2 {
		t.Errorf("second number %d, %v; want 2", k, err)
	}
}

func TestParseNumber(t *testing.T) {
	for v, want := range map[string]int{"1": 1, "7": 7, "123456789": 123456789, "0": 0, "07": 0, "-1": 0, "1e3": 0, "": 0,
		"1234567890": 0, "20261126T221500Z-1a2b3c4d": 0} {
		if n, ok := ParseNumber(v); n != want || ok != (want > 0) {
			t.Errorf("ParseNumber(%q) = %d, %v; want %d", v, n, ok, want)
		}
	}
}
