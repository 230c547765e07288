// Package account builds everything one WeChat account owns — its token
// managers and their stores, the API client that carries its token, its
// callback's crypter, rules and reply pipeline, its dedup namespace and its
// metrics — in one place (New), and holds the configured accounts by name
// in a Registry. A reload is Caddy's: the new set is built and checked
// beside the running one, then swapped in whole; an account that did not
// change keeps running (its managers, its tokens), nothing is mutated in
// place, and no package-level state carries an account.
package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"wxoa/config"
	"wxoa/handlers"
	"wxoa/handlers/admin"
	"wxoa/internal/metrics"
	"wxoa/reply"
	"wxoa/reply/rules"
	"wxoa/wechat"
	"wxoa/wechat/api"
	"wxoa/wechat/dedup"
	"wxoa/wechat/jssdk"
	"wxoa/wechat/menu"
	"wxoa/wechat/token"
)

// Shared is what every account is built with: the server-wide settings and
// the resources accounts share. Only Config and Logger are required.
type Shared struct {
	Config *config.Config
	Logger *slog.Logger
	// HTTP carries every account's calls to WeChat; its Transport, shared,
	// pools the connections. nil: a client with Config.HTTPTimeout.
	HTTP *http.Client
	// Redis is TOKEN_STORE's Redis, shared by every account's stores; nil
	// when the store is not Redis.
	Redis redis.UniversalClient
	// Hub watches every account's token stores at once; nil: each store
	// watches by itself.
	Hub *token.Hub
	// PerAccountFiles keeps each account's token in a file of its own
	// beside TOKEN_STORE's path (ACCOUNTS_FILE); false: the one account of
	// the single-account variables uses the path itself, as before.
	PerAccountFiles bool
	// SpreadRefreshes narrows each manager's refresh margin by a random
	// amount up to half of it, so that many accounts' tokens fetched
	// together are not refreshed in one second (ACCOUNTS_FILE); false: the
	// margin exactly, as before.
	SpreadRefreshes bool
	// Dedup claims callbacks; nil: no callbacks are built (the one-shot
	// commands need tokens only).
	Dedup dedup.Store
	// Forwarder forwards messages to the teams' endpoints and sends late
	// and Mini Program replies, for every account; required with Dedup.
	Forwarder *reply.HTTPForwarder
	// Metrics records every account's series; nil: none.
	Metrics *metrics.Metrics
}

// Account is one configured account and everything it owns.
type Account struct {
	Spec config.Account
	// Tokens and Tickets are the access_token's and (Official Accounts)
	// the jsapi_ticket's managers; nil without credentials.
	Tokens, Tickets *token.Manager
	// Calls carries the account's token on every call (menus, customer-
	// service messages, tickets); nil without credentials.
	Calls *api.Client
	// Surface is the account as the HTTP surface sees it.
	Surface *handlers.Account

	tok   *tokenPart
	rules rulesRef
	log   *slog.Logger
}

// Name is the account's name.
func (a *Account) Name() string { return a.Spec.Name }

// tokenPart is what an account owns for its token: kept across a reload
// that changes only the account's callback.
type tokenPart struct {
	tokens, tickets *token.Manager
	calls           *api.Client
	closers         []io.Closer // closed in reverse: managers before their stores
}

func (t *tokenPart) Close() error {
	if t == nil {
		return nil
	}
	var errs []error
	for i := len(t.closers) - 1; i >= 0; i-- {
		errs = append(errs, t.closers[i].Close())
	}
	return errors.Join(errs...)
}

// New builds spec's account; tok, if not nil, is the token part of the
// running account it replaces (same credentials), taken over as it is.
func New(spec config.Account, sh Shared, tok *tokenPart, rr rulesRef) (*Account, error) {
	log := sh.Logger.With("account", spec.Name)
	a := &Account{Spec: spec, tok: tok, rules: rr, log: log}
	if a.tok == nil {
		t, err := newTokenPart(spec, sh, log)
		if err != nil {
			return nil, fmt.Errorf("account %s: %w", spec.Name, err)
		}
		a.tok = t
	}
	if a.tok != nil {
		a.Tokens, a.Tickets, a.Calls = a.tok.tokens, a.tok.tickets, a.tok.calls
	}
	acctMetrics, err := sh.Metrics.Account(spec.Name)
	if err != nil {
		return nil, a.fail(tok, err)
	}
	s := &handlers.Account{Name: spec.Name, Kind: handlers.Kind(spec.Kind), AppID: spec.AppID, AgentID: spec.AgentID, Secret: spec.Secret}
	adm := &admin.Account{Name: spec.Name, Kind: string(spec.Kind)}
	if a.Tokens != nil {
		s.Tokens, adm.Tokens = a.Tokens, a.Tokens
		s.Managed = []handlers.Managed{a.Tokens}
		if a.Tickets != nil {
			s.Managed = append(s.Managed, a.Tickets)
			s.JSSDK = &jssdk.Signer{AppID: spec.AppID, Tickets: a.Tickets}
		}
		if spec.Kind == config.KindOfficialAccount {
			calls := a.Calls
			adm.Menu = admin.MenuFunc(func(ctx context.Context) (json.RawMessage, error) { return menu.Fetch(ctx, calls) })
		}
	}
	if spec.Callback() && sh.Dedup != nil {
		cb, err := a.callback(sh, acctMetrics)
		if err != nil {
			return nil, a.fail(tok, err)
		}
		s.Callback = cb
		adm.CallbackPath, adm.CallbackMode = cb.Path, callbackMode(spec)
	}
	s.Admin = adm
	a.Surface = s
	return a, nil
}

// fail closes what New built for itself (never a token part taken over)
// and names the account in err.
func (a *Account) fail(taken *tokenPart, err error) error {
	if a.tok != taken {
		a.tok.Close()
	}
	return fmt.Errorf("account %s: %w", a.Spec.Name, err)
}

// newTokenPart builds the token managers and the API client of an account
// with credentials; nil, nil without.
func newTokenPart(spec config.Account, sh Shared, log *slog.Logger) (*tokenPart, error) {
	if !spec.ActiveCalls() {
		return nil, nil
	}
	cfg := sh.Config
	httpc := sh.HTTP
	if httpc == nil {
		httpc = &http.Client{Timeout: cfg.HTTPTimeout}
	}
	// Token fetches and checks go out plain; every call that carries the
	// token goes through the calls client, whose Transport adds it and
	// answers a rejected one with one compare-and-refresh and one retry.
	apiCfg := api.Config{
		BaseURL: spec.APIBase.String(), AppID: spec.AppID, AppSecret: spec.Secret,
		Mode: spec.Mode, HTTP: httpc, Logger: log,
	}
	if spec.Kind == config.KindWeCom {
		apiCfg.Platform, apiCfg.AgentID, apiCfg.Mode = wechat.PlatformWeCom, spec.AgentID, ""
	}
	plain, err := api.New(apiCfg)
	if err != nil {
		return nil, err
	}
	t := &tokenPart{}
	manager := func(name string, f token.Fetcher, c token.Checker) (*token.Manager, error) {
		o := token.Options{Name: name, AppID: spec.Identity(), Redis: sh.Redis, Logger: log, Hub: sh.Hub}
		if sh.PerAccountFiles {
			o.FileTag = spec.Identity()
		}
		store, closer, err := token.Open(cfg.TokenStore, o)
		if err != nil {
			return nil, fmt.Errorf("%s store: %w", name, err)
		}
		t.closers = append(t.closers, closer) // closed after the manager
		var spread time.Duration
		if sh.SpreadRefreshes {
			spread = cfg.TokenRefreshMargin / 2
		}
		m, err := token.NewManager(token.Config{
			Name: name, Store: store, Fetcher: f, Checker: c, Logger: log,
			Margin: cfg.TokenRefreshMargin, Spread: spread, DailyLimit: spec.DailyLimit,
		})
		if err != nil {
			return nil, err
		}
		t.closers = append(t.closers, m)
		return m, nil
	}
	if t.tokens, err = manager("access_token", plain.AccessTokenFetcher(), token.CheckerFunc(plain.CheckAccessToken)); err != nil {
		t.Close()
		return nil, err
	}
	apiCfg.Tokens, apiCfg.Refresher = t.tokens, t.tokens
	if t.calls, err = api.New(apiCfg); err != nil {
		t.Close()
		return nil, err
	}
	if spec.Kind == config.KindOfficialAccount {
		if t.tickets, err = manager("jsapi_ticket", t.calls.JSAPITicketFetcher(), nil); err != nil {
			t.Close()
			return nil, err
		}
	}
	return t, nil
}

// callback builds the account's callback: its crypter, and the reply
// pipeline over its rules, sharing the server's dedup store (in the
// account's namespace) and forwarder (with the account's deliverer).
func (a *Account) callback(sh Shared, m *metrics.Account) (*handlers.Callback, error) {
	spec, cfg := a.Spec, sh.Config
	var crypter *wechat.Crypter
	if !spec.EncodingAESKey.Empty() {
		var err error
		if crypter, err = wechat.NewCrypter(spec.EncodingAESKey.Reveal(), spec.AppID); err != nil {
			return nil, err
		}
	}
	if names := a.rules.engine.ForwardsWithoutURL(); len(names) > 0 && cfg.ForwardURL == nil {
		return nil, fmt.Errorf("reply rules %q forward without a url: and FORWARD_URL is not set", names)
	}
	ch := channel(spec.Kind)
	if err := a.rules.engine.CheckReplies(func(typ string) error { return checkReplyType(ch, typ) }); err != nil {
		return nil, fmt.Errorf("reply rules for a %s:\n%w", spec.Kind, err)
	}
	ns := spec.Identity() + ":"
	target := reply.Target{Namespace: ns}
	if a.Calls != nil {
		// Late answers and a Mini Program's replies go out with the
		// account's own client, and so with its token.
		target.Deliverer = a.Calls
		if ch == wechat.MiniProgramCustomMessage {
			// A forward endpoint may answer what a Mini Program cannot
			// send; say so rather than have WeChat refuse it.
			target.Deliverer = checkedDeliverer{a.Calls, ch}
		}
	}
	rc := reply.Config{
		Rules: a.rules.engine, Forwarder: sh.Forwarder.For(target), Store: sh.Dedup, Namespace: ns,
		MaxClockSkew: cfg.MaxClockSkew, Logger: a.log, Observer: m,
		// A plaintext push's signed query carries one message (README:
		// Replayed plaintext queries).
		BindQueries: true,
	}
	if spec.Kind == config.KindMiniProgram {
		rc.Active = &reply.Active{Runner: sh.Forwarder, Target: target}
	}
	p, err := reply.New(rc)
	if err != nil {
		return nil, err
	}
	return &handlers.Callback{Path: spec.CallbackPath, Token: spec.Token, Crypter: crypter,
		JSON: spec.DataFormat == config.FormatJSON, Answerer: p, Observer: m}, nil
}

// channel is what carries an account's replies.
func channel(k config.Kind) wechat.Channel {
	switch k {
	case config.KindWeCom:
		return wechat.WeComPassiveReply
	case config.KindMiniProgram:
		return wechat.MiniProgramCustomMessage
	}
	return wechat.PassiveReply
}

// checkReplyType is wechat.CheckReplyType, with news accepted where
// checkedDeliverer sends it as a link.
func checkReplyType(ch wechat.Channel, typ string) error {
	if ch == wechat.MiniProgramCustomMessage && typ == "news" {
		return nil
	}
	return wechat.CheckReplyType(ch, typ)
}

// checkedDeliverer sends a Mini Program's replies: a news reply goes out as
// the link card of its first article (a Mini Program's customer-service API
// has no news, and a link is what a news article is), so one rules file —
// the shipped one included — serves every kind; anything else its channel
// cannot carry is refused before any call.
type checkedDeliverer struct {
	d  reply.Deliverer
	ch wechat.Channel
}

func (c checkedDeliverer) Deliver(ctx context.Context, to string, r wechat.Reply) error {
	if n, ok := r.(*wechat.NewsReply); ok && len(n.Articles) > 0 {
		a := n.Articles[0]
		r = &wechat.LinkReply{Title: a.Title, Description: a.Description, URL: a.URL, ThumbURL: a.PicURL}
	}
	if err := wechat.CheckReplyType(c.ch, r.Kind()); err != nil {
		return err
	}
	return c.d.Deliver(ctx, to, r)
}

// callbackMode says how the account's pushes arrive, for the admin page.
func callbackMode(spec config.Account) string {
	mode := "plaintext"
	switch {
	case spec.Kind == config.KindWeCom:
		mode = "encrypted"
	case !spec.EncodingAESKey.Empty():
		mode = "compatible/safe"
	}
	if spec.DataFormat == config.FormatJSON {
		mode += " (JSON)"
	}
	return mode
}

// rulesRef is an account's parsed rules and the digest of the file they
// came from, so a reload can tell an edited rules file from an unchanged one.
type rulesRef struct {
	engine *rules.Engine
	digest [32]byte
}
