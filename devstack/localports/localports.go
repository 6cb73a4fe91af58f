// Package localports names the ports `make run` listens on, each moved by
// a variable, and checks that they are free before anything is built or
// started. It imports only the standard library, so `make run` compiles
// it in seconds even on an empty Go cache.
package localports

import (
	"fmt"
	"net"
	"strconv"
)

// Port is one port of `make run`.
type Port struct {
	// Proc is the process that listens on it.
	Proc string
	// Env is the variable that moves it; Default applies when it is unset.
	Env, Default string
	// Value is the port in use: the variable's, or Default.
	Value string
}

// defaults are the ports of `make run`, in the order the processes start.
func defaults() []Port {
	return []Port{
		{Proc: "s3", Env: "MODELFERRY_S3_PORT", Default: "9000"},
		{Proc: "trainer", Env: "MODELFERRY_TRAINER_PORT", Default: "8080"},
		{Proc: "predictor", Env: "MODELFERRY_PREDICTOR_PORT", Default: "8000"},
		{Proc: "predictor-grpc", Env: "MODELFERRY_PREDICTOR_GRPC_PORT", Default: "8001"},
		{Proc: "prometheus", Env: "MODELFERRY_PROMETHEUS_PORT", Default: "9090"},
	}
}

// Resolve returns the ports of `make run`, each from its variable or its
// default; a value that is not a port number is an error naming the
// variable.
func Resolve(getenv func(string) string) ([]Port, error) {
	ports := defaults()
	for i := range ports {
		p := &ports[i]
		p.Value = getenv(p.Env)
		if p.Value == "" {
			p.Value = p.Default
		}
		if n, err := strconv.Atoi(p.Value); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%s=%q: want a port number, 1 to 65535", p.Env, p.Value)
		}
	}
	return ports, nil
}

// Map returns the ports by process name.
func Map(ports []Port) map[string]string {
	m := make(map[string]string, len(ports))
	for _, p := range ports {
		m[p.Proc] = p.Value
	}
	return m
}

// TakenError is a port of `make run` that another program holds.
type TakenError struct {
	Port Port
	Err  error
}

func (e *TakenError) Error() string {
	return fmt.Sprintf("%s: port %s is taken by another program: %v\nstop that program, or choose another port: %s=<port> make run",
		e.Port.Proc, e.Port.Value, e.Err, e.Port.Env)
}

func (e *TakenError) Unwrap() error { return e.Err }

// Check listens on each port on loopback, where `make run` binds, and
// closes it again; the first port it cannot take is a *TakenError. A
// program holding the port on every interface takes it on loopback too.
func Check(ports []Port) error {
	for _, p := range ports {
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", p.Value))
		if err != nil {
			return &TakenError{Port: p, Err: err}
		}
		if err := ln.Close(); err != nil {
			return fmt.Errorf("%s: close port %s: %w", p.Proc, p.Value, err)
		}
	}
	return nil
}
