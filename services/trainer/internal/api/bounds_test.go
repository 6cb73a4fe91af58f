package api

import (
	"strings"
	"testing"
)

// TestLongSingleLabelStaysOutOfRecords: one over-long label on every row
// (a single class) is refused by the name limit as it is read, and the
// answer, the run record and the listing stay small.
func TestLongSingleLabelStaysOutOfRecords(t *testing.T) {
	e := newEnv(t)
	label := strings.Repeat("x", 200_000)
	body := "a,label\n1," + label + "\n2," + label + "\n"
	resp := e.do("POST", "/train?wait=true&model=iris", "text/csv", strings.NewReader(body))
	msg := resp.apiError(t).Message
	if resp.code != 400 || !strings.Contains(msg, "label is 200000 bytes; the limit is 256") {
		t.Errorf("%d %q", resp.code, msg)
	}
	list := e.do("GET", "/runs?model=iris", "", nil)
	t.Logf("answer %d bytes, GET /runs %d bytes for a %d-byte label", len(resp.body), len(list.body), len(label))
	if len(resp.body) > 4<<10 || len(list.body) > 4<<10 {
		t.Errorf("answer of %d bytes, listing of %d bytes", len(resp.body), len(list.body))
	}
}
