package api

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelferry/modelferry/services/predictor/internal/admission"
)

// TestSlowBodiesDoNotStarveLargeRequests is the regression test of slow
// bodies holding the large-body slots: while 4 clients trickle 1 MiB OIP
// bodies (more clients than the gate has slots), legitimate large
// requests are answered 200 at once. They used to wait admission.MaxWait
// and get 503.
func TestSlowBodiesDoNotStarveLargeRequests(t *testing.T) {
	gate := admission.New(32<<20, 2, admission.MaxWait, time.Second, nil)
	e := newAPIConfig(t, func(c *Config) { c.Gate = gate })
	var writers []*io.PipeWriter
	done := make(chan struct{})
	for range 4 {
		pr, pw := io.Pipe()
		writers = append(writers, pw)
		req := httptest.NewRequest("POST", "/v2/models/iris/infer", pr)
		req.ContentLength = 1 << 20
		go func() {
			defer func() { done <- struct{}{} }()
			e.ServeHTTP(httptest.NewRecorder(), req)
		}()
		// The first bytes, then nothing: the client trickles.
		go func() { _, _ = pw.Write([]byte(`{"inputs":[{"name":"input","shape":[1,4],`)) }()
	}
	time.Sleep(50 * time.Millisecond)
	defer func() {
		for _, pw := range writers {
			_ = pw.CloseWithError(io.ErrUnexpectedEOF)
		}
		for range writers {
			<-done
		}
	}()
	// A 72 KB OIP request: 2,000 rows with padded digits.
	row := "5.100000,3.500000,1.400000,0.200000"
	body := fmt.Sprintf(`{"inputs":[{"name":"input","shape":[2000,4],"datatype":"FP64","data":[%s]}]}`,
		strings.TrimSuffix(strings.Repeat(row+",", 2000), ","))
	if len(body) < admission.Large {
		t.Fatalf("the legitimate request is %d bytes, not large", len(body))
	}
	for i := range 3 {
		start := time.Now()
		w := do(e, "POST", "/v2/models/iris/infer", "application/json", body)
		t.Logf("large request %d (%d bytes) beside 4 slow clients: %d in %v", i, len(body), w.Code, time.Since(start))
		if w.Code != 200 {
			t.Fatalf("large request %d beside 4 slow clients: %d %.200s", i, w.Code, w.Body)
		}
	}
}
