package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
}

// paramKeys are the training parameters a query string may carry.
var paramKeys = []string{"c", "max_iter", "tol", "test_fraction", "seed", "standardize", "label", "search_c", "folds", "scoring"}

var queryKeys = append([]string{"model", "wait"}, paramKeys...)

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

	body, bodyRead := a.guardUpload(rc, c.Request.Body, c.Request.ContentLength)
	defer bodyRead()
	c.Request.Body = struct {
		io.Reader
		io.Closer
	}{body, c.Request.Body}
	params, label, src, receive, err := a.readTrainBody(c, model, q)
	if err != nil {
		a.fail(c, err)
		return
	}
	if err := params.Validate(); err != nil {
		src.Release()
		a.fail(c, badRequest("%v", err))
		return
	}

	now := time.Now()
	job, err := a.cfg.Queue.Submit(c, ticket, registry.Run{ID: modelstore.NewVersion(now), Model: model, Kind: params.Kind(), Params: params, Label: label,
		Dataset: registry.DatasetInfo{URI: src.Ref}, TrainerVersion: a.cfg.TrainerVersion, CreatedAt: now}, src)
	if err != nil {
		a.fail(c, queueError(err))
		return
	}
	if receive != nil {
		// The run may be reading the upload already; if it breaks off,
		// the run fails with the same error.
		if err := receive(); err != nil {
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
		return httpserver.Errorf(http.StatusTooManyRequests, httpserver.CodeResourceExhausted,
			"the training queue is full (TRAINER_MAX_QUEUE); try again later")
	case errors.Is(err, jobs.ErrShuttingDown):
		return httpserver.Errorf(http.StatusServiceUnavailable, httpserver.CodeUnavailable, "the trainer is shutting down")
	}
	return storeError(err, "run record")
}

// runStatus is the HTTP status of a finished run.
func runStatus(r registry.Run) int {
	if r.Error == nil {
		return http.StatusOK
	}
	switch r.Error.Code {
	case httpserver.CodeInvalidArgument:
		return http.StatusBadRequest
	case httpserver.CodeNotFound:
		return http.StatusNotFound
	case httpserver.CodeUnavailable:
		return http.StatusServiceUnavailable
	case registry.CodeCancelled:
		return http.StatusConflict
	case registry.CodeDeadline:
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// readTrainBody reads the body in whichever of its four forms it comes. A
// CSV body of known length is not read yet: receive, when not nil, writes
// it into the source's upload, and is called once the run is queued.
func (a *API) readTrainBody(c *gin.Context, model string, q url.Values) (registry.Params, string, pipeline.Source, func() error, error) {
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
			return params, "", pipeline.Source{}, nil, unsupported(ct)
		}
	}

	switch {
	case mt == "application/json":
		if hasParams(q) {
			return params, "", pipeline.Source{}, nil, badRequest("with a JSON body, put parameters in its \"params\" object, not in the query string")
		}
		var req trainRequest
		if !empty {
			dec := json.NewDecoder(http.MaxBytesReader(c.Writer, io.NopCloser(br), 1<<20))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				return params, "", pipeline.Source{}, nil, httpserver.JSONError(err, "")
			}
			if dec.More() {
				return params, "", pipeline.Source{}, nil, badRequest("body: more than one JSON value")
			}
		}
		if len(req.Params) > 0 && string(req.Params) != "null" {
			dec := json.NewDecoder(strings.NewReader(string(req.Params)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&params); err != nil {
				return params, "", pipeline.Source{}, nil, paramsDecodeError(err)
			}
		}
		if req.Dataset != "" {
			return params, req.Label, pipeline.Source{Ref: req.Dataset}, nil, nil
		}
		src, err := a.defaultDataset(model)
		return params, req.Label, src, nil, err

	case empty && (mt == "" || mt == "application/x-www-form-urlencoded"):
		// curl -X POST without a body; curl -d '' sends the form type.
		label, err := queryParams(q, &params)
		if err != nil {
			return params, "", pipeline.Source{}, nil, err
		}
		src, err := a.defaultDataset(model)
		return params, label, src, nil, err

	case mt == "text/csv" || mt == "application/csv":
		label, err := queryParams(q, &params)
		if err != nil {
			return params, "", pipeline.Source{}, nil, err
		}
		if r.ContentLength > 0 {
			src, receive, err := a.streamUpload(c, br, r.ContentLength)
			return params, label, src, receive, err
		}
		src, err := a.spool(c, br)
		return params, label, src, nil, err

	case mt == "multipart/form-data":
		label, err := queryParams(q, &params)
		if err != nil {
			return params, "", pipeline.Source{}, nil, err
		}
		src, err := a.spoolMultipart(c)
		return params, label, src, nil, err
	}
	return params, "", pipeline.Source{}, nil, unsupported(ct)
}

func unsupported(ct string) error {
	return httpserver.Errorf(http.StatusUnsupportedMediaType, httpserver.CodeUnsupportedMediaType,
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
	return q.Get("label"), nil
}

func (a *API) defaultDataset(model string) (pipeline.Source, error) {
	path := filepath.Join(a.cfg.DataDir, model+".csv")
	if _, err := os.Stat(path); err != nil {
		return pipeline.Source{}, httpserver.Errorf(http.StatusNotFound, httpserver.CodeNotFound,
			"model %s has no default dataset (%s.csv in the data directory): send a CSV body, a multipart \"file\", or {\"dataset\": \"s3://...\"}", quote(model), model)
	}
	return pipeline.Source{Path: path}, nil
}

// spool writes a whole upload to a temporary file before its run is
// queued, so a large dataset is held once (as the parsed matrix), never as
// a second copy in memory.
func (a *API) spool(c *gin.Context, r io.Reader) (pipeline.Source, error) {
	path, err := a.uploadFile()
	if err != nil {
		return pipeline.Source{}, err
	}
	src := pipeline.Source{Path: path, Temporary: true}
	limited := http.MaxBytesReader(c.Writer, io.NopCloser(r), a.cfg.MaxUploadBytes)
	if err := pipeline.NewUpload(-1).Fill(path, limited, a.uploadError); err != nil {
		src.Release()
		return pipeline.Source{}, err
	}
	return src, nil
}

// streamUpload prepares a CSV body of known length to be read while its
// run loads it: receive writes it to a temporary file.
func (a *API) streamUpload(c *gin.Context, r io.Reader, size int64) (pipeline.Source, func() error, error) {
	if size > a.cfg.MaxUploadBytes {
		return pipeline.Source{}, nil, a.uploadTooLarge(&http.MaxBytesError{Limit: a.cfg.MaxUploadBytes})
	}
	path, err := a.uploadFile()
	if err != nil {
		return pipeline.Source{}, nil, err
	}
	up := pipeline.NewUpload(size)
	src := pipeline.Source{Path: path, Temporary: true, Upload: up}
	receive := func() error {
		limited := http.MaxBytesReader(c.Writer, io.NopCloser(r), a.cfg.MaxUploadBytes)
		return up.Fill(path, limited, a.uploadError)
	}
	return src, receive, nil
}

// uploadFile creates an empty temporary file for an upload and closes it:
// the run opens it to read and Fill to write, so no descriptor stays open
// if the request is refused before.
func (a *API) uploadFile() (string, error) {
	f, err := os.CreateTemp(a.cfg.TempDir, "upload-*.csv")
	if err != nil {
		return "", fmt.Errorf("create upload file: %w", err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(f.Name())
		return "", fmt.Errorf("create upload file: %w", err)
	}
	return f.Name(), nil
}

// uploadError is what a client is told of an upload that broke off.
func (a *API) uploadError(err error) error {
	if tooLarge := a.uploadTooLarge(err); tooLarge != nil {
		return tooLarge
	}
	if tooSlow := a.uploadTooSlow(err); tooSlow != nil {
		return tooSlow
	}
	return &httpserver.Error{Status: http.StatusBadRequest, Code: httpserver.CodeInvalidArgument,
		Message: "reading the upload failed", Cause: err}
}

// uploadTooLarge is the 413 for a body cut off at the upload limit, or
// nil for any other error.
func (a *API) uploadTooLarge(err error) error {
	var mbe *http.MaxBytesError
	if !errors.As(err, &mbe) {
		return nil
	}
	return httpserver.Errorf(http.StatusRequestEntityTooLarge, httpserver.CodeTooLarge,
		"upload is larger than the limit of %d bytes (TRAINER_MAX_UPLOAD_BYTES)", a.cfg.MaxUploadBytes)
}

func (a *API) spoolMultipart(c *gin.Context) (pipeline.Source, error) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, a.cfg.MaxUploadBytes+1<<20)
	mr, err := c.Request.MultipartReader()
	if err != nil {
		return pipeline.Source{}, badRequest("malformed multipart body: %v", err)
	}
	var src pipeline.Source
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			src.Release()
			if tooLarge := a.uploadTooLarge(err); tooLarge != nil {
				return pipeline.Source{}, tooLarge
			}
			return pipeline.Source{}, badRequest("malformed multipart body: %v", err)
		}
		name := part.FormName()
		if name != "file" {
			src.Release()
			return pipeline.Source{}, badRequest("unknown form field %s: send the CSV as a part named \"file\"; parameters go in the query string", quote(name))
		}
		if src.Path != "" {
			src.Release()
			return pipeline.Source{}, badRequest("more than one \"file\" part")
		}
		if src, err = a.spool(c, part); err != nil {
			return pipeline.Source{}, err
		}
	}
	if src.Path == "" {
		return pipeline.Source{}, badRequest("multipart body has no \"file\" part")
	}
	return src, nil
}
