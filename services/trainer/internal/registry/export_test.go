package registry

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestEachRun(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	all := searchRuns(1200) // more than one chunk
	saveRuns(t, f, all...)
	collect := func(filter string, order []string, stopAt int) ([]string, error) {
		s, err := ParseSearch(filter, order)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		err = f.reg.EachRun(ctx, RunQuery{Model: "iris"}, s, func(r *Run) error {
			if len(ids) == stopAt {
				return errors.New("stop")
			}
			ids = append(ids, r.ID)
			return nil
		})
		return ids, err
	}
	var want []string
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Model == "iris" && all[i].Tags["team"] == "fraud" {
			want = append(want, all[i].ID)
		}
	}
	got, err := collect("tags.team = 'fraud'", nil, -1)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("newest first: %d runs (%v), want %d", len(got), err, len(want))
	}
	got, err = collect("tags.team = 'fraud'", []string{"attributes.run_id ASC"}, -1)
	slices.Reverse(want)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("ordered: %d runs (%v), want %d", len(got), err, len(want))
	}
	if got, err := collect("", nil, 3); err == nil || len(got) != 3 {
		t.Errorf("a yield error does not stop it: %d runs, %v", len(got), err)
	}
}
