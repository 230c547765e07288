package main

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"wxoa/config"
	"wxoa/internal/harness"
)

const healthHelp = `Asks the server on this host (LISTEN_ADDR, from the same configuration as
serve) for /healthz and exits 0 if it answers 200 — "degraded" included: the
server still serves. For container health checks, where no curl exists.
`

// healthCommand runs `health`. It needs LISTEN_ADDR only: a probe must not
// fail because an unrelated setting is off, so a configuration that does
// not load falls back to the environment's LISTEN_ADDR or the default.
func healthCommand(ctx context.Context, e env, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("health takes no arguments, got %q", args)
	}
	addr := e.getenv("LISTEN_ADDR")
	if cfg, err := config.Load(e.getenv, e.getenv("ENV_FILE")); err == nil {
		addr = cfg.ListenAddr
	}
	host, port, err := net.SplitHostPort(cmp.Or(addr, ":8080"))
	if err != nil {
		return fmt.Errorf("health: LISTEN_ADDR %q is not host:port", addr)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	if err := harness.Probe(ctx, client, "http://"+net.JoinHostPort(host, port)); err != nil {
		return fmt.Errorf("health: %w", err)
	}
	_, err = fmt.Fprintln(e.stdout, "ok")
	return err
}
