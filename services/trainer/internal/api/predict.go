package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/artifact"
	"github.com/modelferry/modelferry/pkg/dataset"
	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/pkg/logreg"
	"github.com/modelferry/modelferry/pkg/tabular"
)

// Limits of POST /models/{m}/versions/{v}/predict: the predictor's
// defaults (PREDICTOR_MAX_BODY_BYTES, PREDICTOR_MAX_BATCH).
const (
	maxPredictBody  = 8 << 20
	maxPredictBatch = 10_000
	// compiledKept bounds the compiled versions kept for predictions.
	compiledKept = 16
)

// compiledModel is a version ready to predict with.
type compiledModel struct {
	name, version string
	features      []string
	classes       []string
	index         map[string]int
	compiled      *logreg.Compiled
	// enc is the column transform of a model trained on a table as it
	// came: rows are then packed (dense features, then codes; see
	// logreg.Packed) and width is their length. nil for the others.
	enc   *tabular.Encoder
	width int
}

// compiledCache keeps recently used versions compiled: versions never
// change, so an entry never goes stale.
type compiledCache struct {
	mu sync.Mutex
	m  map[string]*compiledModel
}

func (cc *compiledCache) get(key string) *compiledModel {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.m[key]
}

func (cc *compiledCache) put(key string, m *compiledModel) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.m == nil {
		cc.m = map[string]*compiledModel{}
	}
	if len(cc.m) >= compiledKept {
		for k := range cc.m { // any one: they are equally cheap to rebuild
			delete(cc.m, k)
			break
		}
	}
	cc.m[key] = m
}

// predict answers as the predictor's POST /predict does, from any
// published version: the trainer's try-it before a promotion. It reads the
// body with encoding/json: correctness over the predictor's speed.
func (a *API) predict(c *gin.Context) {
	model := modelOf(c)
	version, err := a.versionParam(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	if ct := c.GetHeader("Content-Type"); !isJSON(ct) {
		a.fail(c, httpserver.Errorf(http.StatusUnsupportedMediaType, httpserver.CodeUnsupportedMediaType,
			"content type %q is not supported: send Content-Type: application/json", ct))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxPredictBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		a.fail(c, httpserver.Errorf(http.StatusRequestEntityTooLarge, httpserver.CodeTooLarge, "body is larger than %d bytes", maxPredictBody))
		return
	}
	if err != nil {
		a.fail(c, badRequest("reading the body failed"))
		return
	}
	m, err := a.compiled(c, model, version)
	if err != nil {
		a.fail(c, storeError(err, "version "+version+" of model "+model))
		return
	}
	req, err := m.decode(body)
	if err != nil {
		a.fail(c, err)
		return
	}
	ref := modelRef{Name: m.name, Version: m.version}
	preds := make([]prediction, req.rows)
	for i := range preds {
		preds[i], err = m.predictRow(req.x[i*m.width : (i+1)*m.width])
		if err != nil {
			if req.batch {
				err = fmt.Errorf("instances[%d]: %w", i, err)
			}
			a.fail(c, badRequest("%v", err))
			return
		}
	}
	if !req.batch {
		c.JSON(http.StatusOK, singlePrediction{prediction: preds[0], Model: ref})
		return
	}
	c.JSON(http.StatusOK, batchPrediction{Predictions: preds, Model: ref})
}

func isJSON(ct string) bool {
	if ct == "" {
		return true // read as JSON, as curl -d sends no type
	}
	mt, _, _ := strings.Cut(ct, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/json")
}

func (a *API) compiled(c *gin.Context, model, version string) (*compiledModel, error) {
	key := model + "/" + version
	if m := a.models.get(key); m != nil {
		return m, nil
	}
	pb, _, err := a.cfg.Artifacts.ReadModel(c, model, version)
	if err != nil {
		return nil, err
	}
	compiled, err := artifact.Compile(pb)
	if err != nil {
		return nil, err
	}
	m := &compiledModel{name: pb.Name, version: pb.Version, features: pb.FeatureNames, classes: pb.ClassNames,
		index: make(map[string]int, len(pb.FeatureNames)), compiled: compiled, width: len(pb.FeatureNames)}
	if t := artifact.Transform(pb); t != nil {
		if m.enc, err = t.Encoder(); err != nil {
			return nil, err
		}
		m.width = m.enc.Dense() + m.enc.Codes()
	}
	for i, f := range pb.FeatureNames {
		m.index[f] = i
	}
	a.models.put(key, m)
	return m, nil
}

type modelRef struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// prediction is one row's answer; probabilities keep the class order.
type prediction struct {
	Label         string        `json:"label"`
	ClassID       int           `json:"class_id"`
	Probabilities probabilities `json:"probabilities"`
}

type singlePrediction struct {
	prediction
	Model modelRef `json:"model"`
}

type batchPrediction struct {
	Predictions []prediction `json:"predictions"`
	Model       modelRef     `json:"model"`
}

// probabilities is {class: p} in the model's class order.
type probabilities struct {
	classes []string
	p       []float64
}

func (p probabilities) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for k, c := range p.classes {
		if k > 0 {
			b = append(b, ',')
		}
		name, err := json.Marshal(c)
		if err != nil {
			return nil, err
		}
		b = append(b, name...)
		b = append(b, ':')
		b = strconv.AppendFloat(b, p.p[k], 'g', -1, 64)
	}
	return append(b, '}'), nil
}

func (m *compiledModel) predictRow(x []float64) (prediction, error) {
	p := make([]float64, len(m.classes))
	var k int
	if m.enc != nil {
		k = logreg.Packed{Compiled: m.compiled}.PredictProba(x, p)
	} else {
		k = m.compiled.PredictProba(x, p)
	}
	if math.IsNaN(p[k]) {
		return prediction{}, errors.New("values too large for the model: the class scores overflow float64")
	}
	return prediction{Label: m.classes[k], ClassID: k, Probabilities: probabilities{m.classes, p}}, nil
}

// predictRequest is a decoded body: rows × features values, row-major.
type predictRequest struct {
	batch bool
	rows  int
	x     []float64
}

// decode reads one object of named features, or {"instances": [...]} of
// such objects or of arrays in feature order, with the predictor's
// messages.
func (m *compiledModel) decode(body []byte) (predictRequest, error) {
	var top map[string]json.RawMessage
	if len(bytes.TrimSpace(body)) == 0 {
		return predictRequest{}, badRequest(`empty body: send a JSON object of named features, or {"instances": [...]}`)
	}
	if err := json.Unmarshal(body, &top); err != nil {
		return predictRequest{}, jsonProblem(body, err)
	}
	// A batch is an object whose first key is "instances", as for the
	// predictor.
	var first any
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err == nil && dec.More() {
		first, _ = dec.Token()
	}
	inst := top["instances"]
	if first != "instances" {
		row, err := m.objectRow(body)
		if err != nil {
			return predictRequest{}, badRequest("%v", err)
		}
		return predictRequest{rows: 1, x: row}, nil
	}
	for k := range top {
		if k != "instances" {
			return predictRequest{}, badRequest(`%s: unknown field; a batch body has only "instances"`, httpserver.Clip(k))
		}
	}
	var items []json.RawMessage
	if err := json.Unmarshal(inst, &items); err != nil || items == nil {
		return predictRequest{}, badRequest("instances: expected an array, got %s", kindOf(inst))
	}
	if len(items) == 0 {
		return predictRequest{}, badRequest("instances: empty: send at least one row")
	}
	if len(items) > maxPredictBatch {
		return predictRequest{}, httpserver.Errorf(http.StatusRequestEntityTooLarge, httpserver.CodeTooLarge,
			"instances: more than %d rows; split the batch", maxPredictBatch)
	}
	x := make([]float64, 0, len(items)*m.width)
	for i, item := range items {
		var row []float64
		var err error
		switch kindOf(item) {
		case "an object":
			row, err = m.objectRow(item)
			if err != nil {
				return predictRequest{}, badRequest("instances[%d].%v", i, err)
			}
		case "an array":
			row, err = m.arrayRow(item)
			if err != nil {
				return predictRequest{}, badRequest("instances[%d]%v", i, err)
			}
		default:
			return predictRequest{}, badRequest("instances[%d]: expected an object of named features or an array of values, got %s", i, kindOf(item))
		}
		x = append(x, row...)
	}
	return predictRequest{batch: true, rows: len(items), x: x}, nil
}

// objectRow reads {"feature": number, ...}; errors start with the field.
func (m *compiledModel) objectRow(raw json.RawMessage) ([]float64, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // '{', checked by the caller
		return nil, err
	}
	row := make([]float64, m.width)
	seen := make([]bool, len(m.features))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		i, ok := m.index[key]
		if !ok {
			return nil, fmt.Errorf("%s: unknown feature; the model expects %s", httpserver.Clip(key), strings.Join(m.features, ", "))
		}
		if seen[i] {
			return nil, fmt.Errorf("%s: given more than once", httpserver.Clip(key))
		}
		if err := m.value(row, i, v); err != nil {
			return nil, fmt.Errorf("%s: %w", httpserver.Clip(key), err)
		}
		seen[i] = true
	}
	for i, ok := range seen {
		switch {
		case ok:
		case m.enc != nil: // an absent key is a missing value
			if err := m.value(row, i, json.RawMessage("null")); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("%s: missing", m.features[i])
		}
	}
	return row, nil
}

// arrayRow reads [number, ...] in feature order; errors start with the
// index ("[2]: ...") or with ": " when about the whole row.
func (m *compiledModel) arrayRow(raw json.RawMessage) ([]float64, error) {
	var vals []json.RawMessage
	if err := json.Unmarshal(raw, &vals); err != nil {
		return nil, err
	}
	if len(vals) != len(m.features) {
		return nil, fmt.Errorf(": expected %d values (%s), got %d", len(m.features), strings.Join(m.features, ", "), len(vals))
	}
	row := make([]float64, m.width)
	for i, v := range vals {
		if err := m.value(row, i, v); err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
	}
	return row, nil
}

// value sets input i of a row from a JSON value: a number for a model of
// numeric features; for a table's model a number, a string, a boolean or
// null (missing), through its transform.
func (m *compiledModel) value(row []float64, i int, v json.RawMessage) error {
	if m.enc == nil {
		var err error
		row[i], err = number(v)
		return err
	}
	dense := m.enc.Dense()
	codes := make([]int32, m.enc.Codes())
	for j := range codes {
		codes[j] = int32(row[dense+j])
	}
	var err error
	switch kindOf(v) {
	case "null":
		m.enc.Missing(i, row[:dense], codes)
	case "a boolean":
		m.enc.Bool(i, bytes.HasPrefix(bytes.TrimSpace(v), []byte("true")), row[:dense], codes)
	case "a string":
		var s string
		if err = json.Unmarshal(v, &s); err == nil {
			err = m.enc.Text(i, s, row[:dense], codes)
		}
	default:
		var f float64
		if f, err = number(v); err == nil {
			err = m.enc.Number(i, f, row[:dense], codes)
		}
	}
	if err != nil {
		var pe *dataset.ParseError
		if errors.As(err, &pe) { // the caller names the field
			return errors.New(strings.TrimPrefix(pe.Msg, "column "+m.features[i]+": "))
		}
		return err
	}
	for j, c := range codes {
		row[dense+j] = float64(c)
	}
	return nil
}

func number(v json.RawMessage) (float64, error) {
	if kind := kindOf(v); kind != "a number" {
		return 0, fmt.Errorf("expected a number, got %s", kind)
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil {
		return 0, fmt.Errorf("%s is out of range for float64", httpserver.Clip(string(v)))
	}
	return f, nil
}

// kindOf names the JSON value v starts with, as the predictor does.
func kindOf(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "the end of the body"
	}
	switch c := v[0]; {
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '-' || (c >= '0' && c <= '9'):
		return "a number"
	}
	return "invalid JSON"
}

// jsonProblem explains a body that is not one JSON object.
func jsonProblem(body []byte, err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return badRequest("malformed JSON at byte %d: %v", se.Offset, se)
	case kindOf(body) != "an object":
		return badRequest("body must be a JSON object, got %s", kindOf(body))
	}
	return badRequest("malformed JSON: %v", err)
}
