package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// authRecorder answers 200 with an empty model and records the
// Authorization header of each request.
type authRecorder struct {
	mu   sync.Mutex
	seen []string
}

func (a *authRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.seen = append(a.seen, r.Header.Get("Authorization"))
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"name":"iris"}`))
}

func TestTokenNeverFollowsARedirectToAnotherOrigin(t *testing.T) {
	other := &authRecorder{}
	otherSrv := httptest.NewServer(other) // 127.0.0.1, another port
	defer otherSrv.Close()
	own := &authRecorder{}
	mux := http.NewServeMux()
	mux.HandleFunc("/model", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("model") == "away" {
			http.Redirect(w, r, otherSrv.URL+"/model", http.StatusTemporaryRedirect)
			return
		}
		http.Redirect(w, r, "/here", http.StatusFound)
	})
	mux.Handle("/here", own)
	ownSrv := httptest.NewServer(mux)
	defer ownSrv.Close()

	c, err := New(ownSrv.URL, Options{Token: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, model string
		rec         *authRecorder
		want        string
	}{
		{"same origin keeps it", "here", own, "Bearer s3cret"},
		{"another port of the same host never gets it", "away", other, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.ModelInfo(context.Background(), tc.model); err != nil {
				t.Fatal(err)
			}
			tc.rec.mu.Lock()
			defer tc.rec.mu.Unlock()
			if len(tc.rec.seen) != 1 || tc.rec.seen[0] != tc.want {
				t.Errorf("Authorization seen %q, want [%q]", tc.rec.seen, tc.want)
			}
		})
	}
}
