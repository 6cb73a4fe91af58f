package api

import (
	"errors"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
	"github.com/modelferry/modelferry/services/trainer/internal/runfilter"
)

// parseSearch reads GET /runs' filter and order_by (repeatable, each
// comma-separated keys); searching is false when neither is given. A
// filter that does not parse is a 400 saying where and what was
// expected.
func parseSearch(c *gin.Context) (registry.Search, bool, error) {
	filter, orderBy := c.Query("filter"), c.QueryArray("order_by")
	if filter == "" && len(orderBy) == 0 {
		return registry.Search{}, false, nil
	}
	s, err := registry.ParseSearch(filter, orderBy)
	var fe *runfilter.Error
	if errors.As(err, &fe) {
		return registry.Search{}, false, badRequest("%s (the syntax is MLflow's: metrics.accuracy > 0.9 and params.c = '1' and tags.team = 'fraud'; order_by=metrics.accuracy DESC)", err)
	}
	if err != nil {
		return registry.Search{}, false, err
	}
	return s, true, nil
}

// validPageToken reports whether a page token is one GET /runs gives
// out: a run id, or an offset into an ordered search.
func validPageToken(token string, s registry.Search) bool {
	if len(s.OrderBy) > 0 {
		n, err := strconv.Atoi(token)
		return err == nil && n >= 0
	}
	return modelstore.ValidVersion(token)
}
