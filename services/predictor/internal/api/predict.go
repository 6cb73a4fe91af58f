package api

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/errcode"
	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/pkg/modelstore/names"
	"github.com/modelferry/modelferry/pkg/serving"
	"github.com/modelferry/modelferry/services/predictor/internal/catalog"
	"github.com/modelferry/modelferry/services/predictor/internal/usage"
)

// POST /predict?model=NAME (the default model without one) and KServe V1
// POST /v1/models/{name}:predict.

func (a *API) predict(c *gin.Context) {
	name, err := queryModel(c.Request.URL.RawQuery)
	if err != nil {
		a.fail(c, httpserver.Errorf(http.StatusBadRequest, errcode.InvalidArgument, "%s", err))
		return
	}
	m, err := a.cfg.Models.Lookup(name)
	if err != nil {
		a.countLookup(name, usage.Predict, err)
		a.fail(c, lookupError(err))
		return
	}
	out, req, st, err := a.answerPredict(c, m, false)
	defer a.release(st)
	if err != nil {
		a.cfg.Counters.Failure(m.Name, usage.Predict, errorCode(err))
		a.fail(c, err)
		return
	}
	a.cfg.Counters.Success(m.Name, usage.Predict, req.Rows)
	a.cfg.Tap.Answered(m.Name, m.Version, m, req.X[:req.Rows*m.NumFeatures()], m.NumFeatures(), m.NumClasses(), st.body, out)
}

// v1Predict is KServe V1: {"instances": [...]} answers
// {"predictions": [...]}, errors {"error": "..."}.
func (a *API) v1Predict(c *gin.Context) {
	name, verb, _ := strings.Cut(c.Param("nameverb"), ":")
	if verb != "predict" {
		oipError(c, http.StatusNotFound, "no route %s %s: KServe V1 has POST /v1/models/{name}:predict", c.Request.Method, names.Quote(c.Request.URL.Path))
		return
	}
	m, err := a.cfg.Models.Lookup(name)
	if err != nil {
		a.countLookup(name, usage.KServeV1, err)
		he := lookupError(err)
		oipError(c, he.Status, "%s", he.Message)
		return
	}
	_, req, st, err := a.answerPredict(c, m, true)
	defer a.release(st)
	if err != nil {
		a.cfg.Counters.Failure(m.Name, usage.KServeV1, errorCode(err))
		var he *httpserver.Error
		if errors.As(err, &he) {
			oipError(c, he.Status, "%s", he.Message)
			return
		}
		oipError(c, http.StatusInternalServerError, "internal error")
		return
	}
	a.cfg.Counters.Success(m.Name, usage.KServeV1, req.Rows)
}

// answerPredict reads, predicts and writes a /predict body for m; v1
// wants a batch and answers without the model. On error nothing is
// written. st, nil when the body was not read, goes back to the pool with
// a.release once the answer is no longer needed.
func (a *API) answerPredict(c *gin.Context, m *serving.Model, v1 bool) (out []byte, req serving.Request, st *state, err error) {
	if ct := c.Request.Header.Get("Content-Type"); !jsonContentType(ct) {
		return nil, req, nil, unsupported(ct)
	}
	st, done, rerr := a.readState(c)
	defer done()
	if rerr != nil {
		return nil, req, st, rerr
	}
	form := serving.PredictForm
	if v1 {
		form = serving.KServeV1Form
	}
	if cap(st.p) < m.NumClasses() {
		st.p = make([]float64, m.NumClasses())
	}
	out, req, err = m.Answer(st.out[:0], st.body, form, a.cfg.MaxBatch, &st.sc, st.p[:m.NumClasses()])
	st.out = out
	if err != nil {
		return nil, req, st, inputError(err)
	}
	// Written directly: gin's c.Data allocates the header value each time.
	c.Writer.Header()["Content-Type"] = a.jsonCT
	c.Writer.WriteHeader(http.StatusOK)
	_, _ = c.Writer.Write(out)
	return out, req, st, nil
}

// readState takes per-request memory from the pool and reads the body
// into it (readBody). done gives the body's in-flight budget back once the
// answer is written; a.release(st) the memory once it is not needed.
func (a *API) readState(c *gin.Context) (st *state, done func(), err *httpserver.Error) {
	st = a.pool.Get().(*state)
	st.body, done, err = a.readBody(c, st.body)
	return st, done, err
}

func (a *API) release(st *state) {
	if st == nil {
		return
	}
	if cap(st.body) <= maxPooled && cap(st.out) <= maxPooled && cap(st.sc.X) <= maxPooled/8 &&
		cap(st.ans.P) <= maxPooled/8 && cap(st.ans.Classes) <= maxPooled/8 {
		a.pool.Put(st)
	}
}

// queryModel reads ?model= without allocating in the usual case: a plain
// name, or no query at all.
func queryModel(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	if !strings.ContainsAny(raw, "%+;") {
		for part := range strings.SplitSeq(raw, "&") {
			if v, ok := strings.CutPrefix(part, "model="); ok {
				return v, nil
			}
		}
		return "", nil
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return "", errors.New("malformed query string")
	}
	return q.Get("model"), nil
}

// countLookup counts a request to a served model that is not loaded.
func (a *API) countLookup(name string, p usage.Protocol, err error) {
	if errors.Is(err, catalog.ErrNotLoaded) {
		if name == "" {
			name = a.cfg.Models.Default()
		}
		a.cfg.Counters.Failure(name, p, errcode.Unavailable)
	}
}

// errorCode is the code of an error answer, as a failure reason.
func errorCode(err error) string {
	var he *httpserver.Error
	if errors.As(err, &he) {
		return he.Code
	}
	return errcode.Internal
}

// inputError is the answer to a request the model cannot read: 400, or
// 413 for too many rows.
func inputError(err error) *httpserver.Error {
	var ie *serving.InputError
	if !errors.As(err, &ie) {
		return &httpserver.Error{Status: http.StatusInternalServerError, Code: errcode.Internal, Message: "internal error", Cause: err}
	}
	status, code := ie.Status()
	return httpserver.Errorf(status, code, "%s", ie.Error())
}
