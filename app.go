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
	"wxoa/reply"
	"wxoa/wechat/api"
	"wxoa/wechat/redisurl"
	"wxoa/wechat/silenceper"
	"wxoa/wechat/token"
)

// app holds what every command builds from the configuration: the logger,
// the WeChat API client, the token managers and the SDK wired to them.
type app struct {
	cfg     *config.Config
	log     *slog.Logger
	tokens  *token.Manager        // nil without appid/secret
	tickets *token.Manager        // jsapi_ticket; nil without appid/secret
	calls   *api.Client           // calls that carry the managed token: tickets, menus, the SDK's
	redis   redis.UniversalClient // TOKEN_STORE's Redis, shared by its users; nil otherwise
	// deliverer sends late answers as customer-service messages through
	// silenceper's SDK; nil (none) without active calls.
	deliverer reply.Deliverer
	closers   []io.Closer
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

// newApp builds the token side. Without appid and secret it returns an app
// with no managers: the callback still works, active calls are off.
func newApp(cfg *config.Config, log *slog.Logger) (*app, error) {
	a := &app{cfg: cfg, log: log}
	if cfg.TokenStore.Kind == token.KindRedis {
		// One pool for both token kinds and the callback dedup.
		a.redis = a.openRedis(cfg.TokenStore.Redis, "TOKEN_STORE", "tokens are served from memory and WeChat")
	}
	if !cfg.ActiveCalls() {
		return a, nil
	}
	// Token fetches and checks go out plain; every call that carries the
	// token goes through the calls client, whose Transport adds it and
	// answers a rejected one with one compare-and-refresh and one retry.
	apiCfg := api.Config{
		BaseURL: cfg.APIBase.String(), AppID: cfg.AppID, AppSecret: cfg.AppSecret,
		Mode: cfg.TokenMode, HTTP: &http.Client{Timeout: cfg.HTTPTimeout}, Logger: log,
	}
	plain, err := api.New(apiCfg)
	if err != nil {
		return nil, err
	}
	checker := token.CheckerFunc(plain.CheckAccessToken)
	if a.tokens, err = a.manager("access_token", plain.AccessTokenFetcher(), checker); err != nil {
		a.Close()
		return nil, err
	}
	apiCfg.Tokens, apiCfg.Refresher = a.tokens, a.tokens
	if a.calls, err = api.New(apiCfg); err != nil {
		a.Close()
		return nil, err
	}
	if a.tickets, err = a.manager("jsapi_ticket", a.calls.JSAPITicketFetcher(), nil); err != nil {
		a.Close()
		return nil, err
	}
	a.deliverer = silenceper.Deliverer{OA: silenceper.NewOfficialAccount(cfg.AppID, cfg.AppSecret)}
	return a, nil
}

// manager opens the store for one token kind (token.Open: a file next to
// the access_token's, or its own Redis key) and a manager over it.
func (a *app) manager(name string, f token.Fetcher, c token.Checker) (*token.Manager, error) {
	store, closer, err := token.Open(a.cfg.TokenStore, token.Options{Name: name, AppID: a.cfg.AppID, Redis: a.redis, Logger: a.log})
	if err != nil {
		return nil, fmt.Errorf("%s store: %w", name, err)
	}
	a.closers = append(a.closers, closer) // closed after the manager
	m, err := token.NewManager(token.Config{
		Name: name, Store: store, Fetcher: f, Checker: c,
		Margin: a.cfg.TokenRefreshMargin, DailyLimit: a.cfg.TokenDailyLimit, Logger: a.log,
	})
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, m)
	return m, nil
}

// Close stops the managers' background work, then closes the stores.
func (a *app) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i].Close())
	}
	return errors.Join(errs...)
}

var errNoCredentials = errors.New("WECHAT_APP_ID and WECHAT_APP_SECRET are required for this command")

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
