package pipeline

import (
	"context"
	"fmt"

	"github.com/modelferry/modelferry/pkg/logreg"
	"github.com/modelferry/modelferry/pkg/search"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

// crossValidate runs p.Search on the training rows d, records it in the
// run and returns the best grid point's C and the row weights for the
// refit on every training row: d's own times the best class weight.
func (in Input) crossValidate(ctx context.Context, d logreg.Data, classes []string, p registry.Params) (float64, []float64, error) {
	in.enter(registry.StageSearching)
	cfg, err := p.Search.Config(classes)
	if err != nil {
		return 0, nil, err
	}
	cfg.Fit = logreg.Options{MaxIter: p.MaxIter, Tol: p.Tol, Standardize: p.Standardize}
	cfg.OnProgress = func(sp search.Progress) {
		progress := &registry.Progress{Stage: registry.StageSearching, FitsDone: sp.Done, FitsTotal: sp.Total}
		if sp.BestIndex >= 0 {
			c, s := cfg.C[sp.BestIndex/max(1, len(cfg.ClassWeights))], sp.BestScore
			progress.BestC, progress.BestScore = &c, &s
		}
		in.Update(func(r *registry.Run) { r.Progress = progress })
	}
	out, err := search.Run(ctx, d, cfg)
	if err != nil {
		return 0, nil, fmt.Errorf("search: %w", err)
	}
	record := search.NewRecord(*p.Search, out)
	best := out.Best()
	// The run's C becomes the one chosen, as the version's is.
	in.Update(func(r *registry.Run) { r.Search, r.Params.C = &record, best.C })
	return best.C, best.ClassWeight.Weights(d.Y, d.Classes, d.Weight), nil
}
