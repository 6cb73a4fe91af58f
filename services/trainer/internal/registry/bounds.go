package registry

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/modelferry/modelferry/pkg/modelstore"
)

// maxRecordString bounds each free-text string a run record keeps (its
// label, error message, promotion reason, dataset URI): whatever a client
// or a dataset sends, a record and every listing of it stay small.
const maxRecordString = 1024

// MaxRunRecordBytes bounds a stored run record: listings read many of
// them, so none may carry an unbounded field.
const MaxRunRecordBytes = 64 << 10

// encodeRun returns a run's record as stored: its strings cut to
// maxRecordString and, when it would pass MaxRunRecordBytes, without what
// the version's record keeps in full (the solver's history, the per-class
// metrics and confusion matrix, the feature and class names). A record
// over the bound even then is refused.
func encodeRun(run Run) (Run, []byte, error) {
	run = boundStrings(run)
	b, err := json.Marshal(run)
	if err != nil {
		return Run{}, nil, fmt.Errorf("encode run %s: %w", run.ID, err)
	}
	if len(b) <= MaxRunRecordBytes {
		return run, b, nil
	}
	run.History = nil
	if run.Metrics != nil {
		m := *run.Metrics
		m.PerClass, m.ConfusionMatrix = nil, nil
		run.Metrics = &m
	}
	run.Dataset.Features, run.Dataset.Classes = nil, nil
	if b, err = json.Marshal(run); err != nil {
		return Run{}, nil, fmt.Errorf("encode run %s: %w", run.ID, err)
	}
	if len(b) > MaxRunRecordBytes {
		return Run{}, nil, fmt.Errorf("run %s: %w: record of %d bytes; the limit is %d", run.ID, modelstore.ErrInvalid, len(b), MaxRunRecordBytes)
	}
	return run, b, nil
}

func boundStrings(run Run) Run {
	run.Label = cut(run.Label)
	run.PromotionReason = cut(run.PromotionReason)
	run.Dataset.URI = cut(run.Dataset.URI)
	run.TrainerVersion = cut(run.TrainerVersion)
	if run.Error != nil {
		e := *run.Error
		e.Message = cut(e.Message)
		run.Error = &e
	}
	return run
}

// cut shortens s to about maxRecordString bytes, on a character boundary,
// and says it was cut.
func cut(s string) string {
	if len(s) <= maxRecordString {
		return s
	}
	n := maxRecordString
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + fmt.Sprintf("… (%d bytes)", len(s))
}
