package httpserver

import (
	"log/slog"
	"net/http"
	"time"
)

// Timeouts bound reading a request and writing its answer. A handler that
// needs longer (an upload, a wait for a training) lifts them for its own
// request with http.ResponseController.
type Timeouts struct {
	Read  time.Duration
	Write time.Duration
}

// NewServer returns an http.Server with the given timeouts, a 5 s limit on
// reading headers and a 2 min one on idle keep-alive connections.
func NewServer(h http.Handler, logger *slog.Logger, t Timeouts) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}
