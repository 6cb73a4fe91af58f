package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/services/predictor/internal/serving"
)

// Open Inference Protocol v2 (REST). Errors use the protocol's own shape,
// {"error": "message"}.

func oipError(c *gin.Context, status int, format string, args ...any) {
	c.AbortWithStatusJSON(status, gin.H{"error": fmt.Sprintf(format, args...)})
}

func (a *API) oipServer(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"name": "modelferry-predictor", "version": "v2", "extensions": []string{}})
}

func (a *API) oipLive(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"live": true}) }

func (a *API) oipReady(c *gin.Context) {
	ready := a.cfg.Models.Current() != nil && (a.cfg.Ready == nil || a.cfg.Ready())
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	c.JSON(status, gin.H{"ready": ready})
}

// oipModel resolves the {name} and optional {version} path parameters to
// the served model, answering 404 or 503 itself when it cannot.
func (a *API) oipModel(c *gin.Context) *serving.Model {
	name := c.Param("name")
	if name != a.cfg.Model {
		oipError(c, http.StatusNotFound, "model %q not found: this predictor serves %q", name, a.cfg.Model)
		return nil
	}
	m := a.cfg.Models.Current()
	if m == nil {
		oipError(c, http.StatusServiceUnavailable, "model %q is not loaded yet", name)
		return nil
	}
	if v := c.Param("version"); v != "" && v != m.Version {
		oipError(c, http.StatusNotFound, "version %q of model %q is not served: the loaded version is %q", v, name, m.Version)
		return nil
	}
	return m
}

type tensorMetadata struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

func (a *API) oipMetadata(c *gin.Context) {
	m := a.oipModel(c)
	if m == nil {
		return
	}
	f, k := int64(m.NumFeatures()), int64(m.NumClasses())
	c.JSON(http.StatusOK, gin.H{
		"name":     m.Name,
		"versions": []string{m.Version},
		"platform": "modelferry-logistic-regression",
		"inputs":   []tensorMetadata{{Name: "input", Datatype: "FP64", Shape: []int64{-1, f}}},
		"outputs": []tensorMetadata{
			{Name: "label", Datatype: "BYTES", Shape: []int64{-1}},
			{Name: "class_id", Datatype: "INT64", Shape: []int64{-1}},
			{Name: "probabilities", Datatype: "FP64", Shape: []int64{-1, k}},
		},
		"parameters": gin.H{"feature_names": m.Features, "class_names": m.Classes},
	})
}

func (a *API) oipModelReady(c *gin.Context) {
	m := a.oipModel(c)
	if m == nil {
		return
	}
	c.JSON(http.StatusOK, gin.H{"name": m.Name, "ready": true})
}

func (a *API) oipInfer(c *gin.Context) {
	m := a.oipModel(c)
	if m == nil {
		return
	}
	if ct := c.Request.Header.Get("Content-Type"); !jsonContentType(ct) {
		oipError(c, http.StatusUnsupportedMediaType, "content type %q is not supported: send Content-Type: application/json", ct)
		return
	}
	st := a.pool.Get().(*state)
	defer a.release(st)
	body, release, err := a.readBody(c, st.body)
	st.body = body
	defer release()
	if err != nil {
		var he *httpserver.Error
		if errors.As(err, &he) {
			oipError(c, he.Status, "%s", he.Message)
			return
		}
		oipError(c, http.StatusBadRequest, "reading the body failed")
		return
	}
	req, err := m.DecodeInfer(st.body, a.cfg.MaxBatch, &st.sc)
	if err == nil {
		st.grow(req.Rows, m.NumClasses())
		err = m.PredictRows(req.X, req.Rows, st.classes, st.p)
	}
	if err != nil {
		status := http.StatusBadRequest
		var ie *serving.InputError
		if errors.As(err, &ie) && ie.TooLarge {
			status = http.StatusRequestEntityTooLarge
		}
		oipError(c, status, "%v", err)
		return
	}
	st.out = m.AppendInfer(st.out[:0], req.ID, req.Outputs, req.Rows, st.classes, st.p)
	c.Writer.Header()["Content-Type"] = a.jsonCT
	c.Writer.WriteHeader(http.StatusOK)
	_, _ = c.Writer.Write(st.out)
}
