package console

import (
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/modelferry/modelferry/pkg/artifact"
	"github.com/modelferry/modelferry/pkg/artifact/artifactpb"
	"github.com/modelferry/modelferry/pkg/evaluation"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/pkg/serving"
	"github.com/modelferry/modelferry/services/trainer/internal/registry"
)

type versionPage struct {
	layout
	View     registry.VersionView
	Features []string
	Classes  []string
	// Scaler is the standardization folded into the weights, nil when
	// the model reads raw values.
	Scaler       *artifactpb.Scaler
	Coefficients template.HTML
	Intercepts   []labelled
	Confusion    template.HTML
	Try          tryIt
	// Dense names the features the scaler applies to: Features, or for a
	// tabular model its numeric columns and indicators.
	Dense []string
	// Schema is the column transform of a table trained as it came.
	Schema *registry.Schema
}

type labelled struct {
	Label string
	Value float64
}

// tryIt is the try-it form: the values entered and, once they all parse,
// the version's probabilities for them.
type tryIt struct {
	Inputs []tryInput
	Error  string
	Result []classProb
	Label  string
}

type tryInput struct {
	Feature string
	Value   string
	// Options are a categorical column's categories: the form offers a
	// select.
	Options []string
}

type classProb struct {
	Class string
	P     float64
	Top   bool
}

func (c *Console) versionPage(ctx *gin.Context) {
	model, version := ctx.Param("model"), ctx.Param("version")
	_, isNumber := modelstore.ParseNumber(version)
	if !modelstore.ValidName(model) || !isNumber && !modelstore.ValidVersion(version) {
		c.badRequest(ctx, "Versions look like 20261126T221500Z-1a2b3c4d or 7, models like iris.")
		return
	}
	what := "Version " + version + " of " + model
	if isNumber {
		id, err := c.cfg.Registry.ResolveVersion(ctx, model, version)
		if err != nil {
			c.fail(ctx, what, err)
			return
		}
		// One address per version: the number's page is the id's.
		ctx.Redirect(http.StatusFound, "/ui/models/"+model+"/versions/"+id)
		return
	}
	view, err := c.cfg.Registry.Version(ctx, model, version)
	if err != nil {
		c.fail(ctx, what, err)
		return
	}
	m, _, err := c.cfg.Registry.ReadModel(ctx, model, version)
	if err != nil {
		c.fail(ctx, what, err)
		return
	}
	page := versionPage{layout: c.layout(model+" "+version, "models"), View: view,
		Features: m.FeatureNames, Classes: m.ClassNames, Scaler: m.Scaler, Dense: m.FeatureNames, Schema: view.Record.Schema}
	if m.Tabular != nil {
		page.Dense = coefficientCols(m)[:len(m.GetScaler().GetMean())]
	}
	rows := coefficientRows(m)
	page.Coefficients = coefficientMap(m, rows)
	for k, b := range m.Linear.Intercepts {
		page.Intercepts = append(page.Intercepts, labelled{rows[k], b})
	}
	if rep := view.Record.Metrics; rep != nil {
		page.Confusion = confusionMap("Confusion matrix", rep, m.ClassNames)
	}
	page.Try = c.tryIt(ctx, m)
	c.render(ctx, 200, "version", page)
}

// coefficientRows names the rows of the weight matrix: one per class, or
// one for a binomial model, whose weights favour the second class.
func coefficientRows(m *artifactpb.Model) []string {
	if int(m.Linear.Rows) == len(m.ClassNames) {
		return m.ClassNames
	}
	return []string{fmt.Sprintf("%s (vs %s)", m.ClassNames[1], m.ClassNames[0])}
}

// coefficientMap draws the weights, classes × features, on a diverging
// scale symmetric around zero.
func coefficientMap(m *artifactpb.Model, rows []string) template.HTML {
	cols := int(m.Linear.Cols)
	names := coefficientCols(m)
	w := m.Linear.Coefficients
	top := 0.0
	for _, v := range w {
		top = math.Max(top, math.Abs(v))
	}
	if top == 0 {
		top = 1
	}
	unit := "per raw unit of each feature"
	if m.Scaler != nil {
		unit = "per standard deviation of each feature"
	}
	return heatmap{
		title: "Coefficients (" + unit + ")", rowLabel: "class", colLabel: "feature",
		rows: rows, cols: names,
		color: func(i, j int) rgb { return diverging(w[i*cols+j] / top) },
		text: func(i, j int) string {
			if cols > 12 {
				return ""
			}
			return strconv.FormatFloat(w[i*cols+j], 'f', 2, 64)
		},
		tip: func(i, j int) string {
			return fmt.Sprintf("%s, %s: %s", rows[i], names[j], num(w[i*cols+j]))
		},
		legend: legend{ramp: func(t float64) rgb { return diverging(2*t - 1) }, lo: "-" + num(round3(top)), mid: "0", hi: "+" + num(round3(top)),
			caption: "negative ← weight → positive"},
	}.svg()
}

// coefficientCols names the columns of the weight matrix: the features,
// or for a tabular model its numeric columns, their missing indicators,
// then one column per category of each categorical column
// ("color=red"), grouped by source column.
func coefficientCols(m *artifactpb.Model) []string {
	tb := m.GetTabular()
	if tb == nil {
		return m.FeatureNames
	}
	var dense, ind, cats []string
	for _, c := range tb.Columns {
		if c.Type != "categorical" {
			dense = append(dense, c.Name)
			if c.Indicator {
				ind = append(ind, c.Name+" missing")
			}
			continue
		}
		for _, v := range c.Categories {
			cats = append(cats, c.Name+"="+v)
		}
		if len(c.Infrequent) > 0 {
			cats = append(cats, c.Name+"=infrequent")
		}
	}
	return append(append(dense, ind...), cats...)
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// confusionMap draws a confusion matrix: counts in the cells, coloured by
// the share of the true class's rows (the row's recall), so a small class
// reads as clearly as a large one.
func confusionMap(title string, rep *evaluation.Report, classes []string) template.HTML {
	cm := rep.ConfusionMatrix
	share := func(i, j int) float64 {
		total := 0
		for _, n := range cm[i] {
			total += n
		}
		if total == 0 {
			return 0
		}
		return float64(cm[i][j]) / float64(total)
	}
	return heatmap{
		title: title, rowLabel: "true class", colLabel: "predicted class", rows: classes, cols: classes,
		color: func(i, j int) rgb { return sequential(share(i, j)) },
		text:  func(i, j int) string { return strconv.Itoa(cm[i][j]) },
		tip: func(i, j int) string {
			return fmt.Sprintf("%d rows of %s predicted %s (%s of the class)", cm[i][j], classes[i], classes[j], pct(share(i, j)))
		},
		legend: legend{ramp: sequential, lo: "0%", hi: "100%", caption: "share of the true class's rows"},
	}.svg()
}

// tryIt reads the form's values (x, one per feature in order) and
// predicts when they all parse; the first visit fills in the training
// means when the model has them.
func (c *Console) tryIt(ctx *gin.Context, m *artifactpb.Model) tryIt {
	if m.Tabular != nil {
		return tryRecord(ctx.QueryArray("x"), m)
	}
	values := ctx.QueryArray("x")
	var t tryIt
	for i, f := range m.FeatureNames {
		in := tryInput{Feature: f}
		switch {
		case i < len(values):
			in.Value = values[i]
		case len(values) == 0 && m.Scaler != nil && i < len(m.Scaler.Mean):
			in.Value = strconv.FormatFloat(round3(m.Scaler.Mean[i]), 'f', -1, 64)
		}
		t.Inputs = append(t.Inputs, in)
	}
	if len(values) == 0 {
		return t
	}
	x := make([]float64, len(m.FeatureNames))
	for i, in := range t.Inputs {
		v, err := strconv.ParseFloat(in.Value, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			t.Error = fmt.Sprintf("%s: %q is not a number", in.Feature, in.Value)
			return t
		}
		x[i] = v
	}
	compiled, err := artifact.Compile(m)
	if err != nil {
		t.Error = "the artifact does not compile"
		return t
	}
	p := make([]float64, len(m.ClassNames))
	k := compiled.PredictProba(x, p)
	if math.IsNaN(p[k]) {
		t.Error = "values too large for the model: the class scores overflow"
		return t
	}
	t.Label = m.ClassNames[k]
	for i, cl := range m.ClassNames {
		t.Result = append(t.Result, classProb{Class: cl, P: p[i], Top: i == k})
	}
	return t
}

// tryRecord is the try-it of a tabular model: a select per categorical
// column, a number or nothing (missing) per numeric one; the record goes
// through the predictor's own decoding (pkg/serving).
func tryRecord(values []string, m *artifactpb.Model) tryIt {
	var t tryIt
	record := map[string]any{}
	for i, col := range m.Tabular.Columns {
		in := tryInput{Feature: col.Name}
		if col.Type == "categorical" {
			in.Options = col.Categories
		}
		switch {
		case i < len(values):
			in.Value = values[i]
		case len(values) == 0 && col.Type == "categorical" && len(col.Categories) > 0:
			in.Value = col.Categories[0]
		case len(values) == 0:
			in.Value = strconv.FormatFloat(round3(col.Impute), 'f', -1, 64)
		}
		t.Inputs = append(t.Inputs, in)
		switch {
		case in.Value == "":
			record[col.Name] = nil
		case col.Type == "categorical":
			record[col.Name] = in.Value
		default:
			v, err := strconv.ParseFloat(in.Value, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				t.Error = fmt.Sprintf("%s: %q is not a number (leave it empty for a missing value)", col.Name, in.Value)
				return t
			}
			record[col.Name] = v
		}
	}
	if len(values) == 0 {
		return t
	}
	sm, err := serving.New(m, "", nil, time.Now())
	if err != nil {
		t.Error = "the artifact does not compile"
		return t
	}
	body, err := json.Marshal(record)
	if err != nil {
		t.Error = "the record does not encode"
		return t
	}
	var sc serving.Scratch
	req, err := sm.DecodePredict(body, 1, &sc)
	p := make([]float64, len(m.ClassNames))
	k := 0
	if err == nil {
		k, err = sm.Score(req.X, p)
	}
	if err != nil {
		t.Error = err.Error()
		return t
	}
	t.Label = m.ClassNames[k]
	for i, cl := range m.ClassNames {
		t.Result = append(t.Result, classProb{Class: cl, P: p[i], Top: i == k})
	}
	return t
}
