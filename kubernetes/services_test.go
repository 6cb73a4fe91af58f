package kubernetes

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/modelferry/modelferry/devstack/testkit/s3test"
)

// service is a binary of this repository as its --help describes it.
type service struct {
	name string // the Deployment, its container, and the prefix of its variables
	bin  string
	vars map[string]variable
	// dirs are the variables naming directories the service writes to.
	dirs []string
}

type variable struct {
	def    string
	secret bool // may come from NAME_FILE
}

// goRuntimeVar reports whether name is read by the Go runtime, which a
// manifest may set.
func goRuntimeVar(name string) bool {
	return name == "GOMEMLIMIT" || name == "GOMAXPROCS" || name == "GOGC"
}

// buildServices builds the trainer and the predictor and reads the
// variables their --help lists.
func buildServices(t *testing.T) []service {
	t.Helper()
	dir := t.TempDir()
	services := []service{
		{name: "trainer", dirs: []string{"TRAINER_TMP_DIR"}},
		{name: "predictor", dirs: []string{"PREDICTOR_CACHE_DIR"}},
	}
	for i := range services {
		s := &services[i]
		s.bin = filepath.Join(dir, s.name)
		build := exec.Command("go", "build", "-o", s.bin, "../services/"+s.name)
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", s.name, err, out)
		}
		help, err := exec.Command(s.bin, "--help").Output()
		if err != nil {
			t.Fatalf("%s --help: %v", s.name, err)
		}
		s.vars = parseHelp(t, help)
		for _, v := range append([]string{addrVar(s.name)}, s.dirs...) {
			if _, ok := s.vars[v]; !ok {
				t.Fatalf("%s --help lacks %s", s.name, v)
			}
		}
	}
	return services
}

// parseHelp reads envconfig's table: VARIABLE [(or VARIABLE_FILE)],
// DEFAULT ("-" for none), DESCRIPTION, in columns two spaces apart.
func parseHelp(t *testing.T, help []byte) map[string]variable {
	t.Helper()
	vars := map[string]variable{}
	cols := regexp.MustCompile(`\s{2,}`)
	sc := bufio.NewScanner(bytes.NewReader(help))
	header := false
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "VARIABLE ") {
			header = true
			continue
		}
		if !header {
			continue
		}
		f := cols.Split(sc.Text(), 3)
		if len(f) < 2 {
			t.Fatalf("--help line %q: want VARIABLE  DEFAULT  DESCRIPTION", sc.Text())
		}
		name, _, _ := strings.Cut(f[0], " ")
		v := variable{def: f[1], secret: strings.Contains(f[0], "(or "+name+"_FILE)")}
		if v.def == "-" {
			v.def = ""
		}
		vars[name] = v
	}
	if len(vars) == 0 {
		t.Fatalf("--help lists no variables:\n%s", help)
	}
	return vars
}

func addrVar(name string) string { return strings.ToUpper(name) + "_ADDR" }

// checkService holds a service's Deployment to the service's own
// configuration, then starts the binary with the Deployment's environment.
func checkService(t *testing.T, o *objects, d *appsv1.Deployment, s service) {
	t.Helper()
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 || pod.Containers[0].Name != s.name {
		t.Fatalf("%s: want one container named %s", d.Name, s.name)
	}
	c := pod.Containers[0]
	env := containerEnv(t, o, c)
	for name := range env {
		base, isFile := strings.CutSuffix(name, "_FILE")
		if _, known := s.vars[name]; !known && !goRuntimeVar(name) && !(isFile && s.vars[base].secret) {
			t.Errorf("%s sets %s, which %s does not read", d.Name, name, s.name)
		}
	}
	get := func(name string) string {
		if v, ok := env[name]; ok {
			return v
		}
		return s.vars[name].def
	}
	duration := func(name string) time.Duration {
		v, err := time.ParseDuration(get(name))
		if err != nil {
			t.Fatalf("%s: %s: %v", d.Name, name, err)
		}
		return v
	}

	_, port, err := net.SplitHostPort(get(addrVar(s.name)))
	if err != nil {
		t.Fatalf("%s: %s: %v", d.Name, addrVar(s.name), err)
	}
	httpPort := containerPort(d, intstr.FromString("http"))
	if port != strconv.Itoa(int(httpPort)) {
		t.Errorf("%s: %s listens on %s, the container port http is %d", d.Name, addrVar(s.name), port, httpPort)
	}
	if s.name == "predictor" {
		_, grpcPort, err := net.SplitHostPort(get("PREDICTOR_GRPC_ADDR"))
		if err != nil || grpcPort != strconv.Itoa(int(containerPort(d, intstr.FromString("grpc")))) {
			t.Errorf("%s: PREDICTOR_GRPC_ADDR listens on %s (%v), the container port grpc is %d", d.Name, grpcPort, err, containerPort(d, intstr.FromString("grpc")))
		}
	}
	if a := d.Spec.Template.Annotations; a["prometheus.io/scrape"] != "true" || a["prometheus.io/port"] != port || a["prometheus.io/path"] != "/metrics" {
		t.Errorf("%s: scrape annotations %v, want port %s and /metrics", d.Name, a, port)
	}
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" {
		t.Errorf("%s: the readiness probe is not GET /readyz", d.Name)
	}
	if p := c.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" {
		t.Errorf("%s: the liveness probe is not GET /healthz", d.Name)
	}
	checkFiles(t, o, d, c, env)
	checkDirs(t, d, c, s, get)

	grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	switch s.name {
	case "predictor":
		delay, timeout := duration("PREDICTOR_SHUTDOWN_DELAY"), duration("PREDICTOR_SHUTDOWN_TIMEOUT")
		var sleep time.Duration
		if l := c.Lifecycle; l != nil && l.PreStop != nil && l.PreStop.Sleep != nil {
			sleep = time.Duration(l.PreStop.Sleep.Seconds) * time.Second
		}
		if sleep != delay {
			t.Errorf("predictor: preStop sleeps %v, PREDICTOR_SHUTDOWN_DELAY is %v", sleep, delay)
		}
		if grace < sleep+delay+timeout {
			t.Errorf("predictor: terminationGracePeriodSeconds %v < preStop %v + delay %v + timeout %v", grace, sleep, delay, timeout)
		}
		if get("PREDICTOR_CACHE_DIR") == "" {
			t.Error("predictor: PREDICTOR_CACHE_DIR is off: no model while S3 is down")
		}
	case "trainer":
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			t.Errorf("trainer: want one replica and the Recreate strategy (one trainer per bucket)")
		}
		if timeout := duration("TRAINER_SHUTDOWN_TIMEOUT"); grace <= timeout {
			t.Errorf("trainer: terminationGracePeriodSeconds %v <= TRAINER_SHUTDOWN_TIMEOUT %v", grace, timeout)
		}
	}
	runService(t, s, c, d.Spec.Template.Annotations["prometheus.io/path"], env)
}

// checkFiles: each NAME_FILE names a key of a Secret mounted at its
// directory (and present when the Secret is rendered too).
func checkFiles(t *testing.T, o *objects, d *appsv1.Deployment, c corev1.Container, env map[string]string) {
	t.Helper()
	for name, path := range env {
		if !strings.HasSuffix(name, "_FILE") {
			continue
		}
		vol := mountedVolume(d, c, filepath.Dir(path))
		if vol == nil || vol.Secret == nil {
			t.Errorf("%s: %s=%s is not in a mounted Secret", d.Name, name, path)
			continue
		}
		if sec := o.Secrets[vol.Secret.SecretName]; sec != nil {
			if _, ok := sec.Data[filepath.Base(path)]; !ok {
				t.Errorf("%s: %s: Secret %s has no key %s", d.Name, name, sec.Name, filepath.Base(path))
			}
		}
	}
}

// checkDirs: the directories a service writes to are emptyDir volumes (the
// root file system is read-only), the trainer's big enough for an upload.
func checkDirs(t *testing.T, d *appsv1.Deployment, c corev1.Container, s service, get func(string) string) {
	t.Helper()
	for _, name := range s.dirs {
		vol := mountedVolume(d, c, get(name))
		if vol == nil || vol.EmptyDir == nil {
			t.Errorf("%s: %s=%q is not an emptyDir volume", d.Name, name, get(name))
			continue
		}
		if name != "TRAINER_TMP_DIR" {
			continue
		}
		limit, err := strconv.ParseInt(get("TRAINER_MAX_UPLOAD_BYTES"), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if size := vol.EmptyDir.SizeLimit; size == nil || size.Value() < limit {
			t.Errorf("%s: %s holds %v, less than one upload of TRAINER_MAX_UPLOAD_BYTES", d.Name, name, size)
		}
	}
}

func mountedVolume(d *appsv1.Deployment, c corev1.Container, dir string) *corev1.Volume {
	for _, m := range c.VolumeMounts {
		if m.MountPath != filepath.Clean(dir) {
			continue
		}
		for i, v := range d.Spec.Template.Spec.Volumes {
			if v.Name == m.Name {
				return &d.Spec.Template.Spec.Volumes[i]
			}
		}
	}
	return nil
}

// containerEnv is the environment Kubernetes gives c: its ConfigMaps, its
// values, Secret values where the Secret is rendered, resource fields.
func containerEnv(t *testing.T, o *objects, c corev1.Container) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef == nil || o.ConfigMaps[from.ConfigMapRef.Name] == nil {
			t.Fatalf("%s: envFrom %+v: only rendered ConfigMaps are supported", c.Name, from)
		}
		for k, v := range o.ConfigMaps[from.ConfigMapRef.Name].Data {
			env[from.Prefix+k] = v
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.ResourceFieldRef != nil:
			q := c.Resources.Limits[corev1.ResourceName(strings.TrimPrefix(e.ValueFrom.ResourceFieldRef.Resource, "limits."))]
			if q.IsZero() {
				t.Fatalf("%s: %s refers to %s, which is not set", c.Name, e.Name, e.ValueFrom.ResourceFieldRef.Resource)
			}
			env[e.Name] = strconv.FormatInt(q.Value(), 10)
		default:
			t.Fatalf("%s: %s: only values and resource fields are supported", c.Name, e.Name)
		}
	}
	return env
}

// runService starts the binary with the container's environment, but its
// own port, directories and secret files, and S3 unreachable, and asks the
// endpoints the manifests name: liveness answers, readiness says why not
// (no S3), /metrics has the service's metrics.
func runService(t *testing.T, s service, c corev1.Container, metricsPath string, env map[string]string) {
	t.Helper()
	addr := s3test.FreeAddr(t)
	tmp := t.TempDir()
	child := []string{"HOME=" + tmp, "GIN_MODE=release", "AWS_EC2_METADATA_DISABLED=true", "S3_ENDPOINT=127.0.0.1:1"}
	for k, v := range env {
		switch {
		case k == addrVar(s.name):
			v = addr
		case strings.HasSuffix(k, "_ADDR"):
			v = s3test.FreeAddr(t) // another listener (the predictor's gRPC)
		case k == "S3_ENDPOINT":
			continue
		case strings.HasSuffix(k, "_FILE"):
			v = filepath.Join(tmp, k)
			if err := os.WriteFile(v, []byte("secret-"+k), 0o600); err != nil {
				t.Fatal(err)
			}
		case slices.Contains(s.dirs, k):
			v = t.TempDir()
		}
		child = append(child, k+"="+v)
	}
	var out bytes.Buffer
	cmd := exec.Command(s.bin)
	cmd.Env, cmd.Stdout, cmd.Stderr = child, &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})

	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// A guard against a hang, not a speed requirement.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-exited:
			t.Fatalf("%s exited with the manifest's environment: %v\n%s", s.name, err, out.String())
		default:
		}
		if code, _ := get(c.LivenessProbe.HTTPGet.Path); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s did not answer 200\n%s", s.name, c.LivenessProbe.HTTPGet.Path, out.String())
		}
	}
	if code, body := get(c.ReadinessProbe.HTTPGet.Path); code != http.StatusServiceUnavailable || !strings.Contains(body, `"error"`) {
		t.Errorf("%s: %s without S3 answered %d %s, want 503 and why", s.name, c.ReadinessProbe.HTTPGet.Path, code, body)
	}
	if code, body := get(metricsPath); code != http.StatusOK || !strings.Contains(body, "\n"+s.name+"_") {
		t.Errorf("%s: %s answered %d without %s_ metrics", s.name, metricsPath, code, s.name)
	}
}
