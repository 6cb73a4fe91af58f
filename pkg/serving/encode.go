package serving

import "strconv"

// appendPrediction appends {"label", "class_id", "probabilities"} for one
// row, without the closing brace, so callers can add fields.
func (m *Model) appendPrediction(b []byte, class int, p []float64) []byte {
	b = append(b, `{"label":`...)
	b = append(b, m.classJSON[class]...)
	b = append(b, `,"class_id":`...)
	b = strconv.AppendInt(b, int64(class), 10)
	b = append(b, `,"probabilities":{`...)
	for k, v := range p {
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, m.classJSON[k]...)
		b = append(b, ':')
		b = strconv.AppendFloat(b, v, 'g', -1, 64)
	}
	return append(b, '}')
}

// AppendSingle appends the answer to a single-object request:
// {"label", "class_id", "probabilities": {class: p}, "model": {"name", "version"}}.
func (m *Model) AppendSingle(b []byte, class int, p []float64) []byte {
	b = m.appendPrediction(b, class, p)
	b = append(b, `,"model":`...)
	b = append(b, m.modelJSON...)
	return append(b, '}')
}

// AppendBatch predicts every row of x and appends
// {"predictions": [...], "model": {...}}. p is scratch of NumClasses.
func (m *Model) AppendBatch(b []byte, x []float64, rows int, p []float64) ([]byte, error) {
	b, err := m.appendPredictions(b, x, rows, p)
	if err != nil {
		return b, err
	}
	b = append(b, `,"model":`...)
	b = append(b, m.modelJSON...)
	return append(b, '}'), nil
}

// AppendPredictions is AppendBatch without the model: KServe V1's
// {"predictions": [...]}.
func (m *Model) AppendPredictions(b []byte, x []float64, rows int, p []float64) ([]byte, error) {
	b, err := m.appendPredictions(b, x, rows, p)
	return append(b, '}'), err
}

// appendPredictions appends {"predictions":[...] without the closing
// brace.
func (m *Model) appendPredictions(b []byte, x []float64, rows int, p []float64) ([]byte, error) {
	f := m.width
	b = append(b, `{"predictions":[`...)
	for i := 0; i < rows; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		k, err := m.Predict(x[i*f:i*f+f], p)
		if err != nil {
			return b, prefixField(err, "instances["+strconv.Itoa(i)+"]")
		}
		b = m.appendPrediction(b, k, p)
		b = append(b, '}')
	}
	return append(b, ']'), nil
}
