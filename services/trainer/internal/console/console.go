// Package console is the trainer's web console at /ui/: models, versions,
// runs, comparisons and datasets, for the people who train and promote.
// Pages are rendered on the server with html/template from files embedded
// in the binary, charts are SVG written in Go, and the little JavaScript
// there is (promote and roll back, live progress) is hand-written and
// served from the binary too: the console works offline and reads with
// JavaScript off.
package console

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/artifact/artifactpb"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

// Registry is what the console reads; *registry.Registry has it.
type Registry interface {
	AllRuns(ctx context.Context) ([]registry.Run, error)
	Run(ctx context.Context, id string) (registry.Run, error)
	Models(ctx context.Context) ([]registry.ModelSummary, error)
	Model(ctx context.Context, name string) (registry.ModelView, error)
	Version(ctx context.Context, model, version string) (registry.VersionView, error)
	ReadModel(ctx context.Context, model, version string) (*artifactpb.Model, []byte, error)
	Datasets(ctx context.Context) ([]registry.DatasetView, error)
	ResolveVersion(ctx context.Context, model, v string) (string, error)
}

// Config configures the console.
type Config struct {
	Registry Registry
	Logger   *slog.Logger
	// TrainerVersion is shown in the footer.
	TrainerVersion string
	// Serving reads the serving pages' figures; nil without Prometheus.
	Serving Serving
	// Tokens are those the pages' auth accepts: the sign-in form keeps
	// only one of them in its cookie.
	Tokens []string
}

// Console serves the pages.
type Console struct {
	cfg   Config
	pages map[string]*template.Template
	// signedIn: pages are behind a token, and offer to sign out.
	signedIn bool
}

//go:embed templates static
var files embed.FS

// pageNames are the templates under templates/, one per page.
var pageNames = []string{"models", "model", "version", "runs", "run", "compare", "datasets", "error", "signin", "serving"}

// New parses the templates.
func New(cfg Config) *Console {
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/parts.html"))
	c := &Console{cfg: cfg, pages: map[string]*template.Template{}}
	for _, name := range pageNames {
		c.pages[name] = template.Must(template.Must(base.Clone()).ParseFS(files, "templates/"+name+".html"))
	}
	return c
}

// Register serves the console under /ui/ and redirects / there. auth,
// when set, guards every page (the read token): a browser without the
// token is sent to a sign-in page that keeps it in a cookie (see
// TokenFromCookie). The stylesheet and script hold no data and stay open.
func (c *Console) Register(e *gin.Engine, auth gin.HandlerFunc) {
	e.GET("/", func(ctx *gin.Context) { ctx.Redirect(http.StatusFound, "/ui/") })
	static, _ := fs.Sub(files, "static")
	e.GET("/ui/static/*file", func(ctx *gin.Context) {
		ctx.Header("Cache-Control", "public, max-age=3600")
		ctx.FileFromFS(ctx.Param("file"), http.FS(static))
	})
	ui := e.Group("/ui")
	if auth != nil {
		c.signedIn = true
		e.GET("/ui/signin", c.signinPage)
		e.POST("/ui/signin", c.signin)
		e.POST("/ui/signout", c.signout)
		ui.Use(TokenFromCookie, guard(auth))
	}
	ui.GET("/", c.modelsPage)
	ui.GET("/models/:model", c.modelPage)
	ui.GET("/models/:model/versions/:version", c.versionPage)
	ui.GET("/models/:model/serving", c.servingPage)
	ui.GET("/runs", c.runsPage)
	ui.GET("/runs/:id", c.runPage)
	ui.GET("/compare", c.comparePage)
	ui.GET("/datasets", c.datasetsPage)
}

// layout is what every page shows around its content.
type layout struct {
	Title string
	// Nav is the menu entry of the page: models, runs or datasets.
	Nav            string
	TrainerVersion string
	// SignOut offers to forget the token.
	SignOut bool
}

// render writes a page whole, or an error page if it fails to render.
func (c *Console) render(ctx *gin.Context, status int, name string, data any) {
	var b bytes.Buffer
	if err := c.pages[name].ExecuteTemplate(&b, "layout.html", data); err != nil {
		c.cfg.Logger.Error("rendering a console page", "page", name, "err", err)
		ctx.String(http.StatusInternalServerError, "internal error")
		return
	}
	ctx.Header("Cache-Control", "no-store")
	ctx.Data(status, "text/html; charset=utf-8", b.Bytes())
}

func (c *Console) layout(title, nav string) layout {
	return layout{Title: title, Nav: nav, TrainerVersion: c.cfg.TrainerVersion, SignOut: c.signedIn}
}

// errorPage is the data of templates/error.html.
type errorPage struct {
	layout
	Status  int
	Message string
}

// fail shows err as a page: what is missing or broken, never internals.
func (c *Console) fail(ctx *gin.Context, what string, err error) {
	status, msg := http.StatusInternalServerError, "Something went wrong reading "+what+"; the trainer's log says what."
	switch {
	case errors.Is(err, modelstore.ErrNotFound):
		status, msg = http.StatusNotFound, what+" was not found."
	case errors.Is(err, modelstore.ErrInvalid):
		status, msg = http.StatusBadRequest, what+" is not a valid name."
	case errors.Is(err, modelstore.ErrIntegrity):
		status, msg = http.StatusConflict, what+" failed its integrity check (sha256 or structure): its artifact is corrupt. Do not promote it."
	case errors.Is(err, modelstore.ErrUnavailable), errors.Is(err, modelstore.ErrAccessDenied), errors.Is(err, context.DeadlineExceeded):
		status, msg = http.StatusServiceUnavailable, "Model storage is unavailable; try again in a moment."
	default:
		c.cfg.Logger.Error("console page failed", "path", ctx.Request.URL.Path, "err", err)
	}
	c.render(ctx, status, "error", errorPage{layout: c.layout("Error", ""), Status: status, Message: msg})
}

// badRequest shows a page about a request the console cannot answer.
func (c *Console) badRequest(ctx *gin.Context, msg string) {
	c.render(ctx, http.StatusBadRequest, "error", errorPage{layout: c.layout("Error", ""), Status: http.StatusBadRequest, Message: msg})
}
