package main

import (
	"net/http"
	"testing"

	"github.com/modelferry/modelferry/devstack/testkit/s3test"
)

// TestCrossSiteAndForeignHostsAreRefused: the predictor's routes under
// the trainer's rules, with PREDICTOR_ALLOWED_HOSTS and
// PREDICTOR_ALLOWED_ORIGINS.
func TestCrossSiteAndForeignHostsAreRefused(t *testing.T) {
	s3 := s3test.Start(t)
	addr := s3test.FreeAddr(t)
	base := "http://" + addr
	stop := startPredictor(t, base, map[string]string{
		"PREDICTOR_ADDR": addr, "PREDICTOR_SHUTDOWN_DELAY": "0s", "PREDICTOR_GRPC_ADDR": "off",
		"S3_ENDPOINT": s3.Endpoint, "S3_ACCESS_KEY": s3test.AccessKey, "S3_SECRET_KEY": s3test.SecretKey,
		"PREDICTOR_ALLOWED_HOSTS": "predictor", "PREDICTOR_ALLOWED_ORIGINS": "https://app.example.com",
	})
	defer stop()
	for _, tc := range []struct {
		name, method, path, host, origin string
		want                             int
	}{
		{"cross-site predict", "POST", "/predict", "", "http://evil.example", 403},
		{"cross-site infer", "POST", "/v2/models/iris/infer", "", "http://evil.example", 403},
		{"rebound name", "GET", "/models", "evil.example:8000", "", 403},
		{"rebound docs", "GET", "/openapi.json", "evil.example:8000", "", 403},
		{"health to any name", "GET", "/healthz", "evil.example:8000", "", 200},
		{"a listed name", "GET", "/models", "predictor:8000", "", 200},
		// No model yet: past the guard, the predictor's own answer.
		{"a listed origin", "POST", "/predict", "", "https://app.example.com", 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, base+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.host != "" {
				req.Host = tc.host
			}
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("%d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}
