package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/services/trainer/internal/runfilter"
)

// Search is a run search: a filter and an order, parsed and checked by
// ParseSearch.
type Search struct {
	Filter  runfilter.Filter
	OrderBy []runfilter.OrderKey
	// params are Params' fields as a filter names them.
	params []paramField
}

// ParseSearch parses and type-checks a filter and order keys (each
// comma-separated keys) against what runs hold. Its errors are
// *runfilter.Error, saying where and what was expected.
func ParseSearch(filter string, orderBy []string) (Search, error) {
	s := Search{params: paramFields()}
	f, err := runfilter.Parse(filter)
	if err != nil {
		return Search{}, fmt.Errorf("filter %w", err)
	}
	schema := runSchema(paramNames(s.params))
	if err := f.Check(schema); err != nil {
		return Search{}, fmt.Errorf("filter %w", err)
	}
	s.Filter = f
	for _, o := range orderBy {
		keys, err := runfilter.ParseOrderBy(o)
		if err != nil {
			return Search{}, fmt.Errorf("order_by %w", err)
		}
		if err := runfilter.CheckOrder(keys, schema); err != nil {
			return Search{}, fmt.Errorf("order_by %w", err)
		}
		s.OrderBy = append(s.OrderBy, keys...)
	}
	return s, nil
}

// runSchema is what runs hold, for the filter's type checks. Metrics
// are a finished run's test-set scores and the solver's final objective;
// times are milliseconds since the epoch, as MLflow gives them.
func runSchema(params []string) runfilter.Schema {
	return runfilter.Schema{
		Metrics: []string{"accuracy", "log_loss", "macro_f1", "objective"},
		Params:  params,
		Attributes: map[string]runfilter.Kind{
			"run_id": runfilter.String, "run_name": runfilter.String, "status": runfilter.String,
			"model": runfilter.String, "version": runfilter.String, "dataset": runfilter.String,
			"filename": runfilter.String, "label": runfilter.String, "kind": runfilter.String,
			"version_number": runfilter.Number, "iterations": runfilter.Number, "rows": runfilter.Number,
			"created": runfilter.Number, "start_time": runfilter.Number, "end_time": runfilter.Number,
			"duration_seconds": runfilter.Number,
		},
	}
}

// paramField is a parameter as JSON names it and where Params has it.
type paramField struct {
	name  string
	index []int
	// omitEmpty: a zero value is a parameter not given, absent.
	omitEmpty bool
}

// paramFields lists Params' fields as JSON writes them, embedded structs
// flattened, so that a parameter added to Params is searchable with no
// more code.
func paramFields() []paramField {
	var out []paramField
	for _, f := range reflect.VisibleFields(reflect.TypeFor[Params]()) {
		tag := f.Tag.Get("json")
		if !f.IsExported() || tag == "-" || (f.Anonymous && tag == "") {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		out = append(out, paramField{name: name, index: f.Index, omitEmpty: strings.Contains(opts, "omitempty")})
	}
	return out
}

func paramNames(fields []paramField) []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.name
	}
	return out
}

// record is a run as a filter sees it.
type record struct {
	run    *Run
	params []paramField
}

func (r record) Value(f runfilter.Field) (runfilter.Value, bool) {
	run := r.run
	switch f.Entity {
	case runfilter.Metric:
		return r.metric(f.Key)
	case runfilter.Param:
		i := slices.IndexFunc(r.params, func(p paramField) bool { return p.name == f.Key })
		if i < 0 {
			return runfilter.Value{}, false
		}
		v := reflect.ValueOf(run.Params).FieldByIndex(r.params[i].index)
		if r.params[i].omitEmpty && v.IsZero() {
			return runfilter.Value{}, false
		}
		return runfilter.Value{Str: paramString(v)}, true
	case runfilter.Tag:
		v, ok := run.Tags[f.Key]
		return runfilter.Value{Str: v}, ok
	}
	switch f.Key {
	case "run_id":
		return str(run.ID)
	case "run_name":
		return str(run.Name)
	case "status":
		return str(string(run.Status))
	case "model":
		return str(run.Model)
	case "version":
		return str(run.Version)
	case "dataset":
		return str(run.Dataset.SHA256)
	case "filename":
		return str(run.Dataset.Filename)
	case "label":
		return str(run.Label)
	case "kind":
		return str(run.Kind)
	case "version_number":
		return num(float64(run.VersionNumber), run.VersionNumber > 0)
	case "iterations":
		return num(float64(run.Iterations), run.Iterations > 0)
	case "rows":
		return num(float64(run.Dataset.Rows), run.Dataset.Rows > 0)
	case "created":
		return millis(&run.CreatedAt)
	case "start_time":
		return millis(run.StartedAt)
	case "end_time":
		return millis(run.FinishedAt)
	case "duration_seconds":
		return num(run.DurationSeconds, run.FinishedAt != nil)
	}
	return runfilter.Value{}, false
}

func (r record) metric(key string) (runfilter.Value, bool) {
	if key == "objective" {
		if r.run.Objective == nil {
			return runfilter.Value{}, false
		}
		return num(*r.run.Objective, true)
	}
	m := r.run.Metrics
	if m == nil {
		return runfilter.Value{}, false
	}
	switch key {
	case "accuracy":
		return num(m.Accuracy, true)
	case "log_loss":
		return num(m.LogLoss, true)
	case "macro_f1":
		return num(m.MacroF1, true)
	}
	return runfilter.Value{}, false
}

// str is a string attribute; an empty one is absent.
func str(s string) (runfilter.Value, bool) { return runfilter.Value{Str: s}, s != "" }

func num(v float64, ok bool) (runfilter.Value, bool) { return runfilter.Value{Num: v, IsNum: true}, ok }

// millis is a time as MLflow gives it: milliseconds since the epoch.
func millis(t *time.Time) (runfilter.Value, bool) {
	if t == nil || t.IsZero() {
		return runfilter.Value{}, false
	}
	return num(float64(t.UnixMilli()), true)
}

// paramString is a parameter as a filter compares it: numbers in their
// shortest form (c = '1', tol = '0.0001'), booleans true or false, lists
// and objects as JSON (drop = '["id"]'), and what JSON writes as a
// string as that string (class_weight = 'balanced').
func paramString(v reflect.Value) string {
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return ""
	}
	var text string
	if json.Unmarshal(b, &text) == nil {
		return text // a value written as a JSON string, as class_weight "balanced"
	}
	return string(b)
}

// searchScanned bounds the runs one filtered page reads: as many as the
// cache holds, so a warm search reads no storage.
const searchScanned = cachedRuns

func (q RunQuery) scanBound() int {
	if q.Match != nil {
		return searchScanned
	}
	return maxScanned
}

// SearchRuns lists the runs that meet s, a page at a time: newest first
// (pages continue after a run id, as Runs does), or in s's order, ties
// newest first (pages continue at an offset, a number as the token).
func (r *Registry) SearchRuns(ctx context.Context, q RunQuery, s Search) (RunPage, error) {
	if len(s.Filter.Conds) > 0 {
		q.Match = s.Match
	}
	if len(s.OrderBy) == 0 {
		if q.Match == nil {
			q.Match = func(*Run) bool { return true }
		}
		return r.Runs(ctx, q)
	}
	offset := 0
	if q.PageToken != "" {
		n, err := strconv.Atoi(q.PageToken)
		if err != nil || n < 0 {
			return RunPage{}, fmt.Errorf("page token %q of an ordered search: %w", q.PageToken, modelstore.ErrInvalid)
		}
		offset = n
	}
	kept, err := r.sortedRuns(ctx, q, s)
	if err != nil {
		return RunPage{}, err
	}
	page := RunPage{Runs: []Run{}}
	if offset >= len(kept) {
		return page, nil
	}
	end := min(offset+q.Limit, len(kept))
	for _, run := range kept[offset:end] {
		page.Runs = append(page.Runs, *run)
	}
	if end < len(kept) {
		page.NextPageToken = strconv.Itoa(end)
	}
	return page, nil
}

// Searching reports whether s asks anything: a filter or an order.
func (s Search) Searching() bool { return len(s.Filter.Conds) > 0 || len(s.OrderBy) > 0 }

// Match reports whether run meets s's filter.
func (s Search) Match(run *Run) bool { return s.Filter.Match(record{run: run, params: s.params}) }

// Sort orders runs by s's order keys, ties newest first; with no keys
// it leaves them as they are.
func (s Search) Sort(runs []*Run) {
	if len(s.OrderBy) == 0 {
		return
	}
	recs := make([]record, len(runs))
	for i, r := range runs {
		recs[i] = record{run: r, params: s.params}
	}
	runfilter.Sort(s.OrderBy, recs, func(a, b record) int { return strings.Compare(b.run.ID, a.run.ID) })
	for i, r := range recs {
		runs[i] = r.run
	}
}

// sortedRuns reads every run that meets q's model and status and s's
// filter, and sorts them by s's order.
func (r *Registry) sortedRuns(ctx context.Context, q RunQuery, s Search) ([]*Run, error) {
	keys, err := r.store.ListRuns(ctx, q.Model)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	if len(keys) > searchScanned {
		return nil, fmt.Errorf("ordering %d runs, past the %d an ordered search reads: narrow it to one model: %w", len(keys), searchScanned, modelstore.ErrInvalid)
	}
	runs, err := r.readRuns(ctx, keys)
	if err != nil {
		return nil, err
	}
	kept := runs[:0]
	for _, run := range runs {
		if run != nil && (q.Status == "" || run.Status == q.Status) && (len(s.Filter.Conds) == 0 || s.Match(run)) {
			kept = append(kept, run)
		}
	}
	s.Sort(kept)
	return kept, nil
}
