package modelstore

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelferry/modelferry/devstack/testkit/s3test"
)

// wireCounter counts bytes both ways on every connection it dials.
type wireCounter struct{ n atomic.Int64 }

type countedConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c countedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.n.Add(int64(n))
	return n, err
}

func (w *wireCounter) transport() http.RoundTripper {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	d := &net.Dialer{}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countedConn{Conn: c, n: &w.n}, nil
	}
	return tr
}

func reportMedian(b *testing.B, samples []time.Duration) {
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	b.ReportMetric(float64(samples[len(samples)/2].Microseconds()), "median-µs")
	b.ReportMetric(float64(samples[len(samples)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkPublish measures a full publish (two create-only PUTs and the
// verifying read-back) plus the alias move, against versitygw on loopback.
func BenchmarkPublish(b *testing.B) {
	srv := s3test.Start(b)
	ctx := context.Background()
	s := newS3Store(b, srv, 10*time.Second)
	if err := s.EnsureBucket(ctx); err != nil {
		b.Fatal(err)
	}
	etag := ""
	var samples []time.Duration
	for b.Loop() {
		v := NewVersion(time.Now())
		m := artifactBytes("iris", v)
		start := time.Now()
		ref, err := s.Publish(ctx, "iris", v, m, []byte(`{}`))
		if err != nil {
			b.Fatal(err)
		}
		move, err := s.SetAlias(ctx, "production", ref, SetAliasOptions{IfMatch: etag})
		if err != nil {
			b.Fatal(err)
		}
		etag = move.ETag
		samples = append(samples, time.Since(start))
	}
	reportMedian(b, samples)
}

// BenchmarkPollUnchanged measures what a predictor's poll of an unchanged
// alias costs: time and bytes on the wire (304, no body).
func BenchmarkPollUnchanged(b *testing.B) {
	srv := s3test.Start(b)
	ctx := context.Background()
	wc := &wireCounter{}
	s := newS3Store(b, srv, 10*time.Second, func(o *S3Options) { o.Transport = wc.transport() })
	if err := s.EnsureBucket(ctx); err != nil {
		b.Fatal(err)
	}
	v := NewVersion(time.Now())
	ref, err := s.Publish(ctx, "iris", v, artifactBytes("iris", v), []byte(`{}`))
	if err != nil {
		b.Fatal(err)
	}
	move, err := s.SetAlias(ctx, "production", ref, SetAliasOptions{})
	if err != nil {
		b.Fatal(err)
	}
	etag := move.ETag
	var samples []time.Duration
	before := wc.n.Load()
	for b.Loop() {
		start := time.Now()
		_, _, changed, err := s.PollAlias(ctx, "iris", "production", etag)
		if err != nil || changed {
			b.Fatalf("changed=%v err=%v", changed, err)
		}
		samples = append(samples, time.Since(start))
	}
	b.ReportMetric(float64(wc.n.Load()-before)/float64(len(samples)), "wire-bytes/poll")
	reportMedian(b, samples)
}

// BenchmarkListRuns measures what GET /runs?limit=100 and GET /runs/{id}
// cost the store: 1,000 runs of two models on loopback versitygw, a page
// of the newest 100 read one at a time and in parallel, and one run found
// by id through the index.
func BenchmarkListRuns(b *testing.B) {
	srv := s3test.Start(b)
	ctx := context.Background()
	s := newS3Store(b, srv, 10*time.Second)
	if err := s.EnsureBucket(ctx); err != nil {
		b.Fatal(err)
	}
	record := make([]byte, 1500) // about a finished run's JSON
	for i := range 1000 {
		model := []string{"iris", "wine"}[i%2]
		id := fmt.Sprintf("20261126T%06dZ-%08x", i, i)
		if err := s.PutRun(ctx, model, id, record, PutRunOptions{First: true}); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name        string
		parallelism int
	}{{"page-100-sequential", 1}, {"page-100-parallel", readParallelism}} {
		b.Run(bc.name, func(b *testing.B) {
			s.readParallelism = bc.parallelism
			var samples []time.Duration
			for b.Loop() {
				start := time.Now()
				keys, err := s.ListRuns(ctx, "")
				if err != nil || len(keys) != 1000 {
					b.Fatalf("%d keys, %v", len(keys), err)
				}
				if _, err := s.GetRuns(ctx, keys[:100]); err != nil {
					b.Fatal(err)
				}
				samples = append(samples, time.Since(start))
			}
			reportMedian(b, samples)
		})
	}
	b.Run("find-by-id", func(b *testing.B) {
		var samples []time.Duration
		for b.Loop() {
			start := time.Now()
			if _, _, err := s.FindRun(ctx, "20261126T000500Z-000001f4"); err != nil {
				b.Fatal(err)
			}
			samples = append(samples, time.Since(start))
		}
		reportMedian(b, samples)
	})
}
