package api

import (
	"encoding/csv"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/pkg/modelstore/names"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
	"github.com/modelferry/modelferry/services/trainer/internal/runfilter"
)

// exportRuns streams GET /runs.csv: every run that meets the search, one
// row each, in the columns asked for (identifiers as the filter names
// them). Rows go out as they are read; the header first.
func (a *API) exportRuns(c *gin.Context) {
	q := registry.RunQuery{Model: c.Query("model"), Status: registry.Status(c.Query("status"))}
	if q.Model != "" && !modelstore.ValidName(q.Model) {
		a.fail(c, badRequest("model name %s %s", quote(q.Model), names.Rule))
		return
	}
	if q.Status != "" && !q.Status.Valid() {
		a.fail(c, badRequest("status %s is not one of queued, running, succeeded, failed, cancelled", quote(string(q.Status))))
		return
	}
	search, _, err := parseSearch(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	columns, err := registry.ParseColumns(c.QueryArray("columns"))
	var fe *runfilter.Error
	if errors.As(err, &fe) {
		a.fail(c, badRequest("%s (columns are identifiers as the filter names them, comma-separated: attributes.run_id, metrics.accuracy, params.c, tags.team)", err))
		return
	}
	header := make([]string, len(columns))
	for i, f := range columns {
		header[i] = f.String()
	}
	started := false
	w := csv.NewWriter(c.Writer)
	row := 0
	err = a.cfg.Registry.EachRun(c, q, search, func(run *registry.Run) error {
		if !started {
			started = true
			c.Header("Content-Type", "text/csv; charset=utf-8")
			c.Header("Content-Disposition", `attachment; filename="runs.csv"`)
			c.Status(http.StatusOK)
			if err := w.Write(header); err != nil {
				return err
			}
		}
		if err := w.Write(safeCells(search.Cells(run, columns), columns)); err != nil {
			return err
		}
		if row++; row%200 == 0 {
			w.Flush()
		}
		return w.Error()
	})
	switch {
	case err != nil && !started:
		a.fail(c, storeError(err, "runs"))
		return
	case err != nil:
		// The header is out: the client sees a short file.
		a.log.Warn("exporting runs broke off", "rows", row, "err", err)
		return
	case !started:
		c.Header("Content-Type", "text/csv; charset=utf-8")
		c.Header("Content-Disposition", `attachment; filename="runs.csv"`)
		c.Status(http.StatusOK)
		_ = w.Write(header)
	}
	w.Flush()
}

// safeCells keeps a spreadsheet from reading text as a formula: a string
// cell (a name, a tag, a param) starting with =, +, -, @, a tab or a
// carriage return gets a leading ' (OWASP's advice for CSV export).
// Numbers stay as they are.
func safeCells(cells []string, columns []runfilter.Field) []string {
	for i, v := range cells {
		if columns[i].Entity == runfilter.Metric || v == "" || !strings.ContainsRune("=+-@\t\r", rune(v[0])) {
			continue
		}
		if _, err := strconv.ParseFloat(v, 64); err == nil && columns[i].Entity == runfilter.Attribute {
			continue // a number attribute
		}
		cells[i] = "'" + v
	}
	return cells
}
