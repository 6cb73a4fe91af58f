package console

import (
	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

type datasetsPage struct {
	layout
	Datasets []registry.DatasetView
}

func (c *Console) datasetsPage(ctx *gin.Context) {
	ds, err := c.cfg.Registry.Datasets(ctx)
	if err != nil {
		c.fail(ctx, "the datasets", err)
		return
	}
	c.render(ctx, 200, "datasets", datasetsPage{layout: c.layout("Datasets", "datasets"), Datasets: ds})
}
