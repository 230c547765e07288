// Package admin serves the operator's page, GET /admin: for each account,
// its kind, its access_token's state and today's fetches, the token store's
// health and the callback configuration, with a "Refresh now" button; for
// one account (the only one, or ?account=NAME) its current menu too; and
// the recent callback traffic.
//
// It is a plain http.Handler (net/http and html/template, no JavaScript) so
// it can be mounted on any router; it reaches the rest of the server only
// through the small interfaces below. Everything it shows is safe to show on
// an operator's screen: the token is masked, the API key is never echoed,
// and the traffic table has no content and no openids.
package admin

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"time"

	"golang.org/x/time/rate"

	"wxoa/internal/revoke"
	"wxoa/templates"
	"wxoa/wechat"
	"wxoa/wechat/token"
)

// Tokens is what the page needs from the token manager (*token.Manager).
type Tokens interface {
	Name() string
	Stats() token.Stats
	// RefreshIfCurrent replaces stale if it is still the token in service;
	// if someone replaced it meanwhile, nothing is fetched.
	RefreshIfCurrent(ctx context.Context, stale string) (token.Token, error)
}

// MenuSource answers the current menu as WeChat's menu/get does:
// {"menu":{"button":[...]}}.
type MenuSource interface {
	Menu(ctx context.Context) (json.RawMessage, error)
}

// MenuFunc adapts a function, such as a closure over menu.Fetch, to MenuSource.
type MenuFunc func(ctx context.Context) (json.RawMessage, error)

// Menu calls f.
func (f MenuFunc) Menu(ctx context.Context) (json.RawMessage, error) { return f(ctx) }

// Config configures the admin page. Key and Accounts are required.
type Config struct {
	Key wechat.Secret // TOKEN_API_KEY: the bearer key, or typed into the login form
	// Accounts returns the accounts to show, in order: the server's current
	// set, which a reload replaces.
	Accounts func() []*Account
	Store    string // the token store's kind, printable: no URL, no password
	// NoMenu reports whether an error from Menu means the account has no
	// menu (errcode 46003) rather than a failure; nil: IsNoMenu.
	NoMenu  func(error) bool
	Traffic *Traffic // nil: an empty table
	Now     func() time.Time
	Logger  *slog.Logger // nil discards
	Secure  bool         // set the cookies' Secure flag: the page is served over TLS
	// SessionKey signs the session cookies; at least 32 bytes. nil: a key
	// derived from Key, so that every instance sharing TOKEN_API_KEY
	// accepts the others' sessions (behind a load balancer, across
	// restarts), and changing the API key signs everyone out.
	SessionKey []byte
	// Revocations keeps sign-outs where the fleet shares state (the token
	// store: revoke.File, revoke.Redis); nil: this process only
	// (revoke.Memory), whose sessions end with it.
	Revocations Revocations
	// AuthFailed is told about each failed authentication (a wrong key, a
	// forged cookie), so the server's per-client limiter can count it; the
	// reason never contains what was presented. nil: a WARN line.
	AuthFailed func(r *http.Request, reason string)
}

// Admin is the admin page's http.Handler for GET /admin and POST
// /admin/login, /admin/refresh and /admin/logout.
type Admin struct {
	key        wechat.Secret
	accounts   func() []*Account
	store      string
	traffic    *Traffic
	now        func() time.Time
	log        *slog.Logger
	noMenu     func(error) bool
	authFailed func(*http.Request, string)
	sess       *sessions
	tmpl       *template.Template
	mux        *http.ServeMux
}

// Limits of one admin request.
const (
	maxForm        = 4 << 10
	refreshTimeout = 30 * time.Second
)

// New checks cfg and builds the handler; the template is parsed here, so a
// broken page fails start-up, not the first request.
func New(cfg Config) (*Admin, error) {
	if cfg.Key.Empty() {
		return nil, errors.New("admin: a key is required (TOKEN_API_KEY)")
	}
	if cfg.Accounts == nil {
		return nil, errors.New("admin: Accounts is required")
	}
	key := cfg.SessionKey
	if key == nil {
		// A one-way derivation under its own label: the cookie's MAC never
		// reveals the API key, and nothing else signed with it collides.
		h := hmac.New(sha256.New, []byte(cfg.Key.Reveal()))
		h.Write([]byte("wxoa admin session key v1"))
		key = h.Sum(nil)
	} else if len(key) < 32 {
		return nil, errors.New("admin: SessionKey must be at least 32 bytes")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Traffic == nil {
		cfg.Traffic = new(Traffic)
	}
	if cfg.NoMenu == nil {
		cfg.NoMenu = IsNoMenu
	}
	if cfg.Revocations == nil {
		cfg.Revocations = revoke.NewMemory(cfg.Now)
	}
	tmpl, err := template.ParseFS(templates.FS, templates.AdminFile)
	if err != nil {
		return nil, err
	}
	for _, name := range []string{"login", "admin"} {
		if tmpl.Lookup(name) == nil {
			return nil, errors.New("admin: " + templates.AdminFile + " defines no template " + name)
		}
	}
	a := &Admin{
		key: cfg.Key, accounts: cfg.Accounts, store: cfg.Store, traffic: cfg.Traffic, now: cfg.Now, log: cfg.Logger,
		noMenu:     cfg.NoMenu,
		authFailed: cfg.AuthFailed,
		sess: &sessions{key: bytes.Clone(key), now: cfg.Now, secure: cfg.Secure, store: cfg.Revocations, log: cfg.Logger,
			storeWarn: rate.Sometimes{First: 1, Interval: time.Minute},
			local:     map[[idLen]byte]time.Time{}},
		tmpl: tmpl,
		mux:  http.NewServeMux(),
	}
	if a.authFailed == nil {
		a.authFailed = func(r *http.Request, reason string) {
			a.log.Warn("authentication failed", "client", r.RemoteAddr, "path", r.URL.Path, "reason", reason)
		}
	}
	a.mux.HandleFunc("GET /admin", a.page)
	a.mux.HandleFunc("GET /admin/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/admin", http.StatusMovedPermanently)
	})
	a.mux.HandleFunc("POST /admin/login", a.login)
	a.mux.HandleFunc("POST /admin/refresh", a.refresh)
	a.mux.HandleFunc("POST /admin/logout", a.logout)
	a.mux.HandleFunc("POST /admin/logout-all", a.logoutAll)
	return a, nil
}

// csp allows the page's inline styles and forms posting to itself, nothing
// else: no scripts, no images, no framing.
const csp = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// ServeHTTP sets the headers every admin answer carries and routes.
// Referrer-Policy is same-origin rather than no-referrer: with no-referrer
// browsers send "Origin: null" on the page's own form posts, which the
// origin check would then have to accept from anyone.
func (a *Admin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	a.mux.ServeHTTP(w, r)
}

// render executes a template into a buffer first, so a template error is a
// clean 500 rather than half a page.
func (a *Admin) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := a.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		a.log.Error("admin: render", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// IsNoMenu reports whether err is WeChat's errcode 46003, "menu does not
// exist": an account without a menu, not a failure.
func IsNoMenu(err error) bool {
	var ae *wechat.APIError
	return errors.As(err, &ae) && ae.Code == 46003
}
