package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"wxoa/config"
	"wxoa/internal/connlimit"
)

// listen opens LISTEN_ADDR behind the connection cap: MAX_CONNECTIONS, or
// by default half the open-file limit (raised to its hard limit first) up
// to connlimit.Ceiling. Both limits and the cap are logged: "too many open
// files" is only diagnosable knowing them.
func listen(cfg *config.Config, log *slog.Logger) (*connlimit.Listener, error) {
	soft, hard, err := connlimit.RaiseFileLimit()
	if err != nil {
		log.Warn("open-file limit not raised", "soft", soft, "hard", hard, "err", err)
	}
	limit := cfg.MaxConnections
	if limit == 0 {
		limit = connlimit.DefaultMax(soft)
	} else if soft > 0 && uint64(limit) > soft/2 {
		log.Warn("MAX_CONNECTIONS is more than half the open-file limit: outbound connections and files may find no descriptor left (then idle connections are closed to free one)",
			"max_connections", limit, "soft", soft)
	}
	log.Info("open-file limit", "soft", soft, "hard", hard, "max_connections", limit)
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on LISTEN_ADDR %s: %w", cfg.ListenAddr, err)
	}
	return connlimit.New(ln, connlimit.Config{Max: limit, Logger: log})
}

// newHTTPServer serves h on connections admitted by lim.
//
// IdleTimeout is 120 s, longer than the idle timeouts of the clients that
// keep connections: Go's http.Transport (90 s, business services),
// nginx's upstream keepalive_timeout (60 s, deploy/nginx.conf.example). A
// client then always closes an idle connection before we do, and never
// sends a request on one we are closing (a lost POST: Go's client does not
// retry it). WeChat's pushes come at the rate users write, each answered
// within 5 s, so a longer timeout would buy it little reuse. What idle
// connections cost is bounded by the cap, not by this timeout: at the cap
// the one idle longest is closed for each new connection.
func newHTTPServer(h http.Handler, log *slog.Logger, lim *connlimit.Listener) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ConnState:         lim.ConnState,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
