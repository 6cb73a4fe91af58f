package serving

import "strconv"

// Answers are the predictions of rows: row i's class is Classes[i], its
// probabilities P[i*K:(i+1)*K]. Reused across requests, they grow as
// needed.
type Answers struct {
	Classes []int
	P       []float64
}

// PredictRows predicts rows of x into a. It allocates only to grow a.
func (m *Model) PredictRows(x []float64, rows int, a *Answers) error {
	f, k := m.NumFeatures(), m.NumClasses()
	if cap(a.P) < rows*k {
		a.P = make([]float64, rows*k)
	}
	if cap(a.Classes) < rows {
		a.Classes = make([]int, rows)
	}
	a.P, a.Classes = a.P[:rows*k], a.Classes[:rows]
	for i := range rows {
		c, err := m.Predict(x[i*f:(i+1)*f], a.P[i*k:(i+1)*k])
		if err != nil {
			return prefixField(err, "row "+strconv.Itoa(i))
		}
		a.Classes[i] = c
	}
	return nil
}

// AppendInfer appends the Open Inference Protocol answer to the rows of a:
// the outputs asked for (all when none is), label (BYTES [N]), class_id
// (INT64 [N]) and probabilities (FP64 [N, K]). id is the request's id as
// JSON, or nil.
func (m *Model) AppendInfer(b, id []byte, outputs []Output, a *Answers) []byte {
	rows, classes, p := len(a.Classes), a.Classes, a.P
	b = append(b, `{"model_name":`...)
	b = append(b, m.nameJSON...)
	b = append(b, `,"model_version":`...)
	b = append(b, m.versionJSON...)
	if id != nil {
		b = append(b, `,"id":`...)
		b = append(b, id...)
	}
	b = append(b, `,"outputs":[`...)
	if len(outputs) == 0 {
		outputs = allOutputs[:]
	}
	for i, o := range outputs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":"`...)
		b = append(b, outputNames[o]...)
		b = append(b, `","datatype":"`...)
		b = append(b, outputDatatypes[o]...)
		b = append(b, `","shape":[`...)
		b = strconv.AppendInt(b, int64(rows), 10)
		if o == OutputProbabilities {
			b = append(b, ',')
			b = strconv.AppendInt(b, int64(m.NumClasses()), 10)
		}
		b = append(b, `],"data":[`...)
		switch o {
		case OutputLabel:
			for r, c := range classes[:rows] {
				if r > 0 {
					b = append(b, ',')
				}
				b = append(b, m.classJSON[c]...)
			}
		case OutputClassID:
			for r, c := range classes[:rows] {
				if r > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendInt(b, int64(c), 10)
			}
		case OutputProbabilities:
			for r, v := range p[:rows*m.NumClasses()] {
				if r > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendFloat(b, v, 'g', -1, 64)
			}
		}
		b = append(b, "]}"...)
	}
	return append(b, "]}"...)
}

var (
	allOutputs      = [numOutputs]Output{OutputLabel, OutputClassID, OutputProbabilities}
	outputDatatypes = [numOutputs]string{"BYTES", "INT64", "FP64"}
)
