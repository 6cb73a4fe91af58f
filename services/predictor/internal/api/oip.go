package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/services/predictor/internal/serving"
)

// Open Inference Protocol v2 (REST). Errors use the protocol's own shape,
// {"error": "message"}.

func oipError(c *gin.Context, status int, format string, args ...any) {
	c.AbortWithStatusJSON(status, gin.H{"error": fmt.Sprintf(format, args...)})
}

func (a *API) oipServer(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"name": "modelferry-predictor", "version": "v2", "extensions": []string{}})
}

func (a *API) oipLive(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"live": true}) }

func (a *API) oipReady(c *gin.Context) {
	ready := a.cfg.Models.Current() != nil && (a.cfg.Ready == nil || a.cfg.Ready())
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	c.JSON(status, gin.H{"ready": ready})
}

// oipModel resolves the {name} and optional {version} path parameters to
// the served model, answering 404 or 503 itself when it cannot.
func (a *API) oipModel(c *gin.Context) *serving.Model {
	name := c.Param("name")
	if name != a.cfg.Model {
		oipError(c, http.StatusNotFound, "model %q not found: this predictor serves %q", name, a.cfg.Model)
		return nil
	}
	m := a.cfg.Models.Current()
	if m == nil {
		oipError(c, http.StatusServiceUnavailable, "model %q is not loaded yet", name)
		return nil
	}
	if v := c.Param("version"); v != "" && v != m.Version {
		oipError(c, http.StatusNotFound, "version %q of model %q is not served: the loaded version is %q", v, name, m.Version)
		return nil
	}
	return m
}

type tensorMetadata struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

func (a *API) oipMetadata(c *gin.Context) {
	m := a.oipModel(c)
	if m == nil {
		return
	}
	f, k := int64(m.NumFeatures()), int64(m.NumClasses())
	c.JSON(http.StatusOK, gin.H{
		"name":     m.Name,
		"versions": []string{m.Version},
		"platform": "modelferry-logistic-regression",
		"inputs":   []tensorMetadata{{Name: "input", Datatype: "FP64", Shape: []int64{-1, f}}},
		"outputs": []tensorMetadata{
			{Name: "label", Datatype: "BYTES", Shape: []int64{-1}},
			{Name: "class_id", Datatype: "INT64", Shape: []int64{-1}},
			{Name: "probabilities", Datatype: "FP64", Shape: []int64{-1, k}},
		},
		"parameters": gin.H{"feature_names": m.Features, "class_names": m.Classes},
	})
}

func (a *API) oipModelReady(c *gin.Context) {
	m := a.oipModel(c)
	if m == nil {
		return
	}
	c.JSON(http.StatusOK, gin.H{"name": m.Name, "ready": true})
}

type inferInput struct {
	Name       string          `json:"name"`
	Shape      []int64         `json:"shape"`
	Datatype   string          `json:"datatype"`
	Parameters map[string]any  `json:"parameters,omitempty"`
	Data       json.RawMessage `json:"data"`
}

type inferRequest struct {
	ID         string         `json:"id,omitempty"`
	Parameters map[string]any `json:"parameters,omitempty"`
	Inputs     []inferInput   `json:"inputs"`
	Outputs    []struct {
		Name       string         `json:"name"`
		Parameters map[string]any `json:"parameters,omitempty"`
	} `json:"outputs,omitempty"`
}

type inferOutput struct {
	Name     string  `json:"name"`
	Shape    []int64 `json:"shape"`
	Datatype string  `json:"datatype"`
	Data     any     `json:"data"`
}

type inferResponse struct {
	ModelName    string        `json:"model_name"`
	ModelVersion string        `json:"model_version"`
	ID           string        `json:"id,omitempty"`
	Outputs      []inferOutput `json:"outputs"`
}

var outputNames = []string{"label", "class_id", "probabilities"}

func (a *API) oipInfer(c *gin.Context) {
	m := a.oipModel(c)
	if m == nil {
		return
	}
	if ct := c.Request.Header.Get("Content-Type"); !jsonContentType(ct) {
		oipError(c, http.StatusUnsupportedMediaType, "content type %q is not supported: send Content-Type: application/json", ct)
		return
	}
	body, err := a.readBody(c.Request, nil)
	if err != nil {
		var he *httpserver.Error
		if errors.As(err, &he) {
			oipError(c, he.Status, "%s", he.Message)
			return
		}
		oipError(c, http.StatusBadRequest, "reading the body failed")
		return
	}
	var req inferRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		je := httpserver.JSONError(err, "")
		oipError(c, je.Status, "malformed inference request: %s", je.Message)
		return
	}
	x, rows, err := a.tensor(m, req.Inputs)
	if err != nil {
		var ie *serving.InputError
		if errors.As(err, &ie) && ie.TooLarge {
			oipError(c, http.StatusRequestEntityTooLarge, "%v", err)
			return
		}
		oipError(c, http.StatusBadRequest, "%v", err)
		return
	}
	want := outputNames
	if len(req.Outputs) > 0 {
		want = nil
		for _, o := range req.Outputs {
			if !slices.Contains(outputNames, o.Name) {
				oipError(c, http.StatusBadRequest, "unknown output %q: this model has %s", o.Name, strings.Join(outputNames, ", "))
				return
			}
			want = append(want, o.Name)
		}
	}
	f, k := m.NumFeatures(), m.NumClasses()
	labels := make([]string, rows)
	ids := make([]int64, rows)
	probs := make([]float64, rows*k)
	for i := 0; i < rows; i++ {
		cls, err := m.Predict(x[i*f:i*f+f], probs[i*k:i*k+k])
		if err != nil {
			oipError(c, http.StatusBadRequest, "row %d: %v", i, err)
			return
		}
		labels[i], ids[i] = m.Classes[cls], int64(cls)
	}
	resp := inferResponse{ModelName: m.Name, ModelVersion: m.Version, ID: req.ID}
	for _, name := range want {
		switch name {
		case "label":
			resp.Outputs = append(resp.Outputs, inferOutput{Name: name, Shape: []int64{int64(rows)}, Datatype: "BYTES", Data: labels})
		case "class_id":
			resp.Outputs = append(resp.Outputs, inferOutput{Name: name, Shape: []int64{int64(rows)}, Datatype: "INT64", Data: ids})
		case "probabilities":
			resp.Outputs = append(resp.Outputs, inferOutput{Name: name, Shape: []int64{int64(rows), int64(k)}, Datatype: "FP64", Data: probs})
		}
	}
	c.JSON(http.StatusOK, resp)
}

// tensor turns the request's inputs into rows × features values: either
// one input of shape [N, F] in feature order, or one input per feature,
// named after it, of shape [N] or [N, 1].
func (a *API) tensor(m *serving.Model, inputs []inferInput) ([]float64, int, error) {
	f := m.NumFeatures()
	if len(inputs) == 0 {
		return nil, 0, errors.New("inputs: empty; send one input of shape [N, " + fmt.Sprint(f) + "]")
	}
	if len(inputs) == 1 && !slices.Contains(m.Features, inputs[0].Name) {
		in := inputs[0]
		if len(in.Shape) != 2 || in.Shape[1] != int64(f) || in.Shape[0] < 1 {
			return nil, 0, fmt.Errorf("input %q: shape %v does not match [N, %d] (features %s)", in.Name, in.Shape, f, strings.Join(m.Features, ", "))
		}
		if err := a.checkRows(in.Shape[0]); err != nil {
			return nil, 0, err
		}
		vals, err := tensorData(in, int(in.Shape[0])*f)
		return vals, int(in.Shape[0]), err
	}
	rows := int64(-1)
	x := []float64(nil)
	seen := make([]bool, f)
	for _, in := range inputs {
		j := slices.Index(m.Features, in.Name)
		if j < 0 {
			return nil, 0, fmt.Errorf("input %q: unknown feature; the model expects %s", in.Name, strings.Join(m.Features, ", "))
		}
		if seen[j] {
			return nil, 0, fmt.Errorf("input %q: given more than once", in.Name)
		}
		seen[j] = true
		if len(in.Shape) == 0 || len(in.Shape) > 2 || len(in.Shape) == 2 && in.Shape[1] != 1 || in.Shape[0] < 1 {
			return nil, 0, fmt.Errorf("input %q: shape %v does not match [N] or [N, 1]", in.Name, in.Shape)
		}
		if rows < 0 {
			rows = in.Shape[0]
			if err := a.checkRows(rows); err != nil {
				return nil, 0, err
			}
			x = make([]float64, int(rows)*f)
		} else if in.Shape[0] != rows {
			return nil, 0, fmt.Errorf("input %q: %d rows, other inputs have %d", in.Name, in.Shape[0], rows)
		}
		col, err := tensorData(in, int(rows))
		if err != nil {
			return nil, 0, err
		}
		for i, v := range col {
			x[i*f+j] = v
		}
	}
	for j, ok := range seen {
		if !ok {
			return nil, 0, fmt.Errorf("input %q: missing", m.Features[j])
		}
	}
	return x, int(rows), nil
}

func (a *API) checkRows(n int64) error {
	if n > int64(a.cfg.MaxBatch) {
		return &serving.InputError{Msg: fmt.Sprintf("%d rows exceed the limit of %d (PREDICTOR_MAX_BATCH)", n, a.cfg.MaxBatch), TooLarge: true}
	}
	return nil
}

// tensorData decodes an input's data, flat or nested, as want numbers.
func tensorData(in inferInput, want int) ([]float64, error) {
	dt := strings.ToUpper(in.Datatype)
	if dt != "FP32" && dt != "FP64" {
		return nil, fmt.Errorf("input %q: datatype %q is not supported; use FP32 or FP64", in.Name, in.Datatype)
	}
	var raw any
	dec := json.NewDecoder(bytes.NewReader(in.Data))
	dec.UseNumber()
	if len(in.Data) == 0 || dec.Decode(&raw) != nil {
		return nil, fmt.Errorf("input %q: data must be an array of numbers", in.Name)
	}
	out := make([]float64, 0, want)
	var walk func(v any) error
	walk = func(v any) error {
		switch t := v.(type) {
		case []any:
			for _, e := range t {
				if err := walk(e); err != nil {
					return err
				}
			}
			return nil
		case json.Number:
			f, err := t.Float64()
			if err != nil || math.IsInf(f, 0) || dt == "FP32" && math.Abs(f) > math.MaxFloat32 {
				return fmt.Errorf("input %q: %s is out of range for %s", in.Name, t, dt)
			}
			if len(out) == want {
				return fmt.Errorf("input %q: more than the %d values its shape %v holds", in.Name, want, in.Shape)
			}
			out = append(out, f)
			return nil
		case nil:
			return fmt.Errorf("input %q: null in data; every value must be a number", in.Name)
		}
		return fmt.Errorf("input %q: data holds %s; every value must be a number", in.Name, jsonKind(v))
	}
	if err := walk(raw); err != nil {
		return nil, err
	}
	if len(out) != want {
		return nil, fmt.Errorf("input %q: %d values, shape %v needs %d", in.Name, len(out), in.Shape, want)
	}
	return out, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	}
	return "a non-number"
}
