package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// irisBodies are /predict bodies of every iris row, with shift added to
// petal_width (0: traffic like the training data).
func irisBodies(t *testing.T, shift float64) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "data", "iris.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs[1:] {
		var pw float64
		fmt.Sscan(r[3], &pw)
		out = append(out, fmt.Sprintf(`{"sepal_length": %s, "sepal_width": %s, "petal_length": %s, "petal_width": %g}`, r[0], r[1], r[2], pw+shift))
	}
	return out
}

// modelInfo is what GET /model says of monitoring.
type modelInfo struct {
	Version   string `json:"version"`
	Monitored bool   `json:"monitored"`
	Shadow    *struct {
		Version   string   `json:"version"`
		Rows      uint64   `json:"rows"`
		Agreement *float64 `json:"agreement"`
	} `json:"shadow"`
}

func getModel(t *testing.T, base string) modelInfo {
	t.Helper()
	resp, err := http.Get(base + "/model")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m modelInfo
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMonitoring: drift against the training baseline, shadow scoring of
// the latest version, and sampled payloads, all under load with no failed
// request. Prometheus loads the real alert rules with their 10-minute
// holds cut to 5 seconds.
func TestMonitoring(t *testing.T) {
	rules := t.TempDir()
	src, _ := filepath.Glob(filepath.Join(repoRoot, "prometheus", "rules", "*.yml"))
	for _, f := range src {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(rules, filepath.Base(f)), bytes.ReplaceAll(b, []byte("for: 10m"), []byte("for: 5s")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := startSystem(t, func(o *systemOptions) {
		o.rules = rules
		o.env["PREDICTOR_DRIFT_WINDOW"] = "20s"
		o.env["PREDICTOR_SHADOW_ALIAS"] = "latest"
		o.env["PREDICTOR_LOG_SAMPLE"] = "0.1"
	})
	if r, code := s.train(t, ""); code != 200 || !r.Promoted {
		t.Fatalf("train: %d %+v", code, r)
	}
	p := s.predictors[0]
	waitFor(t, "the model to load", swapTimeout, func() bool { return getModel(t, p).Monitored })
	normal, shifted := irisBodies(t, 0), irisBodies(t, 3)
	var sent int64

	t.Run("an identical shadow agrees exactly; training-like traffic does not drift", func(t *testing.T) {
		l := startLoadOf(t, []string{p}, 4, func(i int) string { return normal[i%len(normal)] })
		waitFor(t, "shadow rows", 30*time.Second, func() bool {
			m := getModel(t, p)
			return m.Shadow != nil && m.Shadow.Rows > 500
		})
		time.Sleep(3 * time.Second) // a few scrapes of the drift gauges
		l.finish(t, "training-like traffic")
		sent += l.ok.Load()
		m := getModel(t, p)
		if m.Shadow.Version != m.Version || m.Shadow.Agreement == nil || *m.Shadow.Agreement != 1 {
			t.Errorf("identical shadow: %+v", m.Shadow)
		}
		if psi := promValue(t, s, `max(predictor_feature_psi{model="iris"})`); psi > 0.1 {
			t.Errorf("training-like traffic has PSI %v", psi)
		}
	})

	t.Run("a different candidate agrees less; shifted traffic fires FeatureDrift", func(t *testing.T) {
		// Labels rotated: a model that answers differently, published as
		// latest but never promoted (fitted on every row).
		b, err := os.ReadFile(filepath.Join(repoRoot, "data", "iris.csv"))
		if err != nil {
			t.Fatal(err)
		}
		rot := strings.NewReplacer("setosa", "versicolor", "versicolor", "virginica", "virginica", "setosa").Replace(string(b))
		resp, err := http.Post(s.trainer+"/train?wait=true&test_fraction=0", "text/csv", strings.NewReader(rot))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("train the candidate: %v %v", resp.Status, err)
		}
		var cand run
		_ = json.NewDecoder(resp.Body).Decode(&cand)
		resp.Body.Close()
		waitFor(t, "the shadow to load the candidate", swapTimeout, func() bool {
			m := getModel(t, p)
			return m.Shadow != nil && m.Shadow.Version == cand.Version
		})
		l := startLoadOf(t, []string{p}, 4, func(i int) string { return shifted[i%len(shifted)] })
		deadline := time.Now().Add(60 * time.Second)
		for {
			data, err := promQuery(s, `ALERTS{alertname="FeatureDrift", alertstate="firing", model="iris", feature="petal_width"}`)
			if err == nil && strings.Contains(string(data), "petal_width") {
				break
			}
			if time.Now().After(deadline) {
				psi, _ := promQuery(s, `predictor_feature_psi`)
				rows, _ := promQuery(s, `predictor_drift_window_rows`)
				alerts, _ := promQuery(s, `ALERTS`)
				t.Fatalf("FeatureDrift did not fire within 60s: psi %s\nrows %s\nalerts %s", psi, rows, alerts)
			}
			time.Sleep(200 * time.Millisecond)
		}
		m := getModel(t, p)
		l.finish(t, "shifted traffic")
		sent += l.ok.Load()
		if m.Shadow.Agreement == nil || *m.Shadow.Agreement > 0.5 {
			t.Errorf("a candidate with rotated labels agrees %v", m.Shadow.Agreement)
		}
		if psi := promValue(t, s, `predictor_feature_psi{model="iris", feature="sepal_length", instance="`+strings.TrimPrefix(p, "http://")+`"}`); psi > 0.1 {
			t.Errorf("an unshifted feature has PSI %v", psi)
		}
		if psi := promValue(t, s, `predictor_feature_psi{model="iris", feature="petal_width", instance="`+strings.TrimPrefix(p, "http://")+`"}`); psi < 0.2 {
			t.Errorf("the shifted feature has PSI %v", psi)
		}
	})

	t.Run("the console's serving figures", func(t *testing.T) { sent += checkServing(t, s, p) })

	t.Run("about a tenth of the requests are in logs/, readable", func(t *testing.T) {
		// A SIGTERM flushes the sampler's last batch.
		if err := s.stack.Predictors[0].Stop(30 * time.Second); err != nil {
			t.Fatal(err)
		}
		c, err := minio.New(s.s3, &minio.Options{Creds: credentials.NewStaticV4(accessKey, secretKey, "")})
		if err != nil {
			t.Fatal(err)
		}
		lines := 0
		for obj := range c.ListObjects(context.Background(), "modelferry", minio.ListObjectsOptions{Prefix: "logs/iris/", Recursive: true}) {
			if obj.Err != nil {
				t.Fatal(obj.Err)
			}
			o, err := c.GetObject(context.Background(), "modelferry", obj.Key, minio.GetObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(o)
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var l struct {
					Model    string          `json:"model"`
					Request  json.RawMessage `json:"request"`
					Response json.RawMessage `json:"response"`
				}
				if err := json.Unmarshal(sc.Bytes(), &l); err != nil || l.Model != "iris" || !bytes.Contains(l.Request, []byte("petal_width")) || !bytes.Contains(l.Response, []byte("label")) {
					t.Fatalf("%s: line %s: %v", obj.Key, sc.Bytes(), err)
				}
				lines++
			}
			o.Close()
		}
		share := float64(lines) / float64(sent)
		t.Logf("%d of %d requests logged (%.3f)", lines, sent, share)
		if share < 0.08 || share > 0.12 {
			t.Errorf("%d of %d requests logged: share %.3f, want 0.1 ± 0.02", lines, sent, share)
		}
	})
}
