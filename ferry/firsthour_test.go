package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// override answers the paths it names with fixed documents and passes
// the rest to a fakeTrainer.
func override(ft *fakeTrainer, routes map[string]func(w http.ResponseWriter)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, ok := routes[r.Method+" "+r.URL.Path]; ok {
			w.Header().Set("Content-Type", "application/json")
			h(w)
			return
		}
		ft.ServeHTTP(w, r)
	})
}

func jsonBody(status int, v any) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
}

// A run the gate held points to ferry's own command, not to the HTTP API.
func TestTrainHeldPointsToFerryPromote(t *testing.T) {
	held := fakeRun(runA, 1, 1, false)
	held["metrics_on"] = "train"
	held["promotion_reason"] = "metrics come from the training data (test_fraction 0), which the gate cannot judge: promote it by hand if it is good enough"
	ft := &fakeTrainer{}
	tr := httptest.NewServer(override(ft, map[string]func(http.ResponseWriter){
		"GET /runs/" + runA + "/events": func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/event-stream")
			b, _ := json.Marshal(held)
			_, _ = w.Write([]byte("event:run\ndata:" + string(b) + "\n\n"))
		},
	}))
	defer tr.Close()
	out, errOut, code := ferry(t, tr.URL, "", "", "train", "--wait")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// By its number, shown beside the id.
	if want := "promote it with 'ferry promote iris 1'"; !strings.Contains(out, want) || !strings.Contains(out, "version   #1 "+runA) {
		t.Errorf("summary lacks %q:\n%s", want, out)
	}
	if strings.Contains(out, "PUT /models") {
		t.Errorf("summary points to the HTTP API:\n%s", out)
	}
}

// ferry rollback --yes shows its move once.
func TestRollbackYesShowsTheMoveOnce(t *testing.T) {
	tr := httptest.NewServer(&fakeTrainer{})
	defer tr.Close()
	out, errOut, code := ferry(t, tr.URL, "", "", "rollback", "iris", "--yes")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if n := strings.Count(out+errOut, "-> "+runA); n != 1 {
		t.Errorf("the move is shown %d times:\n%s%s", n, out, errOut)
	}
}

// Cancelling a run that has ended says how it ended, not that something
// changed meanwhile.
func TestCancelAnEndedRun(t *testing.T) {
	done := fakeRun(runB, 0.5, 0.9, false)
	done["finished_at"] = "2026-11-26T22:30:02Z"
	ft := &fakeTrainer{}
	tr := httptest.NewServer(override(ft, map[string]func(http.ResponseWriter){
		"POST /runs/" + runB + "/cancel": jsonBody(409, map[string]any{"error": map[string]any{"code": "conflict",
			"message": "run " + runB + " is succeeded: only queued or running runs can be cancelled"}}),
		"GET /runs/" + runB: jsonBody(200, done),
	}))
	defer tr.Close()
	_, errOut, code := ferry(t, tr.URL, "", "", "cancel", runB)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if want := "run " + runB + " already ended: succeeded at 2026-11-26 22:30:02Z; nothing to cancel"; !strings.Contains(errOut, want) {
		t.Errorf("stderr %q lacks %q", errOut, want)
	}
	if strings.Contains(errOut, "changed meanwhile") {
		t.Errorf("stderr %q gives the concurrent-change hint", errOut)
	}
}

// ferry runs marks an accuracy measured on the training data.
func TestRunsMarksTrainingAccuracy(t *testing.T) {
	onTrain := fakeRun(runB, 1, 1, false)
	onTrain["metrics_on"] = "train"
	ft := &fakeTrainer{}
	tr := httptest.NewServer(override(ft, map[string]func(http.ResponseWriter){
		"GET /runs": jsonBody(200, map[string]any{"runs": []any{onTrain, fakeRun(runA, 1, 0.97, true)}}),
	}))
	defer tr.Close()
	out, errOut, code := ferry(t, tr.URL, "", "", "runs")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(out, "\n")
	if len(lines) < 3 || !strings.Contains(lines[1], "1.0000 (train)") || strings.Contains(lines[2], "(train)") {
		t.Errorf("runs:\n%s\nwant the first run's accuracy marked (train), the second's not", out)
	}
}

// ferry train FILE sends the file's name, which the trainer keeps.
func TestTrainSendsTheFilename(t *testing.T) {
	ft := &fakeTrainer{}
	tr := httptest.NewServer(ft)
	defer tr.Close()
	csv := filepath.Join(t.TempDir(), "flowers.csv")
	if err := os.WriteFile(csv, []byte("a,b\n1,x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := ferry(t, tr.URL, "", "", "train", csv); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if got := ft.asked(); len(got) == 0 || !strings.Contains(got[0], "filename=flowers.csv") {
		t.Errorf("requests %q, want POST /train with filename=flowers.csv", got)
	}
}
