package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

func TestBadPrometheusURLIsAnError(t *testing.T) {
	for _, v := range []string{"localhost:9090", "ftp://x", "http://"} {
		t.Run(v, func(t *testing.T) {
			env := map[string]string{"TRAINER_PROMETHEUS_URL": v}
			err := run(context.Background(), nil, func(k string) string { return env[k] }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), "TRAINER_PROMETHEUS_URL must be an http(s) URL") {
				t.Errorf("got %v", err)
			}
		})
	}
}
