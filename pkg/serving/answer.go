package serving

// Form is which API a /predict-shaped body came to.
type Form int

const (
	// PredictForm is POST /predict: one object of named features answers
	// one prediction with the model, a batch its predictions with the
	// model.
	PredictForm Form = iota
	// KServeV1Form is KServe V1's POST /v1/models/{name}:predict: a batch
	// only, answered with its predictions alone.
	KServeV1Form
)

// Answer decodes a /predict-shaped body (DecodePredict, at most maxRows
// rows) and appends its answer to out; p is scratch of NumClasses. An
// error is an *InputError and nothing is to be written. The predictor's
// /predict and KServe V1 and the trainer's try-it all answer with it, so
// they answer the same bytes.
func (m *Model) Answer(out, body []byte, form Form, maxRows int, sc *Scratch, p []float64) ([]byte, Request, error) {
	req, err := m.DecodePredict(body, maxRows, sc)
	if err != nil {
		return out, req, err
	}
	switch {
	case form == KServeV1Form && !req.Batch:
		return out, req, &InputError{Msg: `send {"instances": [...]}: rows as objects of named features or arrays in feature order`}
	case form == KServeV1Form:
		out, err = m.AppendPredictions(out, req.X, req.Rows, p)
	case req.Batch:
		out, err = m.AppendBatch(out, req.X, req.Rows, p)
	default:
		var k int
		if k, err = m.Predict(req.X, p); err == nil {
			out = m.AppendSingle(out, k, p)
		}
	}
	return out, req, err
}
