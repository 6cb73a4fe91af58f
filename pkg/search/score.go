package search

import (
	"fmt"
	"math"

	"github.com/modelferry/modelferry/pkg/logreg"
)

// Scoring is how a fold's test part is scored: higher is better, as
// scikit-learn's scorers.
type Scoring string

// The scorings, by scikit-learn's names.
const (
	NegLogLoss Scoring = "neg_log_loss"
	Accuracy   Scoring = "accuracy"
	F1Macro    Scoring = "f1_macro"
)

// Scorings lists the accepted scorings, the default first.
var Scorings = []Scoring{NegLogLoss, Accuracy, F1Macro}

// ParseScoring accepts a scoring's name; "" is the default, neg_log_loss.
func ParseScoring(s string) (Scoring, error) {
	if s == "" {
		return NegLogLoss, nil
	}
	for _, v := range Scorings {
		if string(v) == s {
			return v, nil
		}
	}
	return "", fmt.Errorf("%w: unknown scoring %q: use neg_log_loss, accuracy or f1_macro", ErrInvalid, s)
}

// score evaluates m on the rows test of d, unweighted as scikit-learn's
// scorers are inside a search.
func score(s Scoring, m *logreg.Model, d logreg.Data, test []int) (float64, error) {
	c, err := m.Compile()
	if err != nil {
		return 0, fmt.Errorf("compile: %w", err)
	}
	k, f, nc := d.Classes, d.Features, len(d.Levels)
	p := make([]float64, k)
	loss, correct := 0.0, 0
	// confusion counts for f1: true positives, predicted, actual per class.
	tp := make([]int, k)
	pred := make([]int, k)
	actual := make([]int, k)
	for _, r := range test {
		x := d.X[r*f : r*f+f]
		var best int
		if nc > 0 {
			best = c.PredictProbaCodes(x, d.Codes[r*nc:r*nc+nc], p)
		} else {
			best = c.PredictProba(x, p)
		}
		y := int(d.Y[r])
		if best == y {
			correct++
			tp[y]++
		}
		pred[best]++
		actual[y]++
		if s == NegLogLoss {
			loss += logLoss(p, y)
		}
	}
	n := float64(len(test))
	switch s {
	case Accuracy:
		return float64(correct) / n, nil
	case F1Macro:
		// The mean F1 over the labels in the true or predicted classes,
		// as sklearn.metrics.f1_score(average="macro").
		sum, labels := 0.0, 0
		for c := range k {
			if pred[c] == 0 && actual[c] == 0 {
				continue
			}
			labels++
			sum += 2 * float64(tp[c]) / float64(pred[c]+actual[c])
		}
		return sum / float64(labels), nil
	}
	return -loss / n, nil
}

// logLoss is -log p[y] after sklearn.metrics.log_loss's clipping of every
// probability to [eps, 1-eps] and renormalizing.
func logLoss(p []float64, y int) float64 {
	const eps = 2.220446049250313e-16
	sum := 0.0
	for _, v := range p {
		sum += min(max(v, eps), 1-eps)
	}
	return -math.Log(min(max(p[y], eps), 1-eps) / sum)
}
