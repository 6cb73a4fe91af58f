package registry

import (
	"maps"
	"slices"
	"time"

	"github.com/modelferry/modelferry/pkg/evaluation"
	"github.com/modelferry/modelferry/pkg/search"
)

// Status is where a run is in its life.
type Status string

// Run states. Succeeded, failed and cancelled are terminal.
const (
	StatusQueued    Status = "queued"
	StatusRunning   Status = "running"
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
	StatusCancelled Status = "cancelled"
)

// Statuses lists every state, in a run's order.
var Statuses = []Status{StatusQueued, StatusRunning, StatusSucceeded, StatusFailed, StatusCancelled}

// Terminal reports whether a run in this state has ended.
func (s Status) Terminal() bool {
	return s == StatusSucceeded || s == StatusFailed || s == StatusCancelled
}

// Valid reports whether s is a known state.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Aliases the trainer moves.
const (
	AliasLatest     = "latest"
	AliasProduction = "production"
)

// Run is a run record, as GET /runs/{id} shows it and as stored at
// runs/<model>/<id>.json.
type Run struct {
	ID    string `json:"id"`
	Model string `json:"model"`
	// Name, Tags and Description are the run's names and notes (see
	// annotations.go); PATCH /runs/{id} edits them.
	Name        string            `json:"name,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Description string            `json:"description,omitempty"`
	// Revision counts the edits of the run's names and notes.
	Revision int `json:"revision,omitempty"`
	// Kind is KindTrain or KindSearch (Params.Kind).
	Kind   string    `json:"kind,omitempty"`
	Status Status    `json:"status"`
	Error  *RunError `json:"error,omitempty"`
	Params Params    `json:"params"`
	Label  string    `json:"label,omitempty"`

	Dataset   DatasetInfo        `json:"dataset"`
	Metrics   *evaluation.Report `json:"metrics,omitempty"`
	MetricsOn string             `json:"metrics_on,omitempty"`
	// RowsSkipped counts the rows skipped for a missing label; Schema is
	// the column transform of a table trained as it came. Schema is set
	// once and never changed: clones share it.
	RowsSkipped int     `json:"rows_skipped,omitempty"`
	Schema      *Schema `json:"schema,omitempty"`

	Version string `json:"version,omitempty"`
	// VersionNumber is the version's sequential number in its model.
	VersionNumber   int    `json:"version_number,omitempty"`
	Promoted        bool   `json:"promoted"`
	PromotionReason string `json:"promotion_reason,omitempty"`

	Progress   *Progress `json:"progress,omitempty"`
	Objective  *float64  `json:"objective,omitempty"`
	Iterations int       `json:"iterations,omitempty"`
	Converged  bool      `json:"converged"`
	// History is the solver's objective and gradient norm per iteration,
	// thinned evenly past MaxHistory points (see History).
	History []HistoryPoint `json:"history,omitempty"`
	// Search is a search run's cross-validation: every grid point's fold
	// scores and the best, which the run refits and publishes.
	Search *search.Record `json:"search,omitempty"`
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

// Clone returns a copy of r that shares nothing mutable with it.
func (r Run) Clone() Run {
	r.Tags = maps.Clone(r.Tags)
	if r.Progress != nil {
		p := *r.Progress
		r.Progress = &p
	}
	return r
}

// Fail ends r as failed at the given time.
func (r *Run) Fail(at time.Time, code, message string) {
	r.End(at, StatusFailed, code, message)
}

// End ends r in a terminal state; code and message say why when it did
// not succeed.
func (r *Run) End(at time.Time, status Status, code, message string) {
	r.Status = status
	r.Error = &RunError{Code: code, Message: message}
	r.FinishedAt = &at
	r.Progress = nil
	r.QueuePosition = 0
}

// RunError is why a run failed, in the API's error shape.
type RunError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// DatasetInfo says what a run trained on.
type DatasetInfo struct {
	URI string `json:"uri,omitempty"`
	// Filename is the name the data was uploaded under (the multipart
	// part's filename, or the filename query parameter), or the default
	// dataset's file; empty for a dataset named in the bucket.
	Filename string   `json:"filename,omitempty"`
	SHA256   string   `json:"sha256,omitempty"`
	Bytes    int64    `json:"bytes,omitempty"`
	Rows     int      `json:"rows,omitempty"`
	Features []string `json:"features,omitempty"`
	Classes  []string `json:"classes,omitempty"`
	// TrainRows and TestRows are the split.
	TrainRows int `json:"train_rows,omitempty"`
	TestRows  int `json:"test_rows,omitempty"`
}

// Progress is where a live run is: its stage, the bytes of the dataset
// read so far while loading, and the solver's last iteration while
// fitting.
type Progress struct {
	Iteration int     `json:"iteration"`
	Loss      float64 `json:"loss"`
	// Stage is one of the Stage* constants.
	Stage Stage `json:"stage,omitempty"`
	// GradNorm is the infinity norm of the mean-form gradient, which the
	// fit stops on (tol).
	GradNorm float64 `json:"grad_norm,omitempty"`
	// BytesRead of BytesTotal of the dataset are read (loading).
	BytesRead  int64 `json:"bytes_read,omitempty"`
	BytesTotal int64 `json:"bytes_total,omitempty"`
	// FitsDone of FitsTotal cross-validation fits are done (searching);
	// BestC and BestScore are the best grid point complete so far.
	FitsDone  int      `json:"fits_done,omitempty"`
	FitsTotal int      `json:"fits_total,omitempty"`
	BestC     *float64 `json:"best_c,omitempty"`
	BestScore *float64 `json:"best_score,omitempty"`
}

// Timings says where a run's time went.
type Timings struct {
	LoadSeconds     float64 `json:"load_seconds"`
	FitSeconds      float64 `json:"fit_seconds"`
	EvaluateSeconds float64 `json:"evaluate_seconds"`
	PublishSeconds  float64 `json:"publish_seconds"`
}

// VersionRecord is the immutable run.json stored beside a version's
// artifact: how the version was made. Promotion, decided after publishing,
// is in the mutable run record.
type VersionRecord struct {
	RunID   string `json:"run_id"`
	Model   string `json:"model"`
	Version string `json:"version"`
	// Number is the version's sequential number in its model (1, 2,
	// 3…), assigned at publish.
	Number         int                `json:"number,omitempty"`
	Params         Params             `json:"params"`
	Label          string             `json:"label"`
	Dataset        DatasetInfo        `json:"dataset"`
	Metrics        *evaluation.Report `json:"metrics"`
	MetricsOn      string             `json:"metrics_on"`
	Objective      float64            `json:"objective"`
	Iterations     int                `json:"iterations"`
	Converged      bool               `json:"converged"`
	Timings        Timings            `json:"timings"`
	TrainerVersion string             `json:"trainer_version"`
	CreatedAt      time.Time          `json:"created_at"`
	RowsSkipped    int                `json:"rows_skipped,omitempty"`
	Schema         *Schema            `json:"schema,omitempty"`
	// Search travels with the version a search run published.
	Search *search.Record `json:"search,omitempty"`
}

// Schema is the column transform a run fitted, as its record shows it.
type Schema struct {
	Columns []ColumnInfo `json:"columns"`
	// Dropped names the columns missing in every training row.
	Dropped []string `json:"dropped,omitempty"`
}

// MaxSchemaCategories bounds the categories a record lists per column,
// the most frequent first; the artifact keeps them all.
const MaxSchemaCategories = 20

// ColumnInfo is one source column of a Schema.
type ColumnInfo struct {
	Name string `json:"name"`
	// Type is "numeric" or "categorical".
	Type         string  `json:"type"`
	MissingShare float64 `json:"missing_share"`
	// Impute is a numeric column's value for a missing cell; Indicator
	// whether it has a "was missing" feature.
	Impute    *float64 `json:"impute,omitempty"`
	Indicator bool     `json:"indicator,omitempty"`
	// Categories are a categorical column's most frequent categories
	// (at most MaxSchemaCategories) with their training shares;
	// CategoryCount counts them all.
	Categories    []CategoryShare `json:"categories,omitempty"`
	CategoryCount int             `json:"category_count,omitempty"`
	// Infrequent counts the categories grouped as infrequent, and
	// InfrequentShare is their training share.
	Infrequent      int     `json:"infrequent,omitempty"`
	InfrequentShare float64 `json:"infrequent_share,omitempty"`
}

// CategoryShare is a category and its share of the training rows.
type CategoryShare struct {
	Value string  `json:"value"`
	Share float64 `json:"share"`
}
