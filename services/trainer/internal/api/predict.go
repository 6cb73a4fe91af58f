package api

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/errcode"
	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/pkg/serving"
)

// Limits of POST /models/{m}/versions/{v}/predict: the predictor's
// defaults (PREDICTOR_MAX_BODY_BYTES, PREDICTOR_MAX_BATCH).
const (
	maxPredictBody  = 8 << 20
	maxPredictBatch = 10_000
	// compiledKept bounds the compiled versions kept for predictions.
	compiledKept = 16
)

// compiledCache keeps recently used versions loaded: versions never
// change, so an entry never goes stale.
type compiledCache struct {
	mu sync.Mutex
	m  map[string]*serving.Model
}

func (cc *compiledCache) get(key string) *serving.Model {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.m[key]
}

func (cc *compiledCache) put(key string, m *serving.Model) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.m == nil {
		cc.m = map[string]*serving.Model{}
	}
	if len(cc.m) >= compiledKept {
		for k := range cc.m { // any one: they are equally cheap to rebuild
			delete(cc.m, k)
			break
		}
	}
	cc.m[key] = m
}

// predict answers as the predictor's POST /predict does, from any
// published version: the trainer's try-it before a promotion. It reads and
// answers with the predictor's code (pkg/serving): the same bytes.
func (a *API) predict(c *gin.Context) {
	model := modelOf(c)
	version, err := a.versionParam(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	if ct := c.GetHeader("Content-Type"); !isJSON(ct) {
		a.fail(c, httpserver.Errorf(http.StatusUnsupportedMediaType, errcode.UnsupportedMediaType,
			"content type %q is not supported: send Content-Type: application/json", ct))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxPredictBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		a.fail(c, httpserver.Errorf(http.StatusRequestEntityTooLarge, errcode.TooLarge, "body is larger than %d bytes", maxPredictBody))
		return
	}
	if err != nil {
		a.fail(c, badRequest("reading the body failed"))
		return
	}
	m, err := a.compiled(c, model, version)
	if err != nil {
		a.fail(c, storeError(err, "version "+version+" of model "+model))
		return
	}
	var sc serving.Scratch
	out, _, err := m.Answer(nil, body, serving.PredictForm, maxPredictBatch, &sc, make([]float64, m.NumClasses()))
	if err != nil {
		var ie *serving.InputError
		if !errors.As(err, &ie) {
			a.fail(c, err)
			return
		}
		status, code := ie.Status()
		a.fail(c, httpserver.Errorf(status, code, "%s", ie.Error()))
		return
	}
	c.Data(http.StatusOK, "application/json", out)
}

func isJSON(ct string) bool {
	if ct == "" {
		return true // read as JSON, as curl -d sends no type
	}
	mt, _, _ := strings.Cut(ct, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/json")
}

func (a *API) compiled(c *gin.Context, model, version string) (*serving.Model, error) {
	key := model + "/" + version
	if m := a.models.get(key); m != nil {
		return m, nil
	}
	pb, b, err := a.cfg.Artifacts.ReadModel(c, model, version)
	if err != nil {
		return nil, err
	}
	// No metrics: the trainer's try-it is not the predictor's traffic.
	m, err := serving.New(pb, modelstore.SHA256(b), nil, time.Now())
	if err != nil {
		return nil, err
	}
	a.models.put(key, m)
	return m, nil
}
