package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"wxoa/config"
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
	if addr == "" {
		addr = ":8080"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("health: LISTEN_ADDR %q is not host:port", addr)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: /healthz answered HTTP %d", resp.StatusCode)
	}
	fmt.Fprintln(e.stdout, "ok")
	return nil
}
