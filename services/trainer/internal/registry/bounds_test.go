package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/modelferry/modelferry/pkg/evaluation"
	"github.com/modelferry/modelferry/pkg/modelstore"
)

// TestRunRecordsAreBounded: strings entering a run record are cut, and a
// record that would pass MaxRunRecordBytes keeps its summary only (the
// version's record has the rest).
func TestRunRecordsAreBounded(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	big := strings.Repeat("é", 1<<20)
	classes := 400
	matrix := make([][]int, classes)
	for i := range matrix {
		matrix[i] = make([]int, classes)
		matrix[i][i] = 1000
	}
	for _, run := range []Run{
		{ID: "20261126T100000Z-0000000a", Model: "iris", Status: StatusFailed, Label: big, PromotionReason: big,
			Error: &RunError{Code: "invalid_argument", Message: big}, Dataset: DatasetInfo{URI: big}},
		{ID: "20261126T100000Z-0000000b", Model: "iris", Status: StatusSucceeded, Label: "species",
			Metrics: &evaluation.Report{Accuracy: 0.9, ConfusionMatrix: matrix}},
	} {
		t.Run(run.ID, func(t *testing.T) {
			if err := f.reg.SaveRun(ctx, run, SaveOptions{First: true}); err != nil {
				t.Fatal(err)
			}
			stored, _, err := f.mem.Get(ctx, fmt.Sprintf("runs/iris/%s.json", run.ID), modelstore.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(stored) > MaxRunRecordBytes {
				t.Errorf("stored record of %d bytes", len(stored))
			}
			got, err := f.reg.Run(ctx, run.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Label) > 2048 || len(got.PromotionReason) > 2048 || (got.Error != nil && len(got.Error.Message) > 2048) {
				t.Errorf("strings kept whole: label %d, reason %d bytes", len(got.Label), len(got.PromotionReason))
			}
			if got.Metrics != nil && got.Metrics.Accuracy != 0.9 {
				t.Errorf("summary lost: %+v", got.Metrics)
			}
		})
	}
	page, err := f.reg.Runs(ctx, RunQuery{Model: "iris"})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(page); len(b) > 2*MaxRunRecordBytes {
		t.Errorf("a listing of two runs is %d bytes", len(b))
	}
}
