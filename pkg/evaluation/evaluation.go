// Package evaluation scores a classifier on labelled rows the way
// scikit-learn's metrics do: accuracy, log loss, macro F1, per-class
// precision, recall and F1, and the confusion matrix.
package evaluation

import (
	"fmt"
	"math"
)

// Classifier is what is scored: logreg.Compiled satisfies it.
type Classifier interface {
	Classes() int
	Features() int
	// PredictProba fills out with class probabilities for x and returns
	// the predicted class.
	PredictProba(x, out []float64) int
}

// ClassReport holds one class's scores.
type ClassReport struct {
	Class     string  `json:"class"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"`
}

// Report is the result of Evaluate.
type Report struct {
	Rows     int           `json:"rows"`
	Accuracy float64       `json:"accuracy"`
	LogLoss  float64       `json:"log_loss"`
	MacroF1  float64       `json:"macro_f1"`
	PerClass []ClassReport `json:"per_class"`
	// ConfusionMatrix[i][j] counts rows of true class i predicted as j.
	ConfusionMatrix [][]int `json:"confusion_matrix"`
}

// logLossEps clips probabilities as scikit-learn 1.2's log_loss does.
const logLossEps = 1e-15

// Evaluate scores c on rows × Features() values of x (row-major) with true
// classes y. Precision and F1 of a class never predicted are 0, as
// scikit-learn reports them (zero_division).
func Evaluate(c Classifier, x []float64, y []int32, classNames []string) (Report, error) {
	k, f := c.Classes(), c.Features()
	if len(classNames) != k {
		return Report{}, fmt.Errorf("%d class names for %d classes", len(classNames), k)
	}
	if len(y) == 0 {
		return Report{}, fmt.Errorf("no rows to evaluate")
	}
	if len(x) != len(y)*f {
		return Report{}, fmt.Errorf("%d values for %d rows of %d features", len(x), len(y), f)
	}
	r := Report{Rows: len(y), ConfusionMatrix: make([][]int, k)}
	for i := range r.ConfusionMatrix {
		r.ConfusionMatrix[i] = make([]int, k)
	}
	p := make([]float64, k)
	correct := 0
	loss := 0.0
	for i, label := range y {
		yi := int(label)
		if yi < 0 || yi >= k {
			return Report{}, fmt.Errorf("row %d: class %d out of range", i, yi)
		}
		pred := c.PredictProba(x[i*f:i*f+f], p)
		r.ConfusionMatrix[yi][pred]++
		if pred == yi {
			correct++
		}
		// scikit-learn clips, then renormalises each row.
		sum := 0.0
		for _, v := range p {
			sum += min(max(v, logLossEps), 1-logLossEps)
		}
		loss -= math.Log(min(max(p[yi], logLossEps), 1-logLossEps) / sum)
	}
	n := float64(len(y))
	r.Accuracy = float64(correct) / n
	r.LogLoss = loss / n
	for j := 0; j < k; j++ {
		tp, predicted, actual := r.ConfusionMatrix[j][j], 0, 0
		for i := 0; i < k; i++ {
			predicted += r.ConfusionMatrix[i][j]
			actual += r.ConfusionMatrix[j][i]
		}
		cr := ClassReport{Class: classNames[j], Support: actual}
		if predicted > 0 {
			cr.Precision = float64(tp) / float64(predicted)
		}
		if actual > 0 {
			cr.Recall = float64(tp) / float64(actual)
		}
		if cr.Precision+cr.Recall > 0 {
			cr.F1 = 2 * cr.Precision * cr.Recall / (cr.Precision + cr.Recall)
		}
		r.MacroF1 += cr.F1 / float64(k)
		r.PerClass = append(r.PerClass, cr)
	}
	return r, nil
}
