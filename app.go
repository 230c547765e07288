package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

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
	a.tokens, err = a.manager("access_token", client.AccessTokenFetcher())
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
	a.tickets, err = a.manager("jsapi_ticket", tickets)
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

// manager opens the store for one token kind (token.Open: a file next to
// the access_token's, or its own Redis key) and a manager over it.
func (a *app) manager(name string, f token.Fetcher) (*token.Manager, error) {
	store, closer, err := token.Open(a.cfg.TokenStore.Spec(), name, a.log)
	if err != nil {
		return nil, fmt.Errorf("%s store: %w", name, err)
	}
	a.closers = append(a.closers, closer) // closed after the manager
	m, err := token.NewManager(token.Config{
		Name: name, Store: store, Fetcher: f,
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
