package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/errcode"
	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/services/trainer/internal/jobs"
	"github.com/modelferry/modelferry/services/trainer/internal/pipeline"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

// Queue takes and cancels runs; *jobs.Queue has it.
type Queue interface {
	Admit() (*jobs.Ticket, error)
	Submit(ctx context.Context, t *jobs.Ticket, run registry.Run, src pipeline.Source) (*jobs.Job, error)
	Cancel(ctx context.Context, id string) (registry.Run, error)
}

// Pinger tells whether model storage answers; *modelstore.Store has it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// trainRequest is the JSON body of POST /train.
type trainRequest struct {
	// Dataset names an object in the bucket ("datasets/big.csv") or
	// s3://bucket/key; empty means the model's default dataset.
	Dataset string          `json:"dataset"`
	Label   string          `json:"label"`
	Params  json.RawMessage `json:"params"`
	// Name names the run; empty means a generated one (brave-otter-42).
	Name string `json:"name"`
}

// paramKeys are the training parameters a query string may carry.
var paramKeys = []string{"c", "max_iter", "tol", "test_fraction", "seed", "standardize", "label",
	"features", "drop", "categorical", "numeric", "na_values", "impute", "add_indicator", "max_categories", "min_frequency", "class_weight", "weight",
	"search_c", "folds", "scoring"}

var queryKeys = append([]string{"model", "wait", "filename", "name"}, paramKeys...)

func (a *API) train(c *gin.Context) {
	q := c.Request.URL.Query()
	for k := range q {
		if !slices.Contains(queryKeys, k) {
			a.fail(c, badRequest("unknown query parameter %s; known: %s", quote(k), strings.Join(queryKeys, ", ")))
			return
		}
	}
	model, err := modelParam(q.Get("model"))
	if err != nil {
		a.fail(c, err)
		return
	}
	wait := false
	if s := q.Get("wait"); s != "" {
		if wait, err = strconv.ParseBool(s); err != nil {
			a.fail(c, badRequest("wait: %s is not a boolean", quote(s)))
			return
		}
	}
	if err := a.cfg.Storage.Ping(c); err != nil {
		a.fail(c, storeError(err, "model storage"))
		return
	}
	// A place in the queue before the body is read: a full queue refuses
	// without receiving, let alone spooling, an upload.
	ticket, err := a.cfg.Queue.Admit()
	if err != nil {
		a.fail(c, queueError(err))
		return
	}
	defer ticket.Release()
	// An upload may take longer than the server's read limit, and a wait
	// as long as the training.
	rc := http.NewResponseController(c.Writer)
	if err := rc.SetReadDeadline(time.Time{}); err != nil {
		a.log.Debug("lifting the read deadline", "err", err)
	}

	guarded, bodyRead := a.guardUpload(rc, c.Request.Body, c.Request.ContentLength)
	defer bodyRead()
	c.Request.Body = struct {
		io.Reader
		io.Closer
	}{guarded, c.Request.Body}
	body, err := a.readTrainBody(c, model, q)
	if err != nil {
		a.fail(c, err)
		return
	}
	if body.src.Name, err = uploadName(q, body.src); err != nil {
		body.src.Release()
		a.fail(c, err)
		return
	}
	if err := body.params.Validate(); err != nil {
		body.src.Release()
		a.fail(c, badRequest("%v", err))
		return
	}

	name, err := runName(q.Get("name"), body.name)
	if err != nil {
		body.src.Release()
		a.fail(c, err)
		return
	}
	now := time.Now()
	id := modelstore.NewVersion(now)
	if name == "" {
		name = registry.GeneratedName(id)
	}
	job, err := a.cfg.Queue.Submit(c, ticket, registry.Run{ID: id, Name: name, Model: model, Kind: body.params.Kind(), Params: body.params, Label: body.label,
		Dataset: registry.DatasetInfo{URI: body.src.Ref, Filename: body.src.Name}, TrainerVersion: a.cfg.TrainerVersion, CreatedAt: now}, body.src)
	if err != nil {
		a.fail(c, queueError(err))
		return
	}
	if body.receive != nil {
		// The run may be reading the upload already; if it breaks off,
		// the run fails with the same error.
		if err := body.receive(); err != nil {
			a.fail(c, err)
			return
		}
	}
	bodyRead()
	run := job.Snapshot()
	c.Header("Location", "/runs/"+run.ID)
	if !wait {
		c.JSON(http.StatusAccepted, run)
		return
	}
	if err := rc.SetWriteDeadline(time.Time{}); err != nil {
		a.log.Debug("lifting the write deadline", "err", err)
	}
	select {
	case <-job.Done():
	case <-c.Request.Context().Done():
		return // the client left; the run goes on
	}
	run = job.Snapshot()
	c.JSON(runStatus(run), run)
}

// queueError maps the queue's refusals to API errors.
func queueError(err error) error {
	switch {
	case errors.Is(err, jobs.ErrQueueFull):
		return httpserver.Errorf(http.StatusTooManyRequests, errcode.ResourceExhausted,
			"the training queue is full (TRAINER_MAX_QUEUE); try again later")
	case errors.Is(err, jobs.ErrShuttingDown):
		return httpserver.Errorf(http.StatusServiceUnavailable, errcode.Unavailable, "the trainer is shutting down")
	}
	return storeError(err, "run record")
}

// runStatus is the HTTP status of a finished run.
func runStatus(r registry.Run) int {
	if r.Error == nil {
		return http.StatusOK
	}
	switch r.Error.Code {
	case errcode.InvalidArgument:
		return http.StatusBadRequest
	case errcode.NotFound:
		return http.StatusNotFound
	case errcode.Unavailable:
		return http.StatusServiceUnavailable
	case errcode.Cancelled:
		return http.StatusConflict
	case errcode.DeadlineExceeded:
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// trainBody is what a POST /train body says: the parameters, the label
// column, and the dataset.
type trainBody struct {
	params registry.Params
	label  string
	name   string // the JSON body's run name
	src    pipeline.Source
	// receive, when not nil, writes a CSV body of known length into the
	// source's upload; it is called once the run is queued.
	receive func() error
}

// readTrainBody reads the body in whichever of its four forms it comes. A
// CSV body of known length is not read yet (trainBody.receive).
func (a *API) readTrainBody(c *gin.Context, model string, q url.Values) (trainBody, error) {
	params := registry.DefaultParams()
	r := c.Request
	br := bufio.NewReader(r.Body)
	_, peekErr := br.Peek(1)
	empty := errors.Is(peekErr, io.EOF)
	// Later readers must see the peeked byte too.
	r.Body = struct {
		io.Reader
		io.Closer
	}{br, r.Body}
	ct := r.Header.Get("Content-Type")
	mt := ""
	if ct != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(ct); err != nil {
			return trainBody{}, unsupported(ct)
		}
	}

	switch {
	case mt == "application/json":
		if hasParams(q) {
			return trainBody{}, badRequest("with a JSON body, put parameters in its \"params\" object, not in the query string")
		}
		var req trainRequest
		if !empty {
			dec := json.NewDecoder(http.MaxBytesReader(c.Writer, io.NopCloser(br), 1<<20))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				return trainBody{}, httpserver.JSONError(err, "")
			}
			if dec.More() {
				return trainBody{}, badRequest("body: more than one JSON value")
			}
		}
		if len(req.Params) > 0 && string(req.Params) != "null" {
			dec := json.NewDecoder(strings.NewReader(string(req.Params)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&params); err != nil {
				return trainBody{}, paramsDecodeError(err)
			}
		}
		if req.Dataset != "" {
			return trainBody{params: params, label: req.Label, name: req.Name, src: pipeline.Source{Ref: req.Dataset}}, nil
		}
		src, err := a.defaultDataset(model)
		return trainBody{params: params, label: req.Label, name: req.Name, src: src}, err

	case empty && (mt == "" || mt == "application/x-www-form-urlencoded"):
		// curl -X POST without a body; curl -d '' sends the form type.
		label, err := queryParams(q, &params)
		if err != nil {
			return trainBody{}, err
		}
		src, err := a.defaultDataset(model)
		return trainBody{params: params, label: label, src: src}, err

	case mt == "text/csv" || mt == "application/csv":
		label, err := queryParams(q, &params)
		if err != nil {
			return trainBody{}, err
		}
		if r.ContentLength > 0 {
			src, receive, err := a.streamUpload(c, br, r.ContentLength)
			return trainBody{params: params, label: label, src: src, receive: receive}, err
		}
		src, err := a.spool(c, br)
		return trainBody{params: params, label: label, src: src}, err

	case mt == "multipart/form-data":
		label, err := queryParams(q, &params)
		if err != nil {
			return trainBody{}, err
		}
		src, err := a.spoolMultipart(c)
		return trainBody{params: params, label: label, src: src}, err
	}
	return trainBody{}, unsupported(ct)
}

func unsupported(ct string) error {
	return httpserver.Errorf(http.StatusUnsupportedMediaType, errcode.UnsupportedMediaType,
		"content type %s is not supported: send application/json, text/csv or multipart/form-data (a \"file\" part), or no body for the default dataset", quote(ct))
}

func hasParams(q url.Values) bool {
	for _, k := range paramKeys {
		if q.Has(k) {
			return true
		}
	}
	return false
}

// queryParams reads training parameters from the query string into p and
// returns the label.
func queryParams(q url.Values, p *registry.Params) (string, error) {
	float := func(key string, dst *float64) error {
		if s := q.Get(key); s != "" {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return badRequest("%s: %s is not a number", key, quote(s))
			}
			*dst = v
		}
		return nil
	}
	if err := float("c", &p.C); err != nil {
		return "", err
	}
	if err := float("tol", &p.Tol); err != nil {
		return "", err
	}
	if err := float("test_fraction", &p.TestFraction); err != nil {
		return "", err
	}
	if s := q.Get("max_iter"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			return "", badRequest("max_iter: %s is not an integer", quote(s))
		}
		p.MaxIter = v
	}
	if s := q.Get("seed"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return "", badRequest("seed: %s is not a non-negative integer", quote(s))
		}
		p.Seed = v
	}
	if s := q.Get("standardize"); s != "" {
		v, err := strconv.ParseBool(s)
		if err != nil {
			return "", badRequest("standardize: %s is not a boolean", quote(s))
		}
		p.Standardize = v
	}
	if err := querySearch(q, p); err != nil {
		return "", err
	}
	return q.Get("label"), tableParams(q, &p.Table)
}

// tableParams reads the table parameters from the query string: a list as
// repeated keys (drop=id&drop=name).
func tableParams(q url.Values, t *registry.Table) error {
	for key, dst := range map[string]*[]string{"features": &t.Features, "drop": &t.Drop, "categorical": &t.Categorical,
		"numeric": &t.Numeric, "na_values": &t.NAValues} {
		if q.Has(key) {
			*dst = q[key]
		}
	}
	t.Impute, t.Weight = q.Get("impute"), q.Get("weight")
	if s := q.Get("add_indicator"); s != "" {
		v, err := strconv.ParseBool(s)
		if err != nil {
			return badRequest("add_indicator: %s is not a boolean", quote(s))
		}
		t.AddIndicator = v
	}
	if s := q.Get("max_categories"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			return badRequest("max_categories: %s is not an integer", quote(s))
		}
		t.MaxCategories = v
	}
	if s := q.Get("min_frequency"); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return badRequest("min_frequency: %s is not a number", quote(s))
		}
		t.MinFrequency = v
	}
	if s := q.Get("class_weight"); s != "" {
		if s == "balanced" {
			s = `"balanced"`
		}
		var cw registry.ClassWeight
		if err := cw.UnmarshalJSON([]byte(s)); err != nil {
			return badRequest("%v", err)
		}
		t.ClassWeight = &cw
	}
	return nil
}

func (a *API) defaultDataset(model string) (pipeline.Source, error) {
	path := filepath.Join(a.cfg.DataDir, model+".csv")
	if _, err := os.Stat(path); err != nil {
		return pipeline.Source{}, httpserver.Errorf(http.StatusNotFound, errcode.NotFound,
			"model %s has no default dataset (%s.csv in the data directory): send a CSV body, a multipart \"file\", or {\"dataset\": \"s3://...\"}", quote(model), model)
	}
	return pipeline.Source{Path: path, Name: filepath.Base(path)}, nil
}
