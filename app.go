package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"wxoa/config"
	"wxoa/handlers"
	"wxoa/internal/accesslog"
	"wxoa/internal/account"
	"wxoa/wechat/redisurl"
	"wxoa/wechat/token"
)

// app holds what every command builds from the configuration: the logger,
// the resources the accounts share (TOKEN_STORE's Redis, the watcher of
// their stores, the HTTP client to WeChat) and the accounts themselves.
type app struct {
	cfg      *config.Config
	log      *slog.Logger
	redis    redis.UniversalClient // TOKEN_STORE's Redis, shared by its users; nil otherwise
	hub      *token.Hub
	http     *http.Client
	accounts *account.Registry
	closers  []io.Closer        // closed in reverse, after the accounts
	access   handlers.AccessLog // the server's access log; nil: through log
}

func loadConfig(e env) (*config.Config, error) {
	// "" reads ./.env if there is one; a named file must exist.
	cfg, err := config.Load(e.getenv, e.getenv("ENV_FILE"))
	if err != nil {
		return nil, fmt.Errorf("configuration:\n%w", err)
	}
	return cfg, nil
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == config.LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// newAccessLog is the access log for a logger newLogger built over w: the
// same lines, written without slog's per-record work.
func newAccessLog(cfg *config.Config, log *slog.Logger, w io.Writer) *accesslog.Logger {
	f := accesslog.Text
	if cfg.LogFormat == config.LogJSON {
		f = accesslog.JSON
	}
	return accesslog.New(log.Handler(), w, f)
}

// newApp opens what the accounts share. The accounts are built by
// openAccounts, with what the command needs besides.
func newApp(cfg *config.Config, log *slog.Logger) *app {
	a := &app{cfg: cfg, log: log}
	if cfg.TokenStore.Kind == token.KindRedis {
		// One pool for every account's tokens and the callback dedup.
		a.redis = a.openRedis(cfg.TokenStore.Redis, "TOKEN_STORE", "tokens are served from memory and WeChat")
	}
	a.hub = token.NewHub(a.redis, log)
	a.closers = append(a.closers, a.hub)
	// One Transport for every account's calls: the connections to WeChat
	// are pooled, each call still bounded by the timeout.
	a.http = &http.Client{Timeout: cfg.HTTPTimeout, Transport: http.DefaultTransport.(*http.Transport).Clone()}
	return a
}

// shared is what every account is built with; the server adds its dedup
// store, forwarder and metrics.
func (a *app) shared() account.Shared {
	return account.Shared{Config: a.cfg, Logger: a.log, HTTP: a.http, Redis: a.redis, Hub: a.hub,
		PerAccountFiles: a.cfg.AccountsFile != "", SpreadRefreshes: a.cfg.AccountsFile != ""}
}

// openAccounts builds specs with sh; apply (nil: none) sees them before
// they are held.
func (a *app) openAccounts(sh account.Shared, specs []config.Account, apply func(*handlers.Accounts) error) error {
	reg, err := account.Open(specs, sh, apply)
	if err != nil {
		return err
	}
	a.accounts = reg
	return nil
}

// Close stops the accounts' background work, then closes what they shared.
func (a *app) Close() error {
	var errs []error
	if a.accounts != nil {
		errs = append(errs, a.accounts.Close())
	}
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i].Close())
	}
	return errors.Join(errs...)
}

// openRedis connects to spec, closed with the app. An unreachable Redis at
// start-up is a warning, never an error: meanwhile work goes on without it
// (meanwhile says how).
func (a *app) openRedis(spec redisurl.Spec, variable, meanwhile string) redis.UniversalClient {
	c := spec.NewClient()
	a.closers = append(a.closers, c)
	if err := redisurl.Ping(context.Background(), c, 2*time.Second); err != nil {
		a.log.Warn(variable+"'s Redis does not answer at start-up; "+meanwhile+" until it does", "redis", spec.String(), "err", err)
	}
	return c
}
