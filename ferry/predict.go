package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

func (a *app) predictCommand() *cobra.Command {
	var model, out string
	batch := 1000
	cmd := &cobra.Command{
		Use:   "predict [--model M] JSON|FILE.csv",
		Short: "Score one JSON row, or every row of a CSV file",
		Long: `Predict sends one row given as JSON (the predictor's /predict body) and prints
the answer, or scores a CSV file with a header in batches and writes CSV: the
input columns, the label, and one probability column per class (p_<class>).
The CSV's columns are matched to the model's features by name; others are
kept in the output but not sent. "-" reads the CSV from standard input.`,
		Example: `  ferry predict '{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}'
  ferry predict --model iris flowers.csv -o scored.csv`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.HasPrefix(strings.TrimSpace(args[0]), "{") {
				if !json.Valid([]byte(args[0])) {
					return usageError{errors.New("the JSON argument is not valid JSON")}
				}
				ans, err := a.pc.PredictRaw(cmd.Context(), model, []byte(args[0]))
				if err != nil {
					return err
				}
				var buf bytes.Buffer
				if err := json.Indent(&buf, ans, "", "  "); err != nil {
					return err
				}
				_, err = fmt.Fprintln(a.stdout, buf.String())
				return err
			}
			if batch < 1 {
				return usageError{errors.New("--batch must be positive")}
			}
			return a.predictCSV(cmd, model, args[0], out, batch)
		},
	}
	cmd.Flags().StringVar(&model, "model", "", "model to ask (default: the predictor's first)")
	cmd.Flags().StringVarP(&out, "out", "o", "", "write the scored CSV here instead of standard output")
	cmd.Flags().IntVar(&batch, "batch", batch, "rows per request (at most the predictor's PREDICTOR_MAX_BATCH)")
	return cmd
}

func (a *app) predictCSV(cmd *cobra.Command, model, path, outPath string, batch int) error {
	var in io.Reader = a.stdin
	size := int64(-1)
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return usageError{err}
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil {
			size = st.Size()
		}
		in = f
	}
	info, err := a.pc.ModelInfo(cmd.Context(), model)
	if err != nil {
		return err
	}
	var bar *progressbar.ProgressBar
	if a.terminal && size > 0 {
		bar = progressbar.NewOptions64(size, progressbar.OptionSetWriter(a.stderr), progressbar.OptionSetDescription("scoring"),
			progressbar.OptionShowBytes(true), progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish())
		in = io.TeeReader(in, bar)
		defer bar.Close()
	}
	r := csv.NewReader(in)
	r.ReuseRecord = false
	header, err := r.Read()
	if err != nil {
		return usageError{fmt.Errorf("%s: reading the header: %w", path, err)}
	}
	cols := make([]int, len(info.Features))
	for i, f := range info.Features {
		cols[i] = -1
		for j, h := range header {
			if strings.TrimSpace(h) == f {
				cols[i] = j
			}
		}
		if cols[i] < 0 {
			return usageError{fmt.Errorf("%s has no column %q, a feature of %s %s (features: %s)", path, f, info.Name, info.Version, strings.Join(info.Features, ", "))}
		}
	}
	var out io.Writer = a.stdout
	if outPath != "" {
		f, err := os.Create(outPath)
		if err != nil {
			return usageError{err}
		}
		defer f.Close()
		out = f
	}
	w := csv.NewWriter(out)
	outHeader := append(append([]string{}, header...), "label")
	for _, c := range info.Classes {
		outHeader = append(outHeader, "p_"+c)
	}
	if err := w.Write(outHeader); err != nil {
		return err
	}
	start, total := time.Now(), 0
	records := make([][]string, 0, batch)
	rows := make([][]any, 0, batch)
	flush := func() error {
		if len(rows) == 0 {
			return nil
		}
		preds, err := a.pc.PredictRecords(cmd.Context(), model, rows)
		if err != nil {
			return fmt.Errorf("rows %d to %d: %w", total+1, total+len(rows), err)
		}
		for i, p := range preds {
			rec := append(records[i], p.Label)
			for _, c := range info.Classes {
				rec = append(rec, strconv.FormatFloat(p.Probabilities[c], 'g', -1, 64))
			}
			if err := w.Write(rec); err != nil {
				return err
			}
		}
		total += len(rows)
		records, rows = records[:0], rows[:0]
		return nil
	}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return usageError{fmt.Errorf("%s: %w", path, err)}
		}
		row := make([]any, len(cols))
		for i, c := range cols {
			row[i] = cell(rec[c])
		}
		records, rows = append(records, rec), append(rows, row)
		if len(rows) == batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	if bar != nil {
		_ = bar.Finish()
	}
	if a.output == "table" && (outPath != "" || a.terminal) {
		fmt.Fprintf(a.stderr, "scored %d rows with %s %s in %s\n", total, info.Name, info.Version, time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// cell is a CSV cell as a raw record's value: a number when it reads as
// one (but a code with a leading zero, 007, stays text), null when empty,
// else the text as it is (a category, or an NA string the model reads as
// missing). The predictor judges the rest, naming the row and column.
func cell(s string) any {
	t := strings.TrimSpace(s)
	if t == "" {
		return nil
	}
	digits := strings.TrimLeft(t, "+-")
	if len(digits) > 1 && digits[0] == '0' && digits[1] >= '0' && digits[1] <= '9' {
		return s
	}
	if v, err := strconv.ParseFloat(t, 64); err == nil && !math.IsInf(v, 0) && !math.IsNaN(v) && !strings.ContainsAny(t, "xXpP_") {
		return v
	}
	return s
}
