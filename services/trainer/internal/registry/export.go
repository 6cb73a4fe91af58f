package registry

import (
	"context"
	"fmt"
	"strconv"

	"github.com/modelferry/modelferry/services/trainer/internal/runfilter"
)

// DefaultColumns are an export's columns when none are asked for.
const DefaultColumns = "attributes.run_id, attributes.run_name, attributes.model, attributes.status, attributes.created, " +
	"attributes.duration_seconds, metrics.accuracy, metrics.log_loss, metrics.macro_f1, params.c, attributes.version"

// ParseColumns parses and checks an export's columns (each
// comma-separated identifiers); none means DefaultColumns.
func ParseColumns(columns []string) ([]runfilter.Field, error) {
	if len(columns) == 0 {
		columns = []string{DefaultColumns}
	}
	schema := runSchema(paramNames(paramFields()))
	var out []runfilter.Field
	for _, c := range columns {
		fields, err := runfilter.ParseFields(c)
		if err != nil {
			return nil, fmt.Errorf("columns %w", err)
		}
		if err := runfilter.CheckOrder(keysOf(fields), schema); err != nil {
			return nil, fmt.Errorf("columns %w", err)
		}
		out = append(out, fields...)
	}
	return out, nil
}

func keysOf(fields []runfilter.Field) []runfilter.OrderKey {
	out := make([]runfilter.OrderKey, len(fields))
	for i, f := range fields {
		out[i].Field = f
	}
	return out
}

// Cells are run's values of columns as text: numbers in their shortest
// form, times in milliseconds since the epoch, a value the run does not
// have empty.
func (s Search) Cells(run *Run, columns []runfilter.Field) []string {
	rec := record{run: run, params: s.params}
	if rec.params == nil {
		rec.params = paramFields()
	}
	out := make([]string, len(columns))
	for i, c := range columns {
		v, ok := rec.Value(c)
		switch {
		case !ok:
		case v.IsNum:
			out[i] = strconv.FormatFloat(v.Num, 'g', -1, 64)
		default:
			out[i] = v.Str
		}
	}
	return out
}

// exportChunk is how many runs an export reads at a time.
const exportChunk = 500

// EachRun calls yield with every run that meets s (and q's model and
// status), newest first, or in s's order; it reads the runs a chunk at a
// time, so an export streams as it reads. q's limit and page token are
// not used. yield's error stops it.
func (r *Registry) EachRun(ctx context.Context, q RunQuery, s Search, yield func(*Run) error) error {
	if len(s.OrderBy) == 0 {
		keys, err := r.store.ListRuns(ctx, q.Model)
		if err != nil {
			return fmt.Errorf("list runs: %w", err)
		}
		for len(keys) > 0 {
			chunk := keys[:min(exportChunk, len(keys))]
			keys = keys[len(chunk):]
			runs, err := r.readRuns(ctx, chunk)
			if err != nil {
				return err
			}
			for _, run := range runs {
				if run != nil && (q.Status == "" || run.Status == q.Status) && (len(s.Filter.Conds) == 0 || s.Match(run)) {
					if err := yield(run); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	kept, err := r.sortedRuns(ctx, q, s)
	if err != nil {
		return err
	}
	for _, run := range kept {
		if err := yield(run); err != nil {
			return err
		}
	}
	return nil
}
