package logging

import (
	"bytes"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(&buf, "warn", "json")
	if err != nil {
		t.Fatal(err)
	}
	l.Info("hidden")
	l.Warn("shown", "k", 1)
	if s := buf.String(); strings.Contains(s, "hidden") || !strings.Contains(s, `"msg":"shown"`) {
		t.Errorf("output %q", s)
	}
	for _, tc := range [][2]string{{"loud", "json"}, {"info", "xml"}} {
		if _, err := New(&buf, tc[0], tc[1]); err == nil {
			t.Errorf("level %q format %q accepted", tc[0], tc[1])
		}
	}
}
