package grpcapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/modelferry/modelferry/pkg/inferencepb"
)

// ComponentConfig is how the gRPC server lives.
type ComponentConfig struct {
	Logger *slog.Logger
	// MaxMessageBytes bounds a request message (PREDICTOR_MAX_BODY_BYTES).
	MaxMessageBytes int
	// Token, when set, is required as a bearer token in the authorization
	// metadata of every inference call but the server's liveness,
	// readiness and metadata (PREDICTOR_TOKEN); health and reflection
	// stay open.
	Token string
	// Ready is the predictor's readiness, which the health service
	// reports.
	Ready func() bool
	// DrainDelay is how long the health service says NOT_SERVING before
	// the server stops taking calls; ShutdownTimeout bounds the wait for
	// calls in flight.
	DrainDelay, ShutdownTimeout time.Duration
}

// Component serves the inference service, the gRPC health service and
// server reflection on a listener, as a run group component.
type Component struct {
	cfg    ComponentConfig
	ln     net.Listener
	srv    *grpc.Server
	health *health.Server
	done   chan struct{}
}

// healthPoll is how often the health service catches up with readiness.
const healthPoll = 250 * time.Millisecond

// Flow-control windows, fixed: a message not yet read (its call waiting
// for the gate) holds at most streamWindow bytes in the transport, where
// the default dynamic window would let a client send megabytes unread.
const (
	streamWindow = 64 << 10
	connWindow   = 1 << 20
)

// NewComponent registers svc on a new gRPC server for ln.
func NewComponent(ln net.Listener, svc *Server, cfg ComponentConfig) *Component {
	opts := append(authInterceptors(cfg.Token), grpc.MaxRecvMsgSize(cfg.MaxMessageBytes),
		grpc.InitialWindowSize(streamWindow), grpc.InitialConnWindowSize(connWindow))
	c := &Component{cfg: cfg, ln: ln, health: health.NewServer(), done: make(chan struct{}), srv: grpc.NewServer(opts...)}
	c.srv.RegisterService(svc.serviceDesc(), svc)
	healthpb.RegisterHealthServer(c.srv, c.health)
	reflection.Register(c.srv)
	c.setHealth()
	return c
}

// Run serves until Interrupt has stopped the server.
func (c *Component) Run() error {
	go func() {
		t := time.NewTicker(healthPoll)
		defer t.Stop()
		for {
			select {
			case <-c.done:
				return
			case <-t.C:
				c.setHealth()
			}
		}
	}()
	c.cfg.Logger.Info("listening", "addr", c.ln.Addr().String(), "protocol", "grpc")
	err := c.srv.Serve(c.ln)
	close(c.done)
	if err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("serve gRPC: %w", err)
	}
	return nil
}

func (c *Component) setHealth() {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if c.cfg.Ready() {
		st = healthpb.HealthCheckResponse_SERVING
	}
	c.health.SetServingStatus("", st)
	c.health.SetServingStatus(inferencepb.GRPCInferenceService_ServiceDesc.ServiceName, st)
}

// Interrupt starts the ordered stop and returns at once: health says
// NOT_SERVING for the drain delay, then calls in flight finish (for at
// most the shutdown timeout) while new ones are refused.
func (c *Component) Interrupt(error) {
	go func() {
		c.health.Shutdown()
		time.Sleep(c.cfg.DrainDelay)
		stopped := make(chan struct{})
		go func() {
			c.srv.GracefulStop()
			close(stopped)
		}()
		select {
		case <-stopped:
		case <-time.After(c.cfg.ShutdownTimeout):
			c.cfg.Logger.Warn("gRPC calls still running at the shutdown timeout; stopping them")
			c.srv.Stop()
		}
	}()
}
