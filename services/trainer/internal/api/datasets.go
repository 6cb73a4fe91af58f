package api

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/errcode"
	"github.com/modelferry/modelferry/pkg/httpserver"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

// Datasets lists the bucket's datasets with the runs that used them;
// *registry.Registry has it.
type Datasets interface {
	Datasets(ctx context.Context) ([]registry.DatasetView, error)
}

// DatasetFiles streams datasets; *modelstore.Store has it.
type DatasetFiles interface {
	OpenDataset(ctx context.Context, ref string) (io.ReadCloser, int64, error)
}

func (a *API) listDatasets(c *gin.Context) { list(a, c, "datasets", a.cfg.Datasets.Datasets) }

// getDataset streams a content-addressed dataset, its hash as the ETag.
func (a *API) getDataset(c *gin.Context) {
	sum := c.Param("sha256")
	if !modelstore.ValidSHA256(sum) {
		a.fail(c, httpserver.Errorf(http.StatusNotFound, errcode.NotFound, "dataset %q not found: name it by its sha256", sum))
		return
	}
	r, size, err := a.cfg.DatasetFiles.OpenDataset(c, "datasets/"+sum+".csv")
	if err != nil {
		a.fail(c, storeError(err, "dataset "+sum))
		return
	}
	defer r.Close()
	etag := `"` + sum + `"`
	c.Header("ETag", etag)
	if etagMatches(c.GetHeader("If-None-Match"), etag) {
		c.Status(http.StatusNotModified)
		return
	}
	// A large dataset takes longer than the server's write limit.
	if err := http.NewResponseController(c.Writer).SetWriteDeadline(time.Time{}); err != nil {
		a.log.Debug("lifting the write deadline", "err", err)
	}
	c.Header("Content-Disposition", `attachment; filename="`+sum+`.csv"`)
	c.Header("Content-Length", strconv.FormatInt(size, 10))
	c.Header("Content-Type", "text/csv")
	c.Status(http.StatusOK)
	if _, err := io.Copy(c.Writer, r); err != nil {
		a.log.Warn("sending a dataset", "dataset", sum, "err", err)
	}
}
