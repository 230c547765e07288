package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"syscall"
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
	ln, err := listenTCP(cfg.ListenAddr)
	if err != nil {
		return nil, err
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

// listenTCP opens LISTEN_ADDR. Its errors name the variable and what to do:
// a port already taken is the first thing a second `wxoa` or a leftover
// server runs into, and net's "bind: address already in use" names
// neither.
func listenTCP(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	_, port, _ := net.SplitHostPort(addr)
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		next := ":8081"
		if p, perr := strconv.Atoi(port); perr == nil && p > 0 && p < 65535 {
			next = ":" + strconv.Itoa(p+1)
		}
		return nil, fmt.Errorf("LISTEN_ADDR=%s is in use by another process (another wxoa?): stop it "+
			"(`ss -ltnp 'sport = :%s'` names it) or set LISTEN_ADDR to a free address, e.g. LISTEN_ADDR=%s: %w", addr, port, next, err)
	case errors.Is(err, syscall.EACCES):
		return nil, fmt.Errorf("LISTEN_ADDR=%s: a port below 1024 needs root or CAP_NET_BIND_SERVICE; "+
			"listen on a higher port (the default :8080) behind a proxy instead: %w", addr, err)
	}
	return nil, fmt.Errorf("listen on LISTEN_ADDR=%s: %w", addr, err)
}
