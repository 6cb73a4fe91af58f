package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// ModelInfo is what a predictor serves: GET /model.
type ModelInfo struct {
	Name     string   `json:"name"`
	Version  string   `json:"version"`
	SHA256   string   `json:"sha256"`
	Features []string `json:"features"`
	Classes  []string `json:"classes"`
}

// ModelInfo reads the model a predictor serves (model "" means its
// default).
func (c *Client) ModelInfo(ctx context.Context, model string) (ModelInfo, error) {
	var m ModelInfo
	return m, c.do(ctx, http.MethodGet, "/model"+modelQuery(model), nil, &m)
}

func modelQuery(model string) string {
	if model == "" {
		return ""
	}
	return "?model=" + url.QueryEscape(model)
}

// Prediction is one row's answer.
type Prediction struct {
	Label         string             `json:"label"`
	ClassID       int                `json:"class_id"`
	Probabilities map[string]float64 `json:"probabilities"`
}

// PredictRaw posts a JSON body to /predict as it is and returns the answer
// as it is: the seed's single object, or {"instances": ...}.
func (c *Client) PredictRaw(ctx context.Context, model string, body []byte) (json.RawMessage, error) {
	resp, err := c.request(ctx, http.MethodPost, "/predict"+modelQuery(model), bytes.NewReader(body), "application/json", int64(len(body)))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("POST /predict: %w", err)
	}
	return b, nil
}

// Predict scores rows given in the model's feature order.
func (c *Client) Predict(ctx context.Context, model string, rows [][]float64) ([]Prediction, error) {
	return c.predict(ctx, model, rows, len(rows))
}

// PredictRecords scores raw records given in the model's column order:
// numbers, strings, booleans, and nil for a missing value.
func (c *Client) PredictRecords(ctx context.Context, model string, rows [][]any) ([]Prediction, error) {
	return c.predict(ctx, model, rows, len(rows))
}

func (c *Client) predict(ctx context.Context, model string, rows any, n int) ([]Prediction, error) {
	var out struct {
		Predictions []Prediction `json:"predictions"`
	}
	if err := c.do(ctx, http.MethodPost, "/predict"+modelQuery(model), map[string]any{"instances": rows}, &out); err != nil {
		return nil, err
	}
	if len(out.Predictions) != n {
		return nil, fmt.Errorf("POST /predict: %d predictions for %d rows", len(out.Predictions), n)
	}
	return out.Predictions, nil
}
