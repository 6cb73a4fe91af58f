package main

import (
	"bytes"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// TestTrainWaitOnATerminal runs the real binary under a pseudo-terminal:
// the bar advances with the run's iterations and the summary follows.
func TestTrainWaitOnATerminal(t *testing.T) {
	var events []map[string]any
	for _, it := range []int{10, 40, 120, 300} {
		events = append(events, map[string]any{"status": "running", "stage": "fitting", "iteration": it, "loss": 1000.0 / float64(it)})
	}
	screen := trainOnATerminal(t, &fakeTrainer{events: events, eventGap: 150 * time.Millisecond})
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
	for _, want := range []string{"fitting", "loss 3.33333", "version   #1 " + runA, "promoted  production -> " + runA, "\x1b[32msucceeded"} {
		if !bytes.Contains(screen.Bytes(), []byte(want)) {
			t.Errorf("terminal lacks %q:\n%q", want, out)
		}
	}
}

// A run that ends before its first progress event (a small dataset) ends
// the bar at the iterations it ran, labelled with how it ended, not at
// max_iter under "queued".
func TestTrainWaitOnATerminalFastRun(t *testing.T) {
	screen := trainOnATerminal(t, &fakeTrainer{})
	out := screen.String()
	if !strings.Contains(out, "37/37") || strings.Contains(out, "1000/1000") {
		t.Errorf("the bar did not end at the 37 iterations run:\n%q", out)
	}
	if !regexp.MustCompile(`succeeded\s+\S*100%`).MatchString(out) {
		t.Errorf("the full bar is not labelled succeeded:\n%q", out)
	}
}

// trainOnATerminal runs the real binary's train --wait under a
// pseudo-terminal against ft and returns the screen.
func trainOnATerminal(t *testing.T, ft *fakeTrainer) *bytes.Buffer {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ferry")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tr := httptest.NewServer(ft)
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
	return &screen
}
