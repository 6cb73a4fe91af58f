package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/modelferry/modelferry/pkg/search"
)

// Run is a training run as the trainer records it.
type Run struct {
	ID              string            `json:"id"`
	Model           string            `json:"model"`
	Kind            string            `json:"kind,omitempty"`
	Name            string            `json:"name,omitempty"`
	Tags            map[string]string `json:"tags,omitempty"`
	Description     string            `json:"description,omitempty"`
	Revision        int               `json:"revision,omitempty"`
	Status          string            `json:"status"`
	Error           *RunError         `json:"error,omitempty"`
	Params          Params            `json:"params"`
	Label           string            `json:"label,omitempty"`
	Dataset         Dataset           `json:"dataset"`
	Metrics         *Metrics          `json:"metrics,omitempty"`
	MetricsOn       string            `json:"metrics_on,omitempty"`
	Version         string            `json:"version,omitempty"`
	VersionNumber   int               `json:"version_number,omitempty"`
	Promoted        bool              `json:"promoted"`
	PromotionReason string            `json:"promotion_reason,omitempty"`
	Progress        *Progress         `json:"progress,omitempty"`
	Objective       *float64          `json:"objective,omitempty"`
	Iterations      int               `json:"iterations,omitempty"`
	Converged       bool              `json:"converged"`
	QueuePosition   int               `json:"queue_position,omitempty"`
	Search          *search.Record    `json:"search,omitempty"`
	Timings         map[string]any    `json:"timings,omitempty"`
	CreatedAt       time.Time         `json:"created_at"`
	StartedAt       *time.Time        `json:"started_at,omitempty"`
	FinishedAt      *time.Time        `json:"finished_at,omitempty"`
	DurationSeconds float64           `json:"duration_seconds,omitempty"`
	RowsSkipped     int               `json:"rows_skipped,omitempty"`
	Schema          *Schema           `json:"schema,omitempty"`
}

// Schema is the column transform fitted on a table as it came.
type Schema struct {
	Columns []Column `json:"columns"`
	Dropped []string `json:"dropped,omitempty"`
}

// Column is one source column of a Schema.
type Column struct {
	Name            string     `json:"name"`
	Type            string     `json:"type"`
	MissingShare    float64    `json:"missing_share"`
	Impute          *float64   `json:"impute,omitempty"`
	Indicator       bool       `json:"indicator,omitempty"`
	Categories      []Category `json:"categories,omitempty"`
	CategoryCount   int        `json:"category_count,omitempty"`
	Infrequent      int        `json:"infrequent,omitempty"`
	InfrequentShare float64    `json:"infrequent_share,omitempty"`
}

// Category is a category and its share of the training rows.
type Category struct {
	Value string  `json:"value"`
	Share float64 `json:"share"`
}

// Terminal reports whether the run has ended.
func (r Run) Terminal() bool {
	return r.Status == "succeeded" || r.Status == "failed" || r.Status == "cancelled"
}

// RunError is why a run failed.
type RunError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Params are a run's training parameters.
type Params struct {
	C            float64 `json:"c"`
	MaxIter      int     `json:"max_iter"`
	Tol          float64 `json:"tol"`
	TestFraction float64 `json:"test_fraction"`
	Seed         uint64  `json:"seed"`
	Standardize  bool    `json:"standardize"`
	// Search is set on a search run.
	Search *search.Spec `json:"search,omitempty"`

	Features      []string        `json:"features,omitempty"`
	Drop          []string        `json:"drop,omitempty"`
	Categorical   []string        `json:"categorical,omitempty"`
	Numeric       []string        `json:"numeric,omitempty"`
	NAValues      []string        `json:"na_values,omitempty"`
	Impute        string          `json:"impute,omitempty"`
	AddIndicator  bool            `json:"add_indicator,omitempty"`
	MaxCategories int             `json:"max_categories,omitempty"`
	MinFrequency  float64         `json:"min_frequency,omitempty"`
	ClassWeight   json.RawMessage `json:"class_weight,omitempty"`
	Weight        string          `json:"weight,omitempty"`
}

// Dataset is what a run trained on.
type Dataset struct {
	URI      string   `json:"uri,omitempty"`
	Filename string   `json:"filename,omitempty"`
	SHA256   string   `json:"sha256,omitempty"`
	Bytes    int64    `json:"bytes,omitempty"`
	Rows     int      `json:"rows,omitempty"`
	Features []string `json:"features,omitempty"`
	Classes  []string `json:"classes,omitempty"`
}

// Metrics are a run's evaluation.
type Metrics struct {
	Accuracy float64 `json:"accuracy"`
	LogLoss  float64 `json:"log_loss"`
	MacroF1  float64 `json:"macro_f1"`
	Rows     int     `json:"rows"`
}

// Progress is where a live run is.
type Progress struct {
	Status        string  `json:"status,omitempty"`
	QueuePosition int     `json:"queue_position,omitempty"`
	Stage         string  `json:"stage,omitempty"`
	Iteration     int     `json:"iteration"`
	Loss          float64 `json:"loss"`
	GradNorm      float64 `json:"grad_norm,omitempty"`
	BytesRead     int64   `json:"bytes_read,omitempty"`
	BytesTotal    int64   `json:"bytes_total,omitempty"`
	// FitsDone of FitsTotal cross-validation fits are done (searching);
	// BestC and BestScore are the best grid point so far.
	FitsDone  int      `json:"fits_done,omitempty"`
	FitsTotal int      `json:"fits_total,omitempty"`
	BestC     *float64 `json:"best_c,omitempty"`
	BestScore *float64 `json:"best_score,omitempty"`
}

// TrainRequest is one POST /train.
type TrainRequest struct {
	Model string
	// Body is a CSV to upload, of Size bytes; nil trains on Dataset or, if
	// that is empty too, on the model's default dataset.
	Body io.Reader
	Size int64
	// Filename is Body's original name, which the trainer keeps.
	Filename string
	// Dataset names an object in the bucket (datasets/<sha256>.csv).
	Dataset string
	Label   string
	// Params are query parameters (c, max_iter, tol, test_fraction, seed,
	// standardize, and the table's: features, drop, ... lists as
	// repeated keys); unset ones keep the trainer's defaults.
	Params url.Values
	Wait   bool
	// Name names the run; empty means the trainer generates one.
	Name string
}

// Train starts a run (or, with Wait, runs it to its end) and returns its
// record.
func (c *Client) Train(ctx context.Context, r TrainRequest) (Run, error) {
	q := url.Values{}
	for k, v := range r.Params {
		q[k] = v
	}
	if r.Model != "" {
		q.Set("model", r.Model)
	}
	if r.Wait {
		q.Set("wait", "true")
	}
	if r.Name != "" {
		q.Set("name", r.Name)
	}
	var body io.Reader
	ct, size := "", int64(-1)
	switch {
	case r.Body != nil:
		if r.Label != "" {
			q.Set("label", r.Label)
		}
		if r.Filename != "" {
			q.Set("filename", r.Filename)
		}
		body, ct, size = r.Body, "text/csv", r.Size
	case r.Dataset != "" || r.Label != "" || len(r.Params) > 0:
		params := map[string]any{}
		for k, v := range r.Params {
			params[k] = paramValue(k, v)
			q.Del(k)
		}
		if err := searchParam(params); err != nil {
			return Run{}, err
		}
		b, err := json.Marshal(map[string]any{"dataset": r.Dataset, "label": r.Label, "params": params})
		if err != nil {
			return Run{}, err
		}
		body, ct, size = bytes.NewReader(b), "application/json", int64(len(b))
	}
	resp, err := c.request(ctx, http.MethodPost, "/train?"+q.Encode(), body, ct, size)
	if err != nil {
		return Run{}, err
	}
	defer resp.Body.Close()
	var run Run
	if err := json.NewDecoder(resp.Body).Decode(&run); err != nil {
		return Run{}, fmt.Errorf("POST /train: decode the answer: %w", err)
	}
	return run, nil
}

// searchParam moves the query form of a search (search_c, folds,
// scoring) into params' search object, as a JSON body carries it.
func searchParam(params map[string]any) error {
	c, ok := params["search_c"]
	if !ok {
		return nil
	}
	grid, err := search.ParseGrid(fmt.Sprint(c))
	if err != nil {
		return err
	}
	spec := search.Spec{C: grid}
	if s, ok := params["scoring"]; ok {
		spec.Scoring = fmt.Sprint(s)
	}
	if f, ok := params["folds"].(float64); ok {
		spec.Folds = int(f)
	} else if ok := params["folds"] != nil; ok {
		return fmt.Errorf("folds: %v is not an integer", params["folds"])
	}
	delete(params, "search_c")
	delete(params, "scoring")
	delete(params, "folds")
	params["search"] = spec
	return nil
}

// jsonValue reads a query parameter as the JSON value it stands for.
// paramValue is the JSON value of a training parameter given as query
// values: a list for the table's column lists, text for the names,
// class_weight as "balanced" or its object, else a number or boolean.
func paramValue(key string, v []string) any {
	switch key {
	case "features", "drop", "categorical", "numeric", "na_values":
		return v
	case "weight", "impute", "label":
		return v[0]
	case "class_weight":
		var o map[string]float64
		if json.Unmarshal([]byte(v[0]), &o) == nil {
			return o
		}
		return v[0]
	}
	return jsonValue(v[0])
}

func jsonValue(s string) any {
	if b, err := strconv.ParseBool(s); err == nil {
		return b
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f
	}
	return s
}

// Events follows a run through GET /runs/{id}/events: onProgress hears
// every progress event, and the final record is returned when the run
// ends.
func (c *Client) Events(ctx context.Context, id string, onProgress func(Progress)) (Run, error) {
	resp, err := c.request(ctx, http.MethodGet, "/runs/"+url.PathEscape(id)+"/events", nil, "", -1)
	if err != nil {
		return Run{}, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	event, data := "", []string{}
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			payload := strings.Join(data, "\n")
			switch event {
			case "progress":
				var p Progress
				if json.Unmarshal([]byte(payload), &p) == nil && onProgress != nil {
					onProgress(p)
				}
			case "run":
				var run Run
				if err := json.Unmarshal([]byte(payload), &run); err != nil {
					return Run{}, fmt.Errorf("run event: %w", err)
				}
				return run, nil
			}
			event, data = "", data[:0]
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
	}
	if err := sc.Err(); err != nil {
		return Run{}, fmt.Errorf("events of run %s: %w", id, err)
	}
	return Run{}, fmt.Errorf("events of run %s: the stream ended before the run did", id)
}

// RunsQuery selects runs.
type RunsQuery struct {
	Model, Status, PageToken string
	Limit                    int
	// Filter is a search in MLflow's syntax (metrics.accuracy > 0.9 and
	// tags.team = 'fraud'); OrderBy its sort keys (metrics.accuracy DESC).
	Filter  string
	OrderBy []string
}

// RunsPage is a page of runs, newest first.
type RunsPage struct {
	Runs          []Run  `json:"runs"`
	NextPageToken string `json:"next_page_token,omitempty"`
}

// Runs lists runs.
func (c *Client) Runs(ctx context.Context, q RunsQuery) (RunsPage, error) {
	v := url.Values{}
	for k, s := range map[string]string{"model": q.Model, "status": q.Status, "page_token": q.PageToken, "filter": q.Filter} {
		if s != "" {
			v.Set(k, s)
		}
	}
	for _, o := range q.OrderBy {
		v.Add("order_by", o)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var page RunsPage
	return page, c.do(ctx, http.MethodGet, "/runs?"+v.Encode(), nil, &page)
}

// Run reads one run.
func (c *Client) Run(ctx context.Context, id string) (Run, error) {
	var run Run
	return run, c.do(ctx, http.MethodGet, "/runs/"+url.PathEscape(id), nil, &run)
}

// RunEdit changes a finished run's name, tags and description: nil
// fields stay; a nil tag value removes the tag.
type RunEdit struct {
	Name        *string            `json:"name,omitempty"`
	Tags        map[string]*string `json:"tags,omitempty"`
	Description *string            `json:"description,omitempty"`
}

// EditRun applies an edit to a finished run (PATCH /runs/{id}).
func (c *Client) EditRun(ctx context.Context, id string, e RunEdit) (Run, error) {
	var run Run
	return run, c.do(ctx, http.MethodPatch, "/runs/"+url.PathEscape(id), e, &run)
}

// Cancel cancels a queued or running run.
func (c *Client) Cancel(ctx context.Context, id string) (Run, error) {
	var run Run
	return run, c.do(ctx, http.MethodPost, "/runs/"+url.PathEscape(id)+"/cancel", nil, &run)
}

// Alias points at a version.
type Alias struct {
	Version   string    `json:"version"`
	SHA256    string    `json:"sha256"`
	UpdatedAt time.Time `json:"updated_at"`
	// Previous is the version the alias named before, when known.
	Previous string `json:"previous_version,omitempty"`
}

// ModelSummary is a model in the list of models.
type ModelSummary struct {
	Name    string           `json:"name"`
	Aliases map[string]Alias `json:"aliases"`
}

// Models lists every model.
func (c *Client) Models(ctx context.Context) ([]ModelSummary, error) {
	var out struct {
		Models []ModelSummary `json:"models"`
	}
	return out.Models, c.do(ctx, http.MethodGet, "/models", nil, &out)
}

// Model is one model: its versions, newest first, and its aliases.
type Model struct {
	Name     string           `json:"name"`
	Versions []string         `json:"versions"`
	Aliases  map[string]Alias `json:"aliases"`
}

// Model reads one model.
func (c *Client) Model(ctx context.Context, name string) (Model, error) {
	var m Model
	return m, c.do(ctx, http.MethodGet, "/models/"+url.PathEscape(name), nil, &m)
}

// Version is one version with its record.
type Version struct {
	Model   string   `json:"model"`
	Version string   `json:"version"`
	Number  int      `json:"number,omitempty"`
	SHA256  string   `json:"sha256"`
	Aliases []string `json:"aliases"`
	Record  struct {
		RunID     string   `json:"run_id"`
		Params    Params   `json:"params"`
		Dataset   Dataset  `json:"dataset"`
		Metrics   *Metrics `json:"metrics"`
		MetricsOn string   `json:"metrics_on"`
		// RowsSkipped and Schema are set for a table trained as it came.
		RowsSkipped int     `json:"rows_skipped,omitempty"`
		Schema      *Schema `json:"schema,omitempty"`
	} `json:"record"`
}

// Version reads one version.
func (c *Client) Version(ctx context.Context, model, version string) (Version, error) {
	var v Version
	return v, c.do(ctx, http.MethodGet, "/models/"+url.PathEscape(model)+"/versions/"+url.PathEscape(version), nil, &v)
}

// AliasChange is what moving an alias did.
type AliasChange struct {
	Model           string    `json:"model"`
	Alias           string    `json:"alias"`
	Version         string    `json:"version"`
	SHA256          string    `json:"sha256"`
	PreviousVersion string    `json:"previous_version,omitempty"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// SetAlias points an alias at a version (promote, roll back).
func (c *Client) SetAlias(ctx context.Context, model, alias, version string) (AliasChange, error) {
	var out AliasChange
	return out, c.do(ctx, http.MethodPut, "/models/"+url.PathEscape(model)+"/aliases/"+url.PathEscape(alias),
		map[string]string{"version": version}, &out)
}

// StoredDataset is a dataset in the bucket.
type StoredDataset struct {
	SHA256    string   `json:"sha256"`
	URI       string   `json:"uri,omitempty"`
	Bytes     int64    `json:"bytes"`
	Rows      int      `json:"rows,omitempty"`
	Features  []string `json:"features,omitempty"`
	Classes   []string `json:"classes,omitempty"`
	Filenames []string `json:"filenames,omitempty"`
	Runs      []string `json:"runs,omitempty"`
}

// Datasets lists the datasets in the bucket.
func (c *Client) Datasets(ctx context.Context) ([]StoredDataset, error) {
	var out struct {
		Datasets []StoredDataset `json:"datasets"`
	}
	return out.Datasets, c.do(ctx, http.MethodGet, "/datasets", nil, &out)
}
