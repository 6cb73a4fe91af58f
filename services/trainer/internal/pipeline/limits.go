package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/modelferry/modelferry/pkg/dataset"
	"github.com/modelferry/modelferry/pkg/modelstore/names"
)

// Limits bound what one run may ask of the trainer. Each is checked
// before the work it bounds: columns and names at the header, classes
// while parsing, their product before fitting.
type Limits struct {
	MaxFeatures int // TRAINER_MAX_FEATURES
	MaxClasses  int // TRAINER_MAX_CLASSES
	// MaxParameters bounds features × classes, the size of the model and
	// of the fit's working set (TRAINER_MAX_PARAMETERS).
	MaxParameters int
	// MaxNameBytes bounds a column name or a class label.
	MaxNameBytes int
	// MaxCategories bounds a categorical column's categories
	// (TRAINER_MAX_CATEGORIES).
	MaxCategories int
}

// DefaultLimits are the limits when none are configured.
var DefaultLimits = Limits{MaxFeatures: 10_000, MaxClasses: 1_000, MaxParameters: 1_000_000, MaxNameBytes: 256, MaxCategories: 10_000}

// ErrLimit is wrapped by every error about a limit; the run then fails as
// invalid_argument and the message names the variable that raises it.
var ErrLimit = errors.New("over a limit")

// limitErr is a limit's error: its message is what the run shows.
type limitErr string

func (e limitErr) Error() string        { return string(e) }
func (e limitErr) Is(target error) bool { return target == ErrLimit }

func limitError(format string, args ...any) error { return limitErr(fmt.Sprintf(format, args...)) }

// orDefaults fills the limits left zero with DefaultLimits'.
func (l Limits) orDefaults() Limits {
	pick := func(v, def int) int {
		if v > 0 {
			return v
		}
		return def
	}
	d := DefaultLimits
	return Limits{MaxFeatures: pick(l.MaxFeatures, d.MaxFeatures), MaxClasses: pick(l.MaxClasses, d.MaxClasses),
		MaxParameters: pick(l.MaxParameters, d.MaxParameters), MaxNameBytes: pick(l.MaxNameBytes, d.MaxNameBytes),
		MaxCategories: pick(l.MaxCategories, d.MaxCategories)}
}

// readHeader reads the header line of a CSV from r within the limits and
// returns it, so that a file of a million columns is refused after its
// first line, before anything is held for it.
func (l Limits) readHeader(r *bufio.Reader) ([]byte, error) {
	// The longest header the limits allow: every name at its longest,
	// quoted, plus the label.
	budget := (l.MaxFeatures + 1) * (l.MaxNameBytes + 3)
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > budget {
			return nil, limitError("the header line is longer than %d columns of at most %d bytes allow (TRAINER_MAX_FEATURES, %d bytes a name)",
				l.MaxFeatures, l.MaxNameBytes, l.MaxNameBytes)
		}
		if err == nil || errors.Is(err, io.EOF) {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
	}
	cols, err := csv.NewReader(bytes.NewReader(line)).Read()
	if err != nil {
		return line, nil // the parser reports a malformed header with its line
	}
	if len(cols)-1 > l.MaxFeatures {
		return nil, limitError("%d feature columns; the limit is %d (TRAINER_MAX_FEATURES)", len(cols)-1, l.MaxFeatures)
	}
	for _, n := range cols {
		if len(n) > l.MaxNameBytes {
			return nil, limitError("column name %s is %d bytes; the limit is %d", names.Quote(n), len(n), l.MaxNameBytes)
		}
	}
	return line, nil
}

// checkDataset checks what only the whole dataset tells: labels and the
// size of the model.
func (l Limits) checkDataset(d *dataset.Dataset) error {
	for _, c := range d.Classes {
		if len(c) > l.MaxNameBytes {
			return limitError("class label %s is %d bytes; the limit is %d", names.Quote(c), len(c), l.MaxNameBytes)
		}
	}
	if p := len(d.Features) * len(d.Classes); p > l.MaxParameters {
		return limitError("%d features × %d classes = %d coefficients; the limit is %d (TRAINER_MAX_PARAMETERS)",
			len(d.Features), len(d.Classes), p, l.MaxParameters)
	}
	return nil
}

// classLimit names the variable in the parser's error about too many
// labels.
func classLimit(err error) error {
	var pe *dataset.ParseError
	if errors.As(err, &pe) && strings.Contains(pe.Msg, "distinct labels") {
		return limitError("%v (TRAINER_MAX_CLASSES raises the limit)", err)
	}
	return err
}

// checkScale refuses data whose sums overflow float64: the objective and
// its gradient would not be finite, and the fit could only fail. It names
// the first such column and what to do.
func checkScale(x []float64, rows int, features []string, standardize bool) error {
	// One pass in row order, every column's sums side by side: the matrix
	// is read once, sequentially.
	f := len(features)
	abs, sq, peak := make([]float64, f), make([]float64, f), make([]float64, f)
	for i := range rows {
		for j, v := range x[i*f : i*f+f] {
			a := math.Abs(v)
			abs[j] += a
			sq[j] += v * v
			peak[j] = max(peak[j], a)
		}
	}
	for j := range f {
		if math.IsInf(abs[j], 0) || (standardize && math.IsInf(sq[j], 0)) {
			return fmt.Errorf("%w: column %s has values up to %g: their sums overflow, so the fit cannot be computed; rescale the column (divide it by a power of ten)%s",
				dataset.ErrInvalid, names.Quote(features[j]), peak[j], standardizeHint(standardize))
		}
	}
	return nil
}

func standardizeHint(standardize bool) string {
	if standardize {
		return ""
	}
	return " or set standardize=true"
}

// loadChunk bounds one read of a dataset: the parser asks for large
// blocks, and an S3 stream fills a whole block before it returns.
const loadChunk = 64 << 10

// ctxReader reads at most loadChunk bytes at a time and stops as soon as
// its context ends: a cancelled run stops loading within one chunk, and
// load progress moves in chunks.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p[:min(len(p), loadChunk)])
}
