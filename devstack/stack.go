// Package devstack runs the whole system on one machine as real processes:
// an S3 server (versitygw), the trainer, predictors and, when installed,
// Prometheus. `make run` uses it for local development and the end-to-end
// suite uses it to drive the system as a user would.
package devstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Config describes a stack.
type Config struct {
	// BinDir holds the trainer and predictor binaries (make build).
	BinDir string
	// Versitygw is the S3 server binary.
	Versitygw string
	// Prometheus, when set, is started with PrometheusConfig.
	Prometheus       string
	PrometheusConfig string
	// StateDir keeps S3 data (s3/) and Prometheus data (prometheus/).
	StateDir string
	// DataDir holds the trainer's default datasets.
	DataDir string

	S3Addr         string
	TrainerAddr    string
	PredictorAddrs []string
	// PredictorGRPCAddrs are the predictors' gRPC addresses, in the same
	// order; a predictor without one serves no gRPC.
	PredictorGRPCAddrs []string
	PrometheusAddr     string
	AccessKey          string
	SecretKey          string
	// Env adds variables to the trainer's and predictors' environment.
	Env map[string]string
	// Out receives every process's output, each line prefixed with its
	// name.
	Out io.Writer
}

// Stack is a running system.
type Stack struct {
	cfg        Config
	mu         sync.Mutex // serializes writes to cfg.Out
	procsMu    sync.Mutex // guards Prometheus, which may join late
	joined     chan *Proc // a Prometheus started after Wait began
	S3         *Proc
	Trainer    *Proc
	Predictors []*Proc
	Prometheus *Proc
}

// Start launches every process and waits until each answers.
func Start(ctx context.Context, cfg Config) (*Stack, error) {
	s := &Stack{cfg: cfg, joined: make(chan *Proc, 1)}
	s3dir := filepath.Join(cfg.StateDir, "s3")
	if err := os.MkdirAll(s3dir, 0o755); err != nil {
		return nil, err
	}
	s.S3 = s.proc("s3", cfg.Versitygw, []string{"--port", cfg.S3Addr, "--health", "/healthz", "--quiet", "posix", s3dir},
		map[string]string{"ROOT_ACCESS_KEY": cfg.AccessKey, "ROOT_SECRET_KEY": cfg.SecretKey}, cfg.S3Addr, "/healthz", "OK")
	if err := s.S3.Start(ctx); err != nil {
		return nil, err
	}
	common := map[string]string{
		"S3_ENDPOINT": cfg.S3Addr, "S3_ACCESS_KEY": cfg.AccessKey, "S3_SECRET_KEY": cfg.SecretKey,
		"LOG_FORMAT": "text",
	}
	for k, v := range cfg.Env {
		common[k] = v
	}
	trainerEnv := merge(common, map[string]string{"TRAINER_ADDR": cfg.TrainerAddr, "TRAINER_DATA_DIR": cfg.DataDir})
	// The console's serving pages read the stack's Prometheus.
	if _, set := cfg.Env["TRAINER_PROMETHEUS_URL"]; cfg.Prometheus != "" && !set {
		trainerEnv["TRAINER_PROMETHEUS_URL"] = "http://" + cfg.PrometheusAddr
	}
	s.Trainer = s.proc("trainer", filepath.Join(cfg.BinDir, "trainer"), nil, trainerEnv, cfg.TrainerAddr, "/readyz", `"status":"ready"`)
	if err := s.Trainer.Start(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	for i, addr := range cfg.PredictorAddrs {
		name := "predictor"
		if len(cfg.PredictorAddrs) > 1 {
			name = fmt.Sprintf("predictor-%d", i+1)
		}
		grpcAddr := "off"
		if i < len(cfg.PredictorGRPCAddrs) {
			grpcAddr = cfg.PredictorGRPCAddrs[i]
		}
		p := s.proc(name, filepath.Join(cfg.BinDir, "predictor"), nil,
			merge(common, map[string]string{"PREDICTOR_ADDR": addr, "PREDICTOR_GRPC_ADDR": grpcAddr}), addr, "/healthz", `"status":"ok"`)
		if grpcAddr != "off" {
			p.grpcAddr = grpcAddr
		}
		if err := p.Start(ctx); err != nil {
			s.Stop()
			return nil, err
		}
		s.Predictors = append(s.Predictors, p)
	}
	if cfg.Prometheus != "" {
		if err := s.StartPrometheus(ctx, cfg.Prometheus); err != nil {
			s.Stop()
			return nil, err
		}
	}
	return s, nil
}

// StartPrometheus starts Prometheus at path, with cfg.PrometheusConfig,
// and waits until it is ready: at Start (cfg.Prometheus) or later, once
// the rest serves (`make run` while it builds Prometheus). Wait watches it
// from then on.
func (s *Stack) StartPrometheus(ctx context.Context, path string) error {
	tsdb := filepath.Join(s.cfg.StateDir, "prometheus")
	p := s.proc("prometheus", path, []string{
		"--config.file=" + s.cfg.PrometheusConfig, "--storage.tsdb.path=" + tsdb,
		"--web.listen-address=" + s.cfg.PrometheusAddr, "--log.level=warn",
	}, nil, s.cfg.PrometheusAddr, "/-/ready", "Ready")
	s.procsMu.Lock()
	s.Prometheus = p
	s.procsMu.Unlock()
	if err := p.Start(ctx); err != nil {
		_ = p.Stop(5 * time.Second)
		s.procsMu.Lock()
		s.Prometheus = nil
		s.procsMu.Unlock()
		return err
	}
	select {
	case s.joined <- p:
	default: // a second Prometheus: the first one's watch stays
	}
	return nil
}

// Wait blocks until a process exits, and returns an error naming it, or
// until ctx ends, and returns ctx's error.
func (s *Stack) Wait(ctx context.Context) error {
	s.procsMu.Lock()
	procs := append([]*Proc{s.S3, s.Trainer}, s.Predictors...)
	if s.Prometheus != nil && s.Prometheus.Done() != nil {
		procs = append(procs, s.Prometheus)
	}
	s.procsMu.Unlock()
	exited := make(chan *Proc, len(procs)+1)
	watch := func(p *Proc) {
		done := p.Done()
		go func() {
			select {
			case <-done:
				exited <- p
			case <-ctx.Done():
			}
		}()
	}
	for _, p := range procs {
		if p != nil {
			watch(p)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case p := <-s.joined:
			watch(p)
		case p := <-exited:
			return fmt.Errorf("%s exited unexpectedly (%s)", p.Name, p.exitStatus())
		}
	}
}

// Stop ends every process, services first, each with SIGTERM.
func (s *Stack) Stop() {
	var procs []*Proc
	s.procsMu.Lock()
	if s.Prometheus != nil {
		procs = append(procs, s.Prometheus)
	}
	s.procsMu.Unlock()
	procs = append(procs, s.Predictors...)
	if s.Trainer != nil {
		procs = append(procs, s.Trainer)
	}
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Go(func() { _ = p.Stop(20 * time.Second) })
	}
	wg.Wait()
	if s.S3 != nil {
		_ = s.S3.Stop(5 * time.Second)
	}
}

func merge(a, b map[string]string) map[string]string {
	out := make(map[string]string, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// Proc is one supervised process that can be stopped and started again.
type Proc struct {
	Name  string
	stack *Stack
	path  string
	args  []string
	env   map[string]string
	// addr is where the process listens; it is healthy when GET health
	// there answers 200 with want in the body.
	addr, health, want string
	// grpcAddr, when set, is a second address it listens on (a
	// predictor's gRPC).
	grpcAddr string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func (s *Stack) proc(name, path string, args []string, env map[string]string, addr, health, want string) *Proc {
	return &Proc{Name: name, stack: s, path: path, args: args, env: env, addr: addr, health: health, want: want}
}

// PortError is a process's port taken by another program.
type PortError struct {
	Proc, Port string
	Err        error
}

func (e *PortError) Error() string {
	return fmt.Sprintf("%s: port %s is taken by another program: %v", e.Proc, e.Port, e.Err)
}

func (e *PortError) Unwrap() error { return e.Err }

// Start checks that the process's port is free, launches the process and
// waits until it answers its health check, alive.
func (p *Proc) Start(ctx context.Context) error {
	_, port, _ := net.SplitHostPort(p.addr)
	for name, addr := range map[string]string{p.Name: p.addr, p.Name + "-grpc": p.grpcAddr} {
		if addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			_, taken, _ := net.SplitHostPort(addr)
			return &PortError{Proc: name, Port: taken, Err: err}
		}
		if err := ln.Close(); err != nil {
			return err
		}
	}
	cmd := exec.Command(p.path, p.args...)
	cmd.Env = os.Environ()
	for k, v := range p.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	w := &prefixWriter{prefix: fmt.Sprintf("%-12s| ", p.Name), out: p.stack.cfg.Out, mu: &p.stack.mu}
	cmd.Stdout, cmd.Stderr = w, w
	// Its own process group: a Ctrl-C reaches it through Stop only, in
	// order. Should this process die without stopping it, it gets SIGTERM.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		w.flush()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
	deadline := time.Now().Add(30 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-done:
			return fmt.Errorf("%s exited at start (%s)", p.Name, p.exitStatus())
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if resp, err := client.Get("http://" + p.addr + p.health); err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK && !bytes.Contains(body, []byte(p.want)) {
				return fmt.Errorf("%s: port %s answers %s with %q, not as %s does", p.Name, port, p.health, body, p.Name)
			}
			if resp.StatusCode == http.StatusOK {
				select {
				case <-done: // the answer came from another program
				default:
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer %s on port %s within 30s", p.Name, p.health, port)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (p *Proc) exitStatus() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		return "exit status 0"
	}
	return p.err.Error()
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig os.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return errors.New(p.Name + " is not running")
	}
	return p.cmd.Process.Signal(sig)
}

// Done is closed when the current process exits.
func (p *Proc) Done() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// Stop sends SIGTERM and waits, killing the process after timeout. It
// returns the exit error of a process that did not stop cleanly.
func (p *Proc) Stop(timeout time.Duration) error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-done
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cmd = nil
	return p.err
}

// Output returns a writer of whole lines to cfg.Out, each behind name,
// like the processes' own output.
func (s *Stack) Output(name string) io.Writer {
	return &prefixWriter{prefix: fmt.Sprintf("%-12s| ", name), out: s.cfg.Out, mu: &s.mu}
}

// prefixWriter writes whole lines, each behind the process's name.
type prefixWriter struct {
	prefix string
	out    io.Writer
	mu     *sync.Mutex
	buf    bytes.Buffer
}

func (w *prefixWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
	for {
		line, err := w.buf.ReadBytes('\n')
		if err != nil {
			w.buf.Write(line) // incomplete: keep for the next write
			return len(b), nil
		}
		_, _ = io.WriteString(w.out, w.prefix+string(line))
	}
}

func (w *prefixWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() > 0 {
		_, _ = io.WriteString(w.out, w.prefix+w.buf.String()+"\n")
		w.buf.Reset()
	}
}

// PID is the current process's id, 0 when stopped.
func (p *Proc) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// FreeAddr returns a loopback host:port nothing listens on right now.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
