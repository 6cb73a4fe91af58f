package main

import (
	"bytes"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/creack/pty"
)

// TestTrainWaitOnATerminal runs the real binary under a pseudo-terminal:
// the bar advances with the run's iterations and the summary follows.
func TestTrainWaitOnATerminal(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "ferry")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var events []map[string]any
	for _, it := range []int{10, 40, 120, 300} {
		events = append(events, map[string]any{"status": "running", "stage": "fitting", "iteration": it, "loss": 1000.0 / float64(it)})
	}
	tr := httptest.NewServer(&fakeTrainer{events: events, eventGap: 150 * time.Millisecond})
	defer tr.Close()
	csv := filepath.Join(t.TempDir(), "d.csv")
	if err := os.WriteFile(csv, bytes.Repeat([]byte("1,x\n"), 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "train", csv, "--wait")
	cmd.Env = append(os.Environ(), "FERRY_TRAINER_URL="+tr.URL, "TERM=xterm")
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var screen bytes.Buffer
	done := make(chan struct{})
	go func() { _, _ = io.Copy(&screen, f); close(done) }()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ferry: %v\n%s", err, screen.String())
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	out := screen.String()
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile(`(\d+)/1000`).FindAllStringSubmatch(out, -1) {
		seen[m[1]] = true
	}
	for _, it := range []string{"10", "40", "120"} {
		if !seen[it] {
			t.Errorf("the bar never showed %s/1000; it showed %v", it, seen)
		}
	}
	if !bytes.Contains(screen.Bytes(), []byte("300/300")) {
		t.Errorf("the bar did not end full at the last iteration (300/300)")
	}
	for _, want := range []string{"fitting", "loss 3.33333", "version   " + runA, "promoted  production -> " + runA, "\x1b[32msucceeded"} {
		if !bytes.Contains(screen.Bytes(), []byte(want)) {
			t.Errorf("terminal lacks %q:\n%q", want, out)
		}
	}
}
