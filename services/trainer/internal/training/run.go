// Package training runs trainings: it loads a dataset, splits, fits and
// evaluates a model, publishes it to the registry, moves the latest alias
// and, past the quality gate, production. Runs of one model are serialized
// through a bounded queue; every state of a run is recorded in S3.
package training

import (
	"time"

	"github.com/modelferry/modelferry/pkg/evaluation"
)

// Run states.
const (
	StatusQueued    = "queued"
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// Run is a run record, as GET /runs/{id} shows it and as stored at
// runs/<model>/<id>.json.
type Run struct {
	ID     string    `json:"id"`
	Model  string    `json:"model"`
	Status string    `json:"status"`
	Error  *RunError `json:"error,omitempty"`
	Params Params    `json:"params"`
	Label  string    `json:"label,omitempty"`

	Dataset   DatasetInfo        `json:"dataset"`
	Metrics   *evaluation.Report `json:"metrics,omitempty"`
	MetricsOn string             `json:"metrics_on,omitempty"`

	Version         string `json:"version,omitempty"`
	Promoted        bool   `json:"promoted"`
	PromotionReason string `json:"promotion_reason,omitempty"`

	Progress   *Progress `json:"progress,omitempty"`
	Objective  *float64  `json:"objective,omitempty"`
	Iterations int       `json:"iterations,omitempty"`
	Converged  bool      `json:"converged"`
	// QueuePosition counts the runs of the same model ahead of a queued
	// run, the running one included.
	QueuePosition int `json:"queue_position,omitempty"`

	Timings         Timings    `json:"timings"`
	TrainerVersion  string     `json:"trainer_version,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	StartedAt       *time.Time `json:"started_at,omitempty"`
	FinishedAt      *time.Time `json:"finished_at,omitempty"`
	DurationSeconds float64    `json:"duration_seconds,omitempty"`
}

// RunError is why a run failed, in the API's error shape.
type RunError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// DatasetInfo says what a run trained on.
type DatasetInfo struct {
	URI      string   `json:"uri,omitempty"`
	SHA256   string   `json:"sha256,omitempty"`
	Bytes    int64    `json:"bytes,omitempty"`
	Rows     int      `json:"rows,omitempty"`
	Features []string `json:"features,omitempty"`
	Classes  []string `json:"classes,omitempty"`
	// TrainRows and TestRows are the split.
	TrainRows int `json:"train_rows,omitempty"`
	TestRows  int `json:"test_rows,omitempty"`
}

// Progress is the solver's last iteration.
type Progress struct {
	Iteration int     `json:"iteration"`
	Loss      float64 `json:"loss"`
}

// Timings says where a run's time went.
type Timings struct {
	LoadSeconds     float64 `json:"load_seconds"`
	FitSeconds      float64 `json:"fit_seconds"`
	EvaluateSeconds float64 `json:"evaluate_seconds"`
	PublishSeconds  float64 `json:"publish_seconds"`
}

// Terminal reports whether the run has finished.
func (r *Run) Terminal() bool { return r.Status == StatusSucceeded || r.Status == StatusFailed }
