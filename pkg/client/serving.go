package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Serving is a model's serving figures over a range, from the trainer's
// Prometheus (GET /models/{m}/serving).
type Serving struct {
	Model       string                  `json:"model"`
	Range       string                  `json:"range"`
	Start       time.Time               `json:"start"`
	End         time.Time               `json:"end"`
	Panels      map[string]ServingPanel `json:"panels"`
	Replicas    []ServingReplica        `json:"replicas"`
	Alerts      []ServingAlert          `json:"alerts"`
	AlertsError string                  `json:"alerts_error,omitempty"`
}

// ServingPanel is one query's answer, or its error.
type ServingPanel struct {
	Query  string `json:"query"`
	Error  string `json:"error,omitempty"`
	Series []struct {
		Labels map[string]string `json:"labels"`
		Points [][2]float64      `json:"points"`
		Last   float64           `json:"last"`
	} `json:"series"`
}

// ServingReplica is the versions one predictor served.
type ServingReplica struct {
	Instance string `json:"instance"`
	Served   []struct {
		Version string    `json:"version"`
		From    time.Time `json:"from"`
		To      time.Time `json:"to"`
	} `json:"served"`
}

// ServingAlert is a firing alert.
type ServingAlert struct {
	Name        string    `json:"name"`
	Severity    string    `json:"severity"`
	Summary     string    `json:"summary"`
	Description string    `json:"description"`
	ActiveAt    time.Time `json:"active_at"`
}

// Serving reads a model's serving figures; rng is 15m, 1h, 6h, 24h or 7d
// ("" is 1h).
func (c *Client) Serving(ctx context.Context, model, rng string) (Serving, error) {
	var s Serving
	return s, c.do(ctx, http.MethodGet, "/models/"+url.PathEscape(model)+"/serving?range="+url.QueryEscape(rng), nil, &s)
}
