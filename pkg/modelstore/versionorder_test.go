package modelstore

import (
	"testing"
	"time"
)

// Ids made within one second sort by time too: `ferry runs` and the
// console list newest first by id.
func TestNewVersionSortsWithinASecond(t *testing.T) {
	base := time.Date(2026, 11, 26, 22, 15, 0, 0, time.UTC)
	prev := NewVersion(base)
	for _, d := range []time.Duration{time.Millisecond, 2 * time.Millisecond, 100 * time.Millisecond, 500 * time.Millisecond, 999 * time.Millisecond, time.Second} {
		for range 20 { // the random part never reorders them
			v := NewVersion(base.Add(d))
			if !ValidVersion(v) {
				t.Fatalf("NewVersion(+%s) = %q: not a valid version", d, v)
			}
			if v <= prev {
				t.Fatalf("NewVersion(+%s) = %q sorts before %q", d, v, prev)
			}
		}
		prev = NewVersion(base.Add(d))
	}
}
