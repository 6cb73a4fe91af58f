package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/artifact/artifactpb"
	"github.com/modelferry/modelferry/pkg/serving"
	"github.com/modelferry/modelferry/pkg/swaggerui"
	"github.com/modelferry/modelferry/pkg/tabular"
	"github.com/modelferry/modelferry/services/predictor/internal/oip"
)

// openapiJSON is the document without the served models; serveOpenAPI
// adds each loaded model's features and classes.
//
//go:embed openapi.json
var openapiJSON []byte

// serveOpenAPI answers the document for the models loaded now.
func (a *API) serveOpenAPI(c *gin.Context) {
	var models []*serving.Model
	for _, s := range a.cfg.Models.List() {
		if s.Model != nil {
			models = append(models, s.Model)
		}
	}
	doc, err := openAPI(models, a.cfg.Models.Default())
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Data(http.StatusOK, "application/json", doc)
}

// docsHandler serves Swagger UI for /openapi.json from assets embedded in
// the binary: /docs/ works without network access.
func docsHandler() gin.HandlerFunc {
	h := http.StripPrefix("/docs", swaggerui.Handler("modelferry predictor API", "/openapi.json"))
	return gin.WrapH(h)
}

type jsonObject = map[string]any

// openAPI is the document with, for each model, schemas of its features
// and its prediction, and examples of every kind of request built from
// typical values of its training data.
func openAPI(models []*serving.Model, def string) ([]byte, error) {
	var doc jsonObject
	if err := json.Unmarshal(openapiJSON, &doc); err != nil {
		return nil, err
	}
	at := func(keys ...string) jsonObject {
		o := doc
		for _, k := range keys {
			o = o[k].(jsonObject)
		}
		return o
	}
	schemas := at("components", "schemas")
	names := []any{}
	var features, predictions []any
	predictEx, v1Ex, inferEx := jsonObject{}, jsonObject{}, jsonObject{}
	for _, m := range models {
		names = append(names, m.Name)
		x := typical(m)
		row := jsonObject{}
		props := jsonObject{}
		for j, f := range m.Features {
			row[f] = x[j]
			props[f] = jsonObject{"type": "number"}
		}
		featureSchema := jsonObject{
			"type": "jsonObject", "description": "The features of " + m.Name + ", by name",
			"required": m.Features, "properties": props, "additionalProperties": false,
		}
		var record []any
		if tb := m.Meta.GetTabular(); tb != nil {
			record, props = recordSchema(tb)
			for j, f := range m.Features {
				row[f] = record[j]
			}
			featureSchema["properties"] = props
			featureSchema["description"] = "A raw record of " + m.Name + ": every column nullable (null or absent is missing)"
			delete(featureSchema, "required")
		}
		schemas["Features_"+m.Name] = featureSchema
		features = append(features, jsonObject{"$ref": "#/components/schemas/Features_" + m.Name})
		probs := jsonObject{}
		for _, k := range m.Classes {
			probs[k] = jsonObject{"type": "number", "minimum": 0, "maximum": 1}
		}
		schemas["Prediction_"+m.Name] = jsonObject{"type": "jsonObject", "description": "A prediction of " + m.Name, "properties": jsonObject{
			"label":         jsonObject{"type": "string", "enum": m.Classes},
			"class_id":      jsonObject{"type": "integer", "minimum": 0, "maximum": m.NumClasses() - 1},
			"probabilities": jsonObject{"type": "jsonObject", "properties": probs},
			"model":         jsonObject{"$ref": "#/components/schemas/ModelRef"},
		}}
		predictions = append(predictions, jsonObject{"$ref": "#/components/schemas/Prediction_" + m.Name})
		batch := jsonObject{"instances": []any{x, row}}
		if record != nil {
			batch = jsonObject{"instances": []any{record, row}}
		}
		predictEx[m.Name+": one row"] = jsonObject{"summary": "?model=" + m.Name, "value": row}
		predictEx[m.Name+": batch"] = jsonObject{"summary": "?model=" + m.Name, "value": batch}
		v1Ex[m.Name] = jsonObject{"summary": "/v1/models/" + m.Name + ":predict", "value": batch}
		var columns []any
		for j, f := range m.Features {
			columns = append(columns, jsonObject{"name": f, "shape": []int{1}, "datatype": "FP64", "data": []float64{x[j]}})
		}
		inferEx[m.Name+": one [1, F] tensor"] = jsonObject{"summary": "/v2/models/" + m.Name + "/infer", "value": jsonObject{
			"id": "1", "inputs": []any{jsonObject{"name": oip.InputName, "shape": []int{1, m.NumFeatures()}, "datatype": "FP64", "data": x}}}}
		inferEx[m.Name+": one input per feature"] = jsonObject{"summary": "/v2/models/" + m.Name + "/infer", "value": jsonObject{"inputs": columns}}
		if record != nil { // records go to /predict and KServe V1 only
			delete(inferEx, m.Name+": one [1, F] tensor")
			delete(inferEx, m.Name+": one input per feature")
		}
	}
	if len(models) == 0 {
		return json.Marshal(doc)
	}
	schemas["Features"] = jsonObject{"oneOf": features}
	schemas["Prediction"] = jsonObject{"oneOf": predictions}
	for _, p := range []jsonObject{at("components", "parameters", "Name"), at("components", "parameters", "ModelQuery")} {
		p["schema"] = jsonObject{"type": "string", "enum": names}
		p["example"] = names[0]
		if slices.Contains(names, any(def)) {
			p["example"] = def
		}
	}
	at("paths", "/predict", "post", "requestBody", "content", "application/json")["examples"] = predictEx
	at("paths", "/v1/models/{name}:predict", "post", "requestBody", "content", "application/json")["examples"] = v1Ex
	at("components", "requestBodies", "Infer", "content", "application/json")["examples"] = inferEx
	return json.Marshal(doc)
}

// typical is a plausible row of m: each feature's training median when
// the artifact has a baseline, else its training mean, else zeros.
func typical(m *serving.Model) []float64 {
	x := make([]float64, m.NumFeatures())
	fb := m.Meta.GetBaseline().GetFeatures()
	mean := m.Meta.GetScaler().GetMean()
	for j := range x {
		switch {
		case j < len(fb) && len(fb[j].GetEdges()) > 0:
			e := fb[j].GetEdges()
			x[j] = e[len(e)/2]
		case j < len(mean):
			x[j] = mean[j]
		}
		x[j] = round(x[j])
	}
	return x
}

// maxEnum bounds the categories a column's schema lists.
const maxEnum = 200

// recordSchema is a tabular model's typical record (each numeric
// column's imputed value, each categorical column's most frequent
// category) and the schema of its columns.
func recordSchema(tb *artifactpb.Tabular) ([]any, jsonObject) {
	var record []any
	props := jsonObject{}
	for _, c := range tb.Columns {
		if c.Type != "categorical" {
			record = append(record, round(c.Impute))
			props[c.Name] = jsonObject{"type": "number", "nullable": true}
			continue
		}
		top := ""
		best := -1.0
		for i, v := range c.Categories {
			if c.Shares[i] > best && v != tabular.MissingCategory {
				top, best = v, c.Shares[i]
			}
		}
		record = append(record, top)
		enum := slices.Clip(c.Categories[:min(len(c.Categories), maxEnum)])
		props[c.Name] = jsonObject{"type": "string", "nullable": true, "enum": enum,
			"description": fmt.Sprintf("%d categories; a category unseen in training counts for nothing", len(c.Categories)+len(c.Infrequent))}
	}
	return record, props
}

// round keeps 4 significant digits.
func round(v float64) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 4, 64), 64)
	return r
}
