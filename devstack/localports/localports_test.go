package localports

import (
	"errors"
	"net"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    map[string]string
		wantErr string
	}{
		{"defaults", nil, map[string]string{"s3": "9000", "trainer": "8080", "predictor": "8000", "predictor-grpc": "8001", "prometheus": "9090"}, ""},
		{"moved", map[string]string{"MODELFERRY_TRAINER_PORT": "18080"}, map[string]string{"trainer": "18080", "predictor": "8000"}, ""},
		{"not a number", map[string]string{"MODELFERRY_PREDICTOR_PORT": "80800"}, nil, `MODELFERRY_PREDICTOR_PORT="80800": want a port number`},
		{"zero", map[string]string{"MODELFERRY_S3_PORT": "0"}, nil, `MODELFERRY_S3_PORT="0"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ports, err := Resolve(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Resolve: %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := Map(ports)
			for proc, port := range tc.want {
				if got[proc] != port {
					t.Errorf("%s: port %s, want %s", proc, got[proc], port)
				}
			}
		})
	}
}

// A port held by another program, on loopback or on every interface, is an
// error naming the port and the variable that moves it; free ports pass.
func TestCheck(t *testing.T) {
	for _, host := range []string{"127.0.0.1", ""} {
		t.Run("held on "+host, func(t *testing.T) {
			ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			_, taken, _ := net.SplitHostPort(ln.Addr().String())
			free := freePort(t)
			ports, err := Resolve(func(k string) string {
				if k == "MODELFERRY_PREDICTOR_PORT" {
					return taken
				}
				return free[k]
			})
			if err != nil {
				t.Fatal(err)
			}
			err = Check(ports)
			var te *TakenError
			if !errors.As(err, &te) || te.Port.Value != taken {
				t.Fatalf("Check: %v, want a TakenError for port %s", err, taken)
			}
			for _, want := range []string{"predictor: port " + taken, "MODELFERRY_PREDICTOR_PORT=<port> make run"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
	t.Run("all free", func(t *testing.T) {
		free := freePort(t)
		ports, err := Resolve(func(k string) string { return free[k] })
		if err != nil {
			t.Fatal(err)
		}
		if err := Check(ports); err != nil {
			t.Fatalf("Check: %v", err)
		}
	})
}

// freePort returns a free loopback port for each variable.
func freePort(t *testing.T) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, k := range []string{"MODELFERRY_S3_PORT", "MODELFERRY_TRAINER_PORT", "MODELFERRY_PREDICTOR_PORT", "MODELFERRY_PREDICTOR_GRPC_PORT", "MODELFERRY_PROMETHEUS_PORT"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		_, m[k], _ = net.SplitHostPort(ln.Addr().String())
		_ = ln.Close()
	}
	return m
}
