package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
)

// TestEachServerGetsItsOwnToken runs one trainer command and one predictor
// command under each combination of the three token variables.
func TestEachServerGetsItsOwnToken(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{}
	record := func(server, body string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen[server] = r.Header.Get("Authorization")
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, body)
		})
	}
	tr := httptest.NewServer(record("trainer", `{"models":[]}`))
	defer tr.Close()
	pr := httptest.NewServer(record("predictor", `{"name":"iris","version":"v1","features":["a"],"classes":["x","y"]}`))
	defer pr.Close()

	for _, tc := range []struct {
		name                       string
		vars                       map[string]string
		wantTrainer, wantPredictor string
	}{
		{"one token for both", map[string]string{"FERRY_TOKEN": "both"}, "Bearer both", "Bearer both"},
		{"each its own", map[string]string{"FERRY_TOKEN": "both", "FERRY_TRAINER_TOKEN": "tt", "FERRY_PREDICTOR_TOKEN": "pt"}, "Bearer tt", "Bearer pt"},
		{"the trainer's never goes to the predictor", map[string]string{"FERRY_TRAINER_TOKEN": "tt"}, "Bearer tt", ""},
		{"the predictor's never goes to the trainer", map[string]string{"FERRY_PREDICTOR_TOKEN": "pt"}, "", "Bearer pt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]string{"FERRY_TRAINER_URL": tr.URL, "FERRY_PREDICTOR_URL": pr.URL}
			for k, v := range tc.vars {
				vars[k] = v
			}
			clear(seen)
			for _, args := range [][]string{{"models"}, {"predict", `{"a": 1}`}} {
				var out, errb bytes.Buffer
				if code := run(args, env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, interrupts: make(chan os.Signal)}.withEnv(vars)); code != 0 {
					t.Fatalf("%v: exit %d: %s", args, code, errb.String())
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if seen["trainer"] != tc.wantTrainer {
				t.Errorf("trainer got %q, want %q", seen["trainer"], tc.wantTrainer)
			}
			if seen["predictor"] != tc.wantPredictor {
				t.Errorf("predictor got %q, want %q", seen["predictor"], tc.wantPredictor)
			}
		})
	}
}
