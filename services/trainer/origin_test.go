package main

import (
	"net/http"
	"testing"

	"github.com/modelferry/modelferry/devstack/testkit/s3test"
)

// TestCrossSiteWritesAndForeignHostsAreRefused: on the `make run` default
// (no token), a page of another site cannot train, and a name that is not
// loopback (DNS rebinding) gets nothing but health; TRAINER_ALLOWED_HOSTS
// and TRAINER_ALLOWED_ORIGINS let named ones through.
func TestCrossSiteWritesAndForeignHostsAreRefused(t *testing.T) {
	s3 := s3test.Start(t)
	addr := s3test.FreeAddr(t)
	tr := startTrainer(t, s3, addr, "TRAINER_ALLOWED_HOSTS", "trainer", "TRAINER_ALLOWED_ORIGINS", "https://console.example.com")
	defer tr.stop()
	base := "http://" + addr
	for _, tc := range []struct {
		name, method, path, host, origin string
		want                             int
	}{
		{"cross-site train", "POST", "/train?model=iris", "", "http://evil.example", 403},
		{"cross-site promote", "PUT", "/models/iris/aliases/production", "", "http://evil.example", 403},
		{"rebound name", "GET", "/runs", "evil.example:8080", "", 403},
		{"rebound console", "GET", "/ui/", "evil.example:8080", "", 403},
		{"health to any name", "GET", "/healthz", "evil.example:8080", "", 200},
		{"metrics to any name", "GET", "/metrics", "10.1.2.3:8080", "", 200},
		{"a listed name", "GET", "/runs", "trainer:8080", "", 200},
		{"a listed origin", "POST", "/train?model=iris&wait=true", "", "https://console.example.com", 200},
		{"its own origin", "POST", "/train?model=iris&wait=true", "", base, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := send(t, tc.method, base+tc.path, tc.host, tc.origin); got != tc.want {
				t.Errorf("%d, want %d", got, tc.want)
			}
		})
	}
}

// send makes a request with the given Host and Origin (when not empty)
// and returns its status.
func send(t *testing.T, method, url, host, origin string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}
