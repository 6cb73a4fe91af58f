package wrk

import (
	"testing"
	"time"
)

const report = `Running 5s test @ http://127.0.0.1:8000/predict
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   652.41us    1.21ms  31.05ms   94.03%
    Req/Sec    28.42k     2.01k   33.07k    70.00%
  Latency Distribution
     50%  356.00us
     75%  501.00us
     90%    1.01ms
     99%    7.89ms
  282740 requests in 5.00s, 70.10MB read
  Non-2xx or 3xx responses: 3
Requests/sec:  56531.39
Transfer/sec:     14.02MB
`

func TestParse(t *testing.T) {
	r, err := parse([]byte(report))
	if err != nil {
		t.Fatal(err)
	}
	want := Result{RequestsPerSecond: 56531.39, P50: 356 * time.Microsecond, P99: 7890 * time.Microsecond, Non2xx: 3}
	if r != want {
		t.Errorf("got %+v, want %+v", r, want)
	}
	if _, err := parse([]byte("wrk: connection refused")); err == nil {
		t.Error("a report without throughput parsed")
	}
}
