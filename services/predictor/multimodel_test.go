package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/modelferry/modelferry/devstack/testkit/s3test"
	"github.com/modelferry/modelferry/pkg/inferencepb"
	"github.com/modelferry/modelferry/pkg/modelstore"
	"github.com/modelferry/modelferry/pkg/testmodel"
)

// load sends requests to one model over REST or gRPC until stopped, and
// counts them, the failures, and the versions that answered.
type load struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	versions   map[string]bool
	lastErr    atomic.Value
}

func (l *load) answered(version string, err error) {
	if err != nil {
		l.failed.Add(1)
		l.lastErr.Store(err.Error())
		return
	}
	l.ok.Add(1)
	l.mu.Lock()
	l.versions[version] = true
	l.mu.Unlock()
}

func (l *load) served(version string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.versions[version]
}

func restPredict(client *http.Client, base, model string) (string, error) {
	resp, err := client.Post(base+"/predict?model="+model, "application/json", strings.NewReader(seed))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || resp.StatusCode != 200 || a.Label != "setosa" {
		return "", fmt.Errorf("POST /predict?model=%s: %d %+v %v", model, resp.StatusCode, a, err)
	}
	return a.Model.Version, nil
}

func grpcInfer(ctx context.Context, client inferencepb.GRPCInferenceServiceClient, model string) (string, error) {
	resp, err := client.ModelInfer(ctx, &inferencepb.ModelInferRequest{ModelName: model, Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{{
		Name: "input", Datatype: "FP64", Shape: []int64{1, 4},
		Contents: &inferencepb.InferTensorContents{Fp64Contents: []float64{5.1, 3.5, 1.4, 0.2}},
	}}})
	if err != nil {
		return "", err
	}
	if resp.ModelName != model || len(resp.Outputs) != 3 || string(resp.Outputs[0].Contents.BytesContents[0]) != "setosa" {
		return "", fmt.Errorf("ModelInfer %s: %v", model, resp)
	}
	return resp.ModelVersion, nil
}

// TestManyModelsUnderLoad serves every model of the bucket: three models
// are each retrained and promoted while REST and gRPC clients load all of
// them, and not one request fails; a model published meanwhile is served
// within two poll intervals; grpcurl reaches the service by reflection.
func TestManyModelsUnderLoad(t *testing.T) {
	s3 := s3test.Start(t)
	store, err := modelstore.OpenS3(modelstore.S3Options{Endpoint: s3.Endpoint, AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, Bucket: "modelferry"}, modelstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.EnsureBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	d := testmodel.Iris(t)
	models := []string{"iris", "setosa-detector", "flowers"}
	first := map[string]string{}
	for _, m := range models {
		first[m] = testmodel.Publish(t, store, d, m, "production", 1).Version
	}
	addr, grpcAddr := s3test.FreeAddr(t), s3test.FreeAddr(t)
	base := "http://" + addr
	const poll = time.Second
	env := map[string]string{
		"PREDICTOR_ADDR": addr, "PREDICTOR_GRPC_ADDR": grpcAddr, "PREDICTOR_MODELS": "*",
		"PREDICTOR_POLL_INTERVAL": poll.String(), "PREDICTOR_SHUTDOWN_DELAY": "0s",
		"S3_ENDPOINT": s3.Endpoint, "S3_ACCESS_KEY": s3test.AccessKey, "S3_SECRET_KEY": s3test.SecretKey,
	}
	stop := startPredictor(t, base, env)
	defer stop()
	for deadline := time.Now().Add(30 * time.Second); status(t, base+"/readyz") != 200; {
		if time.Now().After(deadline) {
			t.Fatal("not ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var listed struct {
		Default string `json:"default"`
		Models  []struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			Ready   bool   `json:"ready"`
		} `json:"models"`
	}
	getJSON(t, base+"/models", &listed)
	if listed.Default != "iris" || len(listed.Models) != 3 {
		t.Fatalf("GET /models: %+v", listed)
	}
	for _, m := range listed.Models {
		if !m.Ready || m.Version != first[m.Name] {
			t.Errorf("GET /models: %+v", m)
		}
	}

	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	grpcClient := inferencepb.NewGRPCInferenceServiceClient(conn)
	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	loads := map[string]*load{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, m := range models {
		for _, proto := range []string{"rest", "grpc"} {
			l := &load{versions: map[string]bool{}}
			loads[m+" over "+proto] = l
			for range 2 {
				wg.Go(func() {
					for ctx.Err() == nil {
						var v string
						var err error
						if proto == "rest" {
							v, err = restPredict(httpClient, base, m)
						} else {
							v, err = grpcInfer(ctx, grpcClient, m)
						}
						if ctx.Err() != nil {
							return
						}
						l.answered(v, err)
					}
				})
			}
		}
	}
	// Retrain and promote each model under the load.
	second := map[string]string{}
	for _, m := range models {
		time.Sleep(300 * time.Millisecond)
		second[m] = testmodel.Publish(t, store, d, m, "production", 0.5).Version
	}
	// A model published while the predictor runs is served within two
	// poll intervals.
	published := time.Now()
	newest := testmodel.Publish(t, store, d, "newest", "production", 1).Version
	var servedAfter time.Duration
	for {
		if v, err := restPredict(httpClient, base, "newest"); err == nil && v == newest {
			servedAfter = time.Since(published)
			break
		}
		if time.Since(published) > 10*poll {
			t.Fatalf("newest not served %v after it was published", time.Since(published))
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("a model published while serving was served after %v (poll interval %v)", servedAfter, poll)
	if servedAfter > 2*poll {
		t.Errorf("newest served %v after it was published, more than two poll intervals (%v)", servedAfter, 2*poll)
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		all := true
		for name, l := range loads {
			all = all && l.served(second[strings.Fields(name)[0]])
		}
		if all || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	cancel()
	wg.Wait()
	for name, l := range loads {
		m := strings.Fields(name)[0]
		t.Logf("%s: %d answered, %d failed, versions %v", name, l.ok.Load(), l.failed.Load(), l.versions)
		if l.failed.Load() != 0 {
			t.Errorf("%s: %d failed requests (last: %v)", name, l.failed.Load(), l.lastErr.Load())
		}
		if l.ok.Load() == 0 || !l.served(first[m]) || !l.served(second[m]) {
			t.Errorf("%s: versions answered %v, want %s then %s", name, l.versions, first[m], second[m])
		}
	}

	t.Run("grpcurl", func(t *testing.T) {
		grpcurl, err := exec.LookPath("grpcurl")
		if err != nil {
			t.Fatal("grpcurl not on PATH: run `make test-tools` (make test does)")
		}
		run := func(args ...string) []byte {
			t.Helper()
			out, err := exec.Command(grpcurl, append([]string{"-plaintext"}, args...)...).CombinedOutput()
			if err != nil {
				t.Fatalf("grpcurl %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			return out
		}
		services := strings.Fields(string(run(grpcAddr, "list")))
		for _, want := range []string{"inference.GRPCInferenceService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"} {
			if !slices.Contains(services, want) {
				t.Errorf("grpcurl list: %v lacks %s", services, want)
			}
		}
		if out := run("-d", `{"service": "inference.GRPCInferenceService"}`, grpcAddr, "grpc.health.v1.Health/Check"); !bytes.Contains(out, []byte(`"SERVING"`)) {
			t.Errorf("health: %s", out)
		}
		var resp struct {
			ModelName    string `json:"modelName"`
			ModelVersion string `json:"modelVersion"`
			Outputs      []struct {
				Name     string `json:"name"`
				Contents struct {
					BytesContents []string `json:"bytesContents"`
				} `json:"contents"`
			} `json:"outputs"`
		}
		out := run("-d", `{"model_name": "flowers", "inputs": [{"name": "input", "datatype": "FP64", "shape": [1, 4], "contents": {"fp64_contents": [5.1, 3.5, 1.4, 0.2]}}], "outputs": [{"name": "label"}]}`,
			grpcAddr, "inference.GRPCInferenceService/ModelInfer")
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("%s: %v", out, err)
		}
		// BYTES come base64-encoded in grpcurl's JSON.
		if resp.ModelName != "flowers" || resp.ModelVersion != second["flowers"] || len(resp.Outputs) != 1 ||
			!slices.Equal(resp.Outputs[0].Contents.BytesContents, []string{"c2V0b3Nh"}) {
			t.Errorf("grpcurl ModelInfer: %s", out)
		}
		cmd := exec.Command(grpcurl, "-plaintext", "-d", `{"name": "nope"}`, grpcAddr, "inference.GRPCInferenceService/ModelMetadata")
		if out, err := cmd.CombinedOutput(); err == nil || !bytes.Contains(out, []byte("NotFound")) {
			t.Errorf("grpcurl on a model not served: %v\n%s", err, out)
		}
	})

	t.Run("metrics per model", func(t *testing.T) {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		for _, m := range models {
			for _, want := range []string{
				`predictor_inference_request_success_total{model="` + m + `",protocol="predict"}`,
				`predictor_inference_request_success_total{model="` + m + `",protocol="oip_grpc"}`,
				`predictor_model_info{model="` + m + `",version="` + second[m] + `"} 1`,
				`predictor_model_loaded{model="` + m + `"} 1`,
			} {
				if !bytes.Contains(body, []byte(want)) {
					t.Errorf("metrics lack %s", want)
				}
			}
		}
		if bytes.Contains(body, []byte("predictor_inference_request_failure_total{")) {
			t.Error("failures counted")
		}
	})
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
}
