// Package search selects a logistic regression's C (and class weight) by
// stratified cross-validation, as scikit-learn's GridSearchCV over a
// Pipeline([StandardScaler(), LogisticRegression()]) or, unstandardized,
// LogisticRegressionCV does: the folds are StratifiedKFold(k) without
// shuffling on the rows in order, each fold's statistics (the scaler,
// "balanced" class weights) are computed on its training part, and the
// best grid point is the one of highest mean score, ties to the smaller C.
//
// The folds are index views of one parsed table (logreg.Data.Index), never
// copies. Within a fold the C values are fitted in ascending order, each
// from the previous solution (a warm start, as LogisticRegressionCV
// does); the folds run in parallel within a core budget, and every result
// is the same bits on any number of cores.
package search

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/modelferry/modelferry/pkg/logreg"
)

// ErrInvalid reports a search that cannot be run as asked: the message
// says what is allowed.
var ErrInvalid = errors.New("invalid search")

// Config is one search.
type Config struct {
	// C is the grid of inverse regularization strengths, each > 0.
	C []float64
	// ClassWeights are the class-weight candidates; nil means one, none.
	ClassWeights []ClassWeight
	// Folds is the k of StratifiedKFold; 0 means DefaultFolds.
	Folds   int
	Scoring Scoring
	// Fit is the base of every fit (Standardize, Tol, MaxIter); its C,
	// Start, Workers and OnProgress are set per fit.
	Fit logreg.Options
	// Workers is the core budget; 0 means GOMAXPROCS. The result does not
	// depend on it.
	Workers int
	// ColdStart fits every C from zero instead of the previous C's
	// solution (to measure what warm starts save).
	ColdStart bool
	// OnProgress, when set, is called after every fit, from one goroutine
	// at a time.
	OnProgress func(Progress)
}

// DefaultFolds is scikit-learn's default cv.
const DefaultFolds = 5

// Progress is what a search reports after every fit.
type Progress struct {
	Done, Total int
	// BestIndex is the best grid point among those whose every fold is
	// done, -1 before any is; BestScore its mean score.
	BestIndex int
	BestScore float64
}

// Result is one grid point's cross-validation.
type Result struct {
	C           float64
	ClassWeight ClassWeight
	FoldScores  []float64
	MeanScore   float64
	// StdScore is the population standard deviation of FoldScores, as
	// scikit-learn's std_test_score.
	StdScore float64
	// FitSeconds is the mean wall time of a fold's fit, as scikit-learn's
	// mean_fit_time.
	FitSeconds float64
	// Iterations is each fold's solver iterations.
	Iterations []int
}

// Outcome is a finished search: Results in grid order (C as given, then
// class-weight candidates), and the best of them.
type Outcome struct {
	Scoring   Scoring
	Folds     int
	Results   []Result
	BestIndex int
}

// Best is the chosen grid point.
func (o *Outcome) Best() Result { return o.Results[o.BestIndex] }

func (cfg Config) withDefaults() Config {
	if cfg.Folds == 0 {
		cfg.Folds = DefaultFolds
	}
	if cfg.Scoring == "" {
		cfg.Scoring = NegLogLoss
	}
	if len(cfg.ClassWeights) == 0 {
		cfg.ClassWeights = []ClassWeight{{}}
	}
	return cfg
}

// Validate checks the grid, folds and scoring that do not depend on the
// data.
func (cfg Config) Validate() error {
	cfg = cfg.withDefaults()
	if len(cfg.C) == 0 {
		return fmt.Errorf("%w: the C grid is empty: give at least one C > 0", ErrInvalid)
	}
	if n := len(cfg.C) * len(cfg.ClassWeights); n > MaxPoints {
		return fmt.Errorf("%w: the grid has %d points (C values × class-weight candidates), at most %d are allowed", ErrInvalid, n, MaxPoints)
	}
	for _, c := range cfg.C {
		if !(c > 0) || math.IsInf(c, 0) {
			return fmt.Errorf("%w: every C must be a finite number > 0, got %v", ErrInvalid, c)
		}
	}
	if cfg.Folds < 2 {
		return fmt.Errorf("%w: folds must be at least 2, got %d", ErrInvalid, cfg.Folds)
	}
	if _, err := ParseScoring(string(cfg.Scoring)); err != nil {
		return err
	}
	return nil
}

// Run cross-validates every grid point on the rows of d (d.Index, or
// every row) and picks the best. It stops at the first error, or when ctx
// is done (then it returns ctx's error).
func Run(ctx context.Context, d logreg.Data, cfg Config) (*Outcome, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	for _, w := range cfg.ClassWeights {
		if err := w.validate(d.Classes); err != nil {
			return nil, err
		}
	}
	rows := d.Index
	if rows == nil {
		rows = make([]int, d.Rows)
		for i := range rows {
			rows[i] = i
		}
	}
	if len(d.Y) < d.Rows {
		return nil, fmt.Errorf("%w: Y has %d labels, want %d", logreg.ErrInvalidData, len(d.Y), d.Rows)
	}
	y := make([]int32, len(rows))
	for i, r := range rows {
		if r < 0 || r >= d.Rows {
			return nil, fmt.Errorf("%w: index %d: row %d out of range [0, %d)", logreg.ErrInvalidData, i, r, d.Rows)
		}
		y[i] = d.Y[r]
	}
	testFold, err := StratifiedKFold(y, cfg.Folds)
	if err != nil {
		return nil, err
	}
	folds := Split(testFold, cfg.Folds)
	for _, f := range folds {
		for i, p := range f.Train {
			f.Train[i] = rows[p]
		}
		for i, p := range f.Test {
			f.Test[i] = rows[p]
		}
	}

	nw := len(cfg.ClassWeights)
	out := &Outcome{Scoring: cfg.Scoring, Folds: cfg.Folds, Results: make([]Result, len(cfg.C)*nw), BestIndex: -1}
	for i := range out.Results {
		out.Results[i] = Result{
			C:           cfg.C[i/nw],
			ClassWeight: cfg.ClassWeights[i%nw],
			FoldScores:  make([]float64, cfg.Folds),
			Iterations:  make([]int, cfg.Folds),
		}
	}
	t := &tracker{out: out, left: make([]int, len(out.Results)), seconds: make([]float64, len(out.Results)), total: len(out.Results) * cfg.Folds, onProgress: cfg.OnProgress}
	for i := range t.left {
		t.left[i] = cfg.Folds
	}

	budget := cfg.Workers
	if budget <= 0 {
		budget = runtime.GOMAXPROCS(0)
	}
	parallel := min(budget, cfg.Folds)
	cfg.Fit.Workers = max(1, budget/parallel)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for f := range folds {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			if err := runFold(ctx, d, cfg, f, folds[f], t); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	for i := range out.Results {
		r := &out.Results[i]
		r.MeanScore, r.StdScore = meanStd(r.FoldScores)
		r.FitSeconds = t.seconds[i] / float64(cfg.Folds)
	}
	out.BestIndex = best(out.Results)
	return out, nil
}

// runFold fits every grid point on fold f's training part, along
// ascending C for each class-weight candidate, and scores it on the test
// part.
func runFold(ctx context.Context, d logreg.Data, cfg Config, f int, fold Fold, t *tracker) error {
	nw := len(cfg.ClassWeights)
	order := make([]int, len(cfg.C)) // grid C indices by ascending C
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case cfg.C[a] < cfg.C[b]:
			return -1
		case cfg.C[a] > cfg.C[b]:
			return 1
		}
		return 0
	})
	view := d
	view.Index = fold.Train
	for w, cw := range cfg.ClassWeights {
		view.Weight = cw.rowWeights(d.Y, d.Classes, fold.Train, d.Weight)
		var prev *logreg.Model
		for _, ci := range order {
			opts := cfg.Fit
			opts.C = cfg.C[ci]
			opts.OnProgress = nil
			if !cfg.ColdStart {
				opts.Start = prev
			}
			start := time.Now()
			m, info, err := logreg.Fit(ctx, view, opts)
			if err != nil {
				return fmt.Errorf("fold %d, C=%v, class weight %s: %w", f, opts.C, cw, err)
			}
			seconds := time.Since(start).Seconds()
			s, err := score(cfg.Scoring, m, d, fold.Test)
			if err != nil {
				return fmt.Errorf("fold %d, C=%v: score: %w", f, opts.C, err)
			}
			t.done(ci*nw+w, f, s, info.Iterations, seconds)
			prev = m
		}
	}
	return nil
}

// tracker collects fold results and reports progress.
type tracker struct {
	mu         sync.Mutex
	out        *Outcome
	left       []int // folds still to score, per grid point
	seconds    []float64
	fits       int
	total      int
	onProgress func(Progress)
}

func (t *tracker) done(point, fold int, s float64, iterations int, seconds float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := &t.out.Results[point]
	r.FoldScores[fold] = s
	r.Iterations[fold] = iterations
	t.seconds[point] += seconds
	t.left[point]--
	t.fits++
	if t.left[point] == 0 {
		r.MeanScore, r.StdScore = meanStd(r.FoldScores)
	}
	if t.onProgress == nil {
		return
	}
	p := Progress{Done: t.fits, Total: t.total, BestIndex: -1}
	complete := make([]Result, 0, len(t.out.Results))
	index := make([]int, 0, len(t.out.Results))
	for i, left := range t.left {
		if left == 0 {
			complete = append(complete, t.out.Results[i])
			index = append(index, i)
		}
	}
	if len(complete) > 0 {
		b := best(complete)
		p.BestIndex, p.BestScore = index[b], complete[b].MeanScore
	}
	t.onProgress(p)
}

// best is the index of the highest mean score; ties go to the smaller C,
// then to the earlier class-weight candidate.
func best(rs []Result) int {
	b := 0
	for i, r := range rs[1:] {
		i++
		if r.MeanScore > rs[b].MeanScore || (r.MeanScore == rs[b].MeanScore && r.C < rs[b].C) {
			b = i
		}
	}
	return b
}

// meanStd is numpy's mean and population standard deviation.
func meanStd(v []float64) (mean, std float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(v)))
}
