package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/errcode"
	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/services/trainer/internal/serving"
)

// Serving reads a model's serving figures from Prometheus;
// *serving.Client has it.
type Serving interface {
	Figures(ctx context.Context, model string, r serving.Range) serving.Figures
}

// NoPrometheus is what the serving figures say without
// TRAINER_PROMETHEUS_URL.
const NoPrometheus = "serving figures are read from Prometheus: set TRAINER_PROMETHEUS_URL to the Prometheus that scrapes the predictors (e.g. http://localhost:9090)"

// getServing answers GET /models/{m}/serving?range=: what the predictors
// did with the model over the range, panel by panel. A panel Prometheus
// could not answer carries an error and the others stand, so the answer
// is 200 even when Prometheus is down.
func (a *API) getServing(c *gin.Context) {
	model := modelOf(c)
	r, err := serving.ParseRange(c.Query("range"))
	if err != nil {
		a.fail(c, badRequest("%v", err))
		return
	}
	if a.cfg.Serving == nil {
		a.fail(c, httpserver.Errorf(http.StatusServiceUnavailable, errcode.Unavailable, NoPrometheus))
		return
	}
	if _, err := a.cfg.Registry.Model(c, model); err != nil {
		a.fail(c, storeError(err, "model "+model))
		return
	}
	c.JSON(http.StatusOK, a.cfg.Serving.Figures(c, model, r))
}
