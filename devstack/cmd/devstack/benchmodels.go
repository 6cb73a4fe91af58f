package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/modelferry/modelferry/devstack"
)

// benchModels trains iris under 100 model names, then starts a predictor
// serving the first 1, 10 and 100 of them and reports its resident memory
// once they are loaded.
func benchModels(ctx context.Context, tw io.Writer, bin, trainer, s3Addr, accessKey, secretKey, dataDir string) error {
	csv, err := os.ReadFile(filepath.Join(dataDir, "iris.csv"))
	if err != nil {
		return err
	}
	var names []string
	start := time.Now()
	for i := range 100 {
		name := fmt.Sprintf("iris-%03d", i)
		if _, err := post(trainer+"/train?wait=true&model="+name, "text/csv", strings.NewReader(string(csv))); err != nil {
			return err
		}
		names = append(names, name)
	}
	fmt.Fprintf(tw, "train and publish 100 iris models\t%v\n", time.Since(start).Round(time.Millisecond))
	for _, n := range []int{1, 10, 100} {
		resident, hwm, readyAfter, err := predictorRSS(ctx, bin, s3Addr, accessKey, secretKey, names[:n])
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "predictor serving %d iris-size models (PREDICTOR_MODELS lists them)\tRSS %s once loaded (peak %s), ready after %v\n",
			n, mb(resident), mb(hwm), readyAfter.Round(time.Millisecond))
	}
	return nil
}

// predictorRSS starts a predictor serving models, waits until it is ready
// and has settled, and reads its VmRSS and VmHWM (bytes).
func predictorRSS(ctx context.Context, bin, s3Addr, accessKey, secretKey string, models []string) (resident, peak int64, readyAfter time.Duration, err error) {
	addr, err := devstack.FreeAddr()
	if err != nil {
		return 0, 0, 0, err
	}
	grpcAddr, err := devstack.FreeAddr()
	if err != nil {
		return 0, 0, 0, err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "predictor"))
	cmd.Env = append(os.Environ(), "PREDICTOR_ADDR="+addr, "PREDICTOR_GRPC_ADDR="+grpcAddr, "PREDICTOR_MODELS="+strings.Join(models, ","),
		"S3_ENDPOINT="+s3Addr, "S3_ACCESS_KEY="+accessKey, "S3_SECRET_KEY="+secretKey, "LOG_LEVEL=warn", "PREDICTOR_SHUTDOWN_DELAY=0s")
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, 0, err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	for !ready("http://" + addr) {
		if time.Since(start) > time.Minute {
			return 0, 0, 0, fmt.Errorf("a predictor of %d models was not ready within a minute", len(models))
		}
		time.Sleep(20 * time.Millisecond)
	}
	readyAfter = time.Since(start)
	// A few poll rounds and a prediction per model, then the steady state.
	for _, m := range models {
		if _, err := post("http://"+addr+"/predict?model="+m, "application/json",
			strings.NewReader(`{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}`)); err != nil {
			return 0, 0, 0, err
		}
	}
	time.Sleep(3 * time.Second)
	return procStatus(cmd.Process.Pid, "VmRSS:"), procStatus(cmd.Process.Pid, "VmHWM:"), readyAfter, nil
}
