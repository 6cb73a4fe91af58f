package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/modelferry/modelferry/pkg/client"
	"github.com/modelferry/modelferry/pkg/search"
)

// searchProgress is a searching run's progress: fits done and the best
// grid point so far.
func searchProgress(p client.Progress) string {
	s := fmt.Sprintf("fits %d/%d", p.FitsDone, p.FitsTotal)
	if p.BestC != nil && p.BestScore != nil {
		s += fmt.Sprintf(" best C %.4g (%.6g)", *p.BestC, *p.BestScore)
	}
	return s
}

// searchTable prints a search's results, one row per grid point, the
// refit one marked.
func (a *app) searchTable(r *search.Record) error {
	fmt.Fprintf(a.stdout, "search    %d-fold, %s\n", r.Folds, r.Scoring)
	rows := make([][]string, 0, len(r.Results))
	for i, res := range r.Results {
		mark := ""
		if i == r.BestIndex {
			mark = "*"
		}
		folds := make([]string, len(res.FoldScores))
		for f, v := range res.FoldScores {
			folds[f] = strconv.FormatFloat(v, 'f', 4, 64)
		}
		cw := "none"
		if res.ClassWeight.Balanced || res.ClassWeight.ByLabel != nil {
			b, _ := res.ClassWeight.MarshalJSON()
			cw = strings.Trim(string(b), `"`)
		}
		rows = append(rows, []string{mark, strconv.FormatFloat(res.C, 'g', 4, 64), cw,
			strconv.FormatFloat(res.MeanScore, 'f', 4, 64), strconv.FormatFloat(res.StdScore, 'f', 4, 64),
			strings.Join(folds, " "), strconv.FormatFloat(res.FitSeconds, 'f', 3, 64)})
	}
	return a.table([]string{"", "C", "CLASS_WEIGHT", "MEAN", "STD", "FOLDS", "FIT_S"}, rows)
}
