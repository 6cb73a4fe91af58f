package registry

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/modelferry/modelferry/pkg/evaluation"
)

// searchRuns are n finished runs: accuracy i/n, c alternating 1 and 0.5,
// tag team fraud on every third, names run-i.
func searchRuns(n int) []Run {
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	out := make([]Run, n)
	for i := range out {
		p := DefaultParams()
		if i%2 == 1 {
			p.C = 0.5
		}
		r := Run{ID: fmt.Sprintf("20261126T10%04dZ-%08x", i, i), Model: []string{"iris", "wine"}[i%2],
			Name: fmt.Sprintf("run-%d", i), Status: StatusSucceeded, Params: p,
			Metrics: &evaluation.Report{Accuracy: float64(i) / float64(n)}, CreatedAt: at.Add(time.Duration(i) * time.Second)}
		if i%3 == 0 {
			r.Tags = map[string]string{"team": "fraud"}
		}
		if i%7 == 0 {
			p.Drop, p.ClassWeight = []string{"id"}, &ClassWeight{Balanced: true}
			r.Params = p
		}
		if i%11 == 0 {
			p.TestFraction = 0
			r.Params = p
		}
		if i%13 == 0 {
			r.Kind = "search"
		}
		if i%5 == 4 {
			r.Status, r.Metrics = StatusFailed, nil
		}
		out[i] = r
	}
	return out
}

func TestSearchRuns(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	all := searchRuns(30)
	saveRuns(t, f, all...)
	names := func(runs []Run) string {
		var out []string
		for _, r := range runs {
			out = append(out, strings.TrimPrefix(r.Name, "run-"))
		}
		return strings.Join(out, " ")
	}
	// want is every run keep accepts, newest first, or sorted by less.
	want := func(keep func(int, Run) bool, less func(a, b Run) bool) string {
		var out []Run
		for i := len(all) - 1; i >= 0; i-- {
			if keep(i, all[i]) {
				out = append(out, all[i])
			}
		}
		if less != nil {
			sort.SliceStable(out, func(i, j int) bool { return less(out[i], out[j]) })
		}
		return names(out)
	}
	acc := func(r Run) float64 { return r.Metrics.Accuracy }
	for _, tc := range []struct {
		name, filter string
		order        []string
		model        string
		want         string
	}{
		{"the issue's example", "metrics.accuracy > 0.5 and params.c = '1' and tags.team = 'fraud' and attributes.status = 'succeeded'", nil, "",
			want(func(i int, r Run) bool { return r.Metrics != nil && acc(r) > 0.5 && i%2 == 0 && i%3 == 0 }, nil)},
		{"a parameter as its shortest text", "params.c = '0.5'", nil, "iris", ""},
		{"table parameters: a list as JSON, a value JSON writes as a string as that string", `params.drop = '["id"]' and params.class_weight = 'balanced'`, nil, "",
			want(func(i int, r Run) bool { return i%7 == 0 }, nil)},
		{"kind", "attributes.kind = 'search'", nil, "", want(func(i int, r Run) bool { return i%13 == 0 }, nil)},
		{"a parameter not given matches nothing", "params.impute != 'mean'", nil, "", ""},
		{"a zero core parameter is still given", "params.test_fraction = '0'", nil, "",
			want(func(i int, r Run) bool { return i%11 == 0 }, nil)},
		{"name LIKE", "attributes.run_name LIKE 'run-2_'", nil, "",
			want(func(i int, r Run) bool { return i >= 20 && i < 30 }, nil)},
		{"status IN", "attributes.status IN ('failed')", nil, "wine",
			want(func(i int, r Run) bool { return i%5 == 4 && i%2 == 1 }, nil)},
		{"ordered by accuracy, runs without it last", "", []string{"metrics.accuracy DESC"}, "",
			want(func(int, Run) bool { return true }, func(a, b Run) bool {
				return a.Metrics != nil && (b.Metrics == nil || acc(a) > acc(b))
			})},
		{"two keys, repeated", "tags.team = 'fraud'", []string{"params.c", "metrics.accuracy ASC"}, "",
			want(func(i int, r Run) bool { return i%3 == 0 }, func(a, b Run) bool {
				if a.Params.C != b.Params.C {
					return a.Params.C < b.Params.C // '0.5' < '1' as text
				}
				return a.Metrics != nil && (b.Metrics == nil || acc(a) < acc(b))
			})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseSearch(tc.filter, tc.order)
			if err != nil {
				t.Fatal(err)
			}
			var got []Run
			token := ""
			for pages := 0; ; pages++ {
				page, err := f.reg.SearchRuns(ctx, RunQuery{Model: tc.model, Limit: 4, PageToken: token}, s)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, page.Runs...)
				if token = page.NextPageToken; token == "" || pages > 20 {
					break
				}
			}
			if names(got) != tc.want {
				t.Errorf("pages of 4 gave\n %s\nwant\n %s", names(got), tc.want)
			}
		})
	}
}

func TestParseSearchErrors(t *testing.T) {
	for _, tc := range []struct{ filter, order, want string }{
		{"metrics.accuracy >", "", "filter at column 19: expected a value"},
		{"params.tol = '1'", "metrics.accuracy DOWN", "order_by at column 18"},
		{"params.nope = '1'", "", `unknown parameter "nope": runs have c, max_iter, tol`},
		{"metrics.f1 > 1", "", "unknown metric"},
		{"", "attributes.owner", `unknown attribute "owner"`},
	} {
		_, err := ParseSearch(tc.filter, []string{tc.order})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseSearch(%q, %q) = %v, want %q", tc.filter, tc.order, err, tc.want)
		}
	}
}

// BenchmarkSearchRuns searches 10,000 runs from a warm cache, ordered
// (every run read and sorted) and filtered newest first, and reports
// the p95 of one search (target: 100 ms).
func BenchmarkSearchRuns(b *testing.B) {
	ctx := context.Background()
	f := newFixture(&testing.T{})
	for _, r := range searchRuns(10_000) {
		if err := f.reg.SaveRun(ctx, r, SaveOptions{First: true}); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name, filter string
		order        []string
	}{
		{"unsearched-page", "", nil}, // GET /runs?limit=50 as before: the yardstick
		{"filtered", "metrics.accuracy > 0.9 and params.c = '1' and tags.team = 'fraud' and attributes.status = 'succeeded'", nil},
		{"filtered-and-ordered", "metrics.accuracy > 0.5 and tags.team LIKE 'fr%'", []string{"metrics.accuracy DESC, attributes.run_name"}},
		{"ordered-all", "", []string{"metrics.accuracy DESC"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := ParseSearch(bc.filter, bc.order)
			if err != nil {
				b.Fatal(err)
			}
			search := f.reg.SearchRuns
			if !s.Searching() {
				search = func(ctx context.Context, q RunQuery, _ Search) (RunPage, error) { return f.reg.Runs(ctx, q) }
			}
			if _, err := search(ctx, RunQuery{Limit: 50}, s); err != nil { // warm the cache
				b.Fatal(err)
			}
			var took []time.Duration
			for b.Loop() {
				start := time.Now()
				if _, err := search(ctx, RunQuery{Limit: 50}, s); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}
