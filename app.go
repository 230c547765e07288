package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/officialaccount"

	"wxoa/config"
	"wxoa/wechat"
	"wxoa/wechat/api"
	"wxoa/wechat/sdk"
	"wxoa/wechat/token"
)

// app holds what every command builds from the configuration: the logger,
// the WeChat API client, the token managers and the SDK wired to them.
type app struct {
	cfg     *config.Config
	log     *slog.Logger
	api     *api.Client    // nil without appid/secret
	tokens  *token.Manager // nil without appid/secret
	tickets *token.Manager // jsapi_ticket; nil without appid/secret
	active  *http.Client   // for calls that carry an access_token
	oa      *officialaccount.OfficialAccount
	closers []io.Closer
}

func loadConfig(e env) (*config.Config, error) {
	path := e.getenv("ENV_FILE")
	if path == "" {
		path = ".env"
	}
	cfg, err := config.Load(e.getenv, path)
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
	if !cfg.ActiveCalls() {
		return a, nil
	}
	fetchHTTP := &http.Client{Timeout: cfg.HTTPTimeout}
	client, err := api.New(api.Config{
		BaseURL: cfg.APIBase.String(), AppID: cfg.AppID, AppSecret: cfg.AppSecret,
		Mode: api.Mode(cfg.TokenMode), HTTP: fetchHTTP, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	a.api = client
	var rdb redis.UniversalClient
	if cfg.TokenStore.Kind == config.StoreRedis {
		rdb = newRedis(cfg.TokenStore)
		a.closers = append(a.closers, rdb)
	}
	a.tokens, err = a.manager("access_token", rdb, client.AccessTokenFetcher())
	if err != nil {
		a.Close()
		return nil, err
	}
	tickets := token.FetcherFunc(func(ctx context.Context, _ bool) (token.Token, error) {
		at, err := a.tokens.Token(ctx)
		if err != nil {
			return token.Token{}, err
		}
		t, err := client.FetchJSAPITicket(ctx, at)
		if errors.Is(err, wechat.ErrTokenInvalid) { // once, like every active call
			fresh, rerr := a.tokens.RefreshIfCurrent(ctx, at)
			if rerr != nil {
				return token.Token{}, rerr
			}
			t, err = client.FetchJSAPITicket(ctx, fresh.Value.Reveal())
		}
		return t, err
	})
	a.tickets, err = a.manager("jsapi_ticket", rdb, tickets)
	if err != nil {
		a.Close()
		return nil, err
	}
	a.active = &http.Client{Timeout: cfg.HTTPTimeout, Transport: &sdk.Transport{
		APIBase: cfg.APIBase, Refresher: a.tokens, Logger: log,
	}}
	a.oa = sdk.NewOfficialAccount(cfg.AppID, cfg.AppSecret, a.tokens)
	return a, nil
}

func (a *app) manager(name string, rdb redis.UniversalClient, f token.Fetcher) (*token.Manager, error) {
	var inner token.Store
	var err error
	switch s := a.cfg.TokenStore; s.Kind {
	case config.StoreMemory:
		inner = token.NewMemoryStore()
	case config.StoreFile:
		path := s.Path
		if name != "access_token" {
			path = filepath.Join(filepath.Dir(path), name+".json")
		}
		inner, err = token.NewFileStore(path, a.log)
	case config.StoreRedis:
		inner = token.NewRedisStore(rdb, "wxoa:"+a.cfg.AppID+":"+name, a.log)
	default:
		err = fmt.Errorf("unknown token store %q", s.Kind)
	}
	if err != nil {
		return nil, fmt.Errorf("%s store: %w", name, err)
	}
	m, err := token.NewManager(token.Config{
		Name: name, Store: token.NewCachedStore(inner), Fetcher: f,
		Margin: a.cfg.TokenRefreshMargin, DailyLimit: a.cfg.TokenDailyLimit, Logger: a.log,
	})
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, m)
	return m, nil
}

func newRedis(s config.StoreSpec) redis.UniversalClient {
	opts := &redis.Options{Addr: s.Addr, Username: s.Username, Password: s.Password.Reveal(), DB: s.DB,
		DialTimeout: 5 * time.Second, ReadTimeout: 3 * time.Second, WriteTimeout: 3 * time.Second}
	if s.TLS {
		opts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return redis.NewClient(opts)
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
