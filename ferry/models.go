package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/modelferry/modelferry/pkg/client"
	"github.com/spf13/cobra"
)

func (a *app) modelsCommand() *cobra.Command {
	return listCommand(a, "models", "List models and their production and latest versions", (*client.Client).Models,
		[]string{"MODEL", "PRODUCTION", "LATEST"}, func(m client.ModelSummary) []string {
			return []string{m.Name, orDash(m.Aliases["production"].Version), orDash(m.Aliases["latest"].Version)}
		})
}

func (a *app) modelCommand() *cobra.Command {
	var serving bool
	var rng string
	cmd := &cobra.Command{
		Use:     "model NAME",
		Short:   "Show a model's versions, newest first, with their aliases and accuracy; --serving: what the predictors do with it",
		Example: "  ferry model iris\n  ferry model iris --serving --range 6h",
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if serving {
				return a.printServing(cmd.Context(), args[0], rng)
			}
			m, err := a.tc.Model(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if a.output == "json" {
				return a.printJSON(m)
			}
			pointing := map[string][]string{}
			for name, al := range m.Aliases {
				pointing[al.Version] = append(pointing[al.Version], name)
			}
			rows := make([][]string, 0, len(m.Versions))
			for _, v := range m.Versions {
				acc, number := "-", "-"
				if vv, err := a.tc.Version(cmd.Context(), m.Name, v); err == nil {
					if vv.Number > 0 {
						number = strconv.Itoa(vv.Number)
					}
					if vv.Record.Metrics != nil {
						acc = strconv.FormatFloat(vv.Record.Metrics.Accuracy, 'f', 4, 64) + " (" + vv.Record.MetricsOn + ")"
					}
				}
				slices.Sort(pointing[v])
				rows = append(rows, []string{number, v, join(pointing[v]), acc})
			}
			return a.table([]string{"#", "VERSION", "ALIASES", "ACCURACY"}, rows)
		},
	}
	cmd.Flags().BoolVar(&serving, "serving", false, "show the serving figures (traffic, errors, latency, drift, shadow, alerts) from the trainer's Prometheus")
	cmd.Flags().StringVar(&rng, "range", "1h", "with --serving: 15m, 1h, 6h, 24h or 7d")
	return cmd
}

func (a *app) promoteCommand() *cobra.Command {
	alias := "production"
	cmd := &cobra.Command{
		Use:     "promote MODEL VERSION",
		Long:    "Promote points an alias at a version, named by its id or its number (ferry model MODEL lists both).",
		Short:   "Point an alias (production by default) at a version",
		Example: "  ferry promote iris 7\n  ferry promote iris 20261126T221500Z-1a2b3c4d --alias staging",
		Args:    args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.moveAlias(cmd.Context(), args[0], alias, args[1])
		},
	}
	cmd.Flags().StringVar(&alias, "alias", alias, "alias to move")
	return cmd
}

func (a *app) rollbackCommand() *cobra.Command {
	var yes bool
	alias := "production"
	cmd := &cobra.Command{
		Use:   "rollback MODEL",
		Short: "Point production back at the version before the one it names",
		Long: `Rollback moves the alias (production by default) back to the version it
named before (the alias records it at each move). It shows the move and
asks before it acts; --yes skips the question.`,
		Example: "  ferry rollback iris\n  ferry rollback iris --yes",
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := a.tc.Model(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			cur, ok := m.Aliases[alias]
			if !ok {
				return fmt.Errorf("%s has no %s alias to roll back", m.Name, alias)
			}
			prev := cur.Previous
			if prev == "" {
				return fmt.Errorf("%s@%s (%s) records no previous version: promote the one you want with 'ferry promote %s VERSION'",
					m.Name, alias, cur.Version, m.Name)
			}
			if !yes {
				// The move, before the question; with --yes it is shown
				// once, when done.
				fmt.Fprintf(a.stderr, "%s@%s: %s -> %s\n", m.Name, alias, cur.Version, prev)
				if !a.confirm("roll back?") {
					return errors.New("not rolled back")
				}
			}
			return a.moveAlias(cmd.Context(), m.Name, alias, prev)
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask")
	cmd.Flags().StringVar(&alias, "alias", alias, "alias to move")
	return cmd
}

func (a *app) datasetsCommand() *cobra.Command {
	return listCommand(a, "datasets", "List the datasets stored in the bucket", (*client.Client).Datasets,
		[]string{"SHA256", "NAME", "SIZE", "ROWS", "FEATURES", "RUNS", "URI"}, func(d client.StoredDataset) []string {
			return []string{shortSHA(d.SHA256), join(d.Filenames), humanBytes(d.Bytes), strconv.Itoa(d.Rows), strconv.Itoa(len(d.Features)),
				strconv.Itoa(len(d.Runs)), d.URI}
		})
}

// moveAlias points alias at version and shows the move.
func (a *app) moveAlias(ctx context.Context, model, alias, version string) error {
	ch, err := a.tc.SetAlias(ctx, model, alias, version)
	if err != nil {
		return err
	}
	if a.output == "json" {
		return a.printJSON(ch)
	}
	fmt.Fprintf(a.stdout, "%s@%s: %s -> %s\n", ch.Model, ch.Alias, orDash(ch.PreviousVersion), ch.Version)
	return nil
}
