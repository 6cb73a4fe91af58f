package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/modelferry/modelferry/pkg/client"
)

func (a *app) runsCommand() *cobra.Command {
	var q client.RunsQuery
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List runs, newest first, or search them",
		Example: "  ferry runs --model iris --status failed --limit 20\n" +
			"  ferry runs --filter \"metrics.accuracy > 0.9 and params.c = '1' and tags.team = 'fraud'\" --order-by \"metrics.accuracy DESC\"",
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			page, err := a.tc.Runs(cmd.Context(), q)
			if err != nil {
				return err
			}
			if a.output == "json" {
				return a.printJSON(page)
			}
			rows := make([][]string, 0, len(page.Runs))
			for _, r := range page.Runs {
				rows = append(rows, []string{r.ID, r.Model, a.colour(r.Status), accuracyOn(r), promoted(r), r.CreatedAt.Format("2006-01-02 15:04:05")})
			}
			if err := a.table([]string{"ID", "MODEL", "STATUS", "ACCURACY", "PROMOTED", "CREATED"}, rows); err != nil {
				return err
			}
			if page.NextPageToken != "" {
				fmt.Fprintf(a.stderr, "more runs: raise --limit (at most 500)\n")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&q.Model, "model", "", "only this model's runs")
	cmd.Flags().StringVar(&q.Status, "status", "", "only runs in this state: queued, running, succeeded, failed, cancelled")
	cmd.Flags().IntVar(&q.Limit, "limit", 20, "most runs listed")
	cmd.Flags().StringVar(&q.Filter, "filter", "", "only runs that meet this search, in MLflow's syntax: metrics.accuracy > 0.9 and params.c = '1' and tags.team = 'fraud' and attributes.status = 'succeeded'")
	cmd.Flags().StringArrayVar(&q.OrderBy, "order-by", nil, "sort by these keys (repeatable, or comma-separated): metrics.accuracy DESC, attributes.start_time")
	return cmd
}

func accuracy(m *client.Metrics) string {
	if m == nil {
		return "-"
	}
	return strconv.FormatFloat(m.Accuracy, 'f', 4, 64)
}

// accuracyOn is a run's accuracy, marked when measured on the training
// data (test_fraction 0), as ferry model and the console mark it.
func accuracyOn(r client.Run) string {
	acc := accuracy(r.Metrics)
	if r.Metrics != nil && r.MetricsOn == "train" {
		acc += " (train)"
	}
	return acc
}

func promoted(r client.Run) string {
	switch {
	case r.Promoted:
		return "yes"
	case r.Status == "succeeded":
		return "no"
	}
	return "-"
}

func (a *app) runCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "run ID",
		Short:   "Show one run",
		Example: "  ferry run 20261126T221500Z-1a2b3c4d",
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := a.tc.Run(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if a.output == "json" {
				return a.printJSON(r)
			}
			rows := [][]string{
				{"model", r.Model}, {"status", a.colour(r.Status)},
			}
			rows = append(rows, annotationRows(r)...)
			if r.Error != nil {
				rows = append(rows, []string{"error", r.Error.Code + ": " + r.Error.Message})
			}
			if r.Progress != nil {
				rows = append(rows, []string{"progress", fmt.Sprintf("%s, iteration %d, loss %.6g", r.Progress.Stage, r.Progress.Iteration, r.Progress.Loss)})
			}
			rows = append(rows, paramRows(r.Params)...)
			rows = append(rows,
				[]string{"dataset", fmt.Sprintf("%s (%d rows, %d features, %d classes)", orDash(r.Dataset.URI), r.Dataset.Rows, len(r.Dataset.Features), len(r.Dataset.Classes))},
				[]string{"filename", orDash(r.Dataset.Filename)},
				[]string{"accuracy", accuracyOn(r)},
				[]string{"version", orDash(versionName(r.Version, r.VersionNumber))},
				[]string{"promoted", promoted(r) + reason(r)},
				[]string{"created", r.CreatedAt.Format("2006-01-02 15:04:05Z07:00")},
			)
			if r.DurationSeconds > 0 {
				rows = append(rows, []string{"duration", fmt.Sprintf("%.3fs (%d iterations)", r.DurationSeconds, r.Iterations)})
			}
			return a.table([]string{"RUN", r.ID}, rows)
		},
	}
}

func reason(r client.Run) string {
	if r.PromotionReason == "" {
		return ""
	}
	return ": " + r.PromotionReason
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func paramRows(p client.Params) [][]string {
	return [][]string{
		{"c", strconv.FormatFloat(p.C, 'g', -1, 64)},
		{"max_iter", strconv.Itoa(p.MaxIter)},
		{"tol", strconv.FormatFloat(p.Tol, 'g', -1, 64)},
		{"test_fraction", strconv.FormatFloat(p.TestFraction, 'g', -1, 64)},
		{"seed", strconv.FormatUint(p.Seed, 10)},
		{"standardize", strconv.FormatBool(p.Standardize)},
	}
}

func (a *app) compareCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "compare ID ID...",
		Short:   "Show runs side by side; differences are marked with *",
		Example: "  ferry compare 20261126T221500Z-1a2b3c4d 20261126T223000Z-5e6f7a8b",
		Args:    args(cobra.RangeArgs(2, 10)),
		RunE: func(cmd *cobra.Command, ids []string) error {
			runs := make([]client.Run, len(ids))
			for i, id := range ids {
				var err error
				if runs[i], err = a.tc.Run(cmd.Context(), id); err != nil {
					return err
				}
			}
			if a.output == "json" {
				return a.printJSON(runs)
			}
			lines := []struct {
				name string
				get  func(client.Run) string
			}{
				{"model", func(r client.Run) string { return r.Model }},
				{"status", func(r client.Run) string { return r.Status }},
				{"dataset", func(r client.Run) string { return shortSHA(r.Dataset.SHA256) }},
			}
			for i, p := range []string{"c", "max_iter", "tol", "test_fraction", "seed", "standardize"} {
				lines = append(lines, struct {
					name string
					get  func(client.Run) string
				}{p, func(r client.Run) string { return paramRows(r.Params)[i][1] }})
			}
			lines = append(lines, []struct {
				name string
				get  func(client.Run) string
			}{
				{"accuracy", func(r client.Run) string { return accuracy(r.Metrics) }},
				{"log_loss", func(r client.Run) string {
					return metric(r.Metrics, func(m *client.Metrics) float64 { return m.LogLoss })
				}},
				{"macro_f1", func(r client.Run) string {
					return metric(r.Metrics, func(m *client.Metrics) float64 { return m.MacroF1 })
				}},
				{"iterations", func(r client.Run) string { return strconv.Itoa(r.Iterations) }},
				{"version", func(r client.Run) string { return orDash(r.Version) }},
				{"promoted", promoted},
			}...)
			header := append([]string{""}, ids...)
			var rows [][]string
			for _, l := range lines {
				row := []string{l.name}
				same := true
				for _, r := range runs {
					v := l.get(r)
					same = same && v == l.get(runs[0])
					row = append(row, v)
				}
				if !same {
					row[0] = "* " + row[0]
				} else {
					row[0] = "  " + row[0]
				}
				rows = append(rows, row)
			}
			return a.table(header, rows)
		},
	}
}

func metric(m *client.Metrics, get func(*client.Metrics) float64) string {
	if m == nil {
		return "-"
	}
	return strconv.FormatFloat(get(m), 'f', 4, 64)
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return orDash(s)
}

func (a *app) cancelCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "cancel ID",
		Short:   "Cancel a queued or running run",
		Example: "  ferry cancel 20261126T221500Z-1a2b3c4d",
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := a.tc.Cancel(cmd.Context(), args[0])
			if ae := (*client.APIError)(nil); errors.As(err, &ae) && ae.Code == "conflict" {
				// Nothing left to cancel: say how the run ended.
				if r, gerr := a.tc.Run(cmd.Context(), args[0]); gerr == nil && ended(r) {
					return fmt.Errorf("run %s already ended: %s%s; nothing to cancel", r.ID, r.Status, endedAt(r))
				}
			}
			if err != nil {
				return err
			}
			if a.output == "json" {
				return a.printJSON(r)
			}
			fmt.Fprintf(a.stdout, "run %s %s\n", r.ID, a.colour(r.Status))
			return nil
		},
	}
}

// versionName is a version id with its number beside it: "#7 20261126T221500Z-1a2b3c4d".
func versionName(id string, number int) string {
	if id == "" || number == 0 {
		return id
	}
	return "#" + strconv.Itoa(number) + " " + id
}

// ended reports whether a run has reached its end.
func ended(r client.Run) bool {
	return r.Status == "succeeded" || r.Status == "failed" || r.Status == "cancelled"
}

// endedAt says when a run ended, and why a failed one did.
func endedAt(r client.Run) string {
	s := ""
	if r.FinishedAt != nil {
		s = " at " + r.FinishedAt.UTC().Format("2006-01-02 15:04:05Z")
	}
	switch {
	case r.Error != nil && r.Error.Code == r.Status: // cancelled: cancelled before it started
		s += " (" + r.Error.Message + ")"
	case r.Error != nil:
		s += " (" + r.Error.Code + ": " + r.Error.Message + ")"
	}
	return s
}

// join lists names for a table cell.
func join(names []string) string {
	if len(names) == 0 {
		return "-"
	}
	return strings.Join(names, ",")
}
