// Package handlers is the HTTP surface (Gin), and only that: each account's
// WeChat callback (signature, decryption, parsing, writing the answer
// back), the token API with its drop-in WeChat and WeCom endpoints and the
// JS-SDK config, health, the middleware and the limit on failed
// authentications. What a message is answered with is package reply's;
// tokens are wechat/token's; the accounts are built elsewhere and handed
// in as a set (Accounts), swapped whole on a reload. It reaches the rest
// through the small interfaces declared here.
package handlers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"wxoa/handlers/admin"
	"wxoa/internal/accesslog"
	"wxoa/wechat"
)

// Deps is everything the router needs. Optional parts are nil/empty.
type Deps struct {
	Logger *slog.Logger
	// AccessLog writes the access log's line per request
	// (*accesslog.Logger over Logger's handler); nil: through Logger's
	// handler.
	AccessLog AccessLog
	Now       func() time.Time // nil: time.Now
	// Accounts are the accounts served at start-up; required (it may be
	// empty). SetAccounts replaces them.
	Accounts *Accounts
	// MaxClockSkew refuses callbacks whose timestamp is further off; 0
	// turns the check off.
	MaxClockSkew time.Duration
	// Forwards are the counters of forwarded messages /healthz shows
	// (*reply.HTTPForwarder); nil: none shown.
	Forwards ForwardCounter

	// APIKey guards the token API, the JS-SDK config and the admin page;
	// with it set, the drop-in token endpoints of the accounts' kinds are
	// served too. Empty: none of them is served.
	APIKey wechat.Secret

	// AuthLimit bounds failed authentications per client on the token API
	// and the drop-in endpoints; zero fields take its defaults.
	AuthLimit AuthLimit
	// TrustedProxies are the IPs and CIDRs whose X-Forwarded-For and
	// X-Real-IP name the client; nil trusts none and takes the TCP peer.
	// Trusting anyone else would let a client pick its address and so
	// escape AuthLimit.
	TrustedProxies []string

	// Observer counts requests (*metrics.Metrics); nil: none.
	Observer Observer
	// Metrics answers GET /metrics, unauthenticated like most exporters
	// (promhttp over the server's own registry); nil: not served.
	Metrics http.Handler
	// Traffic keeps recent callbacks for the admin page; nil: none kept.
	Traffic Traffic
	// Admin configures the admin page at /admin, served with the token API
	// (its key is APIKey; its failed logins count against AuthLimit; its
	// accounts are the router's); nil: not served.
	Admin *admin.Config
}

// Router is the whole route table: the fixed routes and one callback per
// account. It is an http.Handler; SetAccounts swaps the accounts, and the
// routes built for them, in one step, with requests in flight finishing on
// the set they started with.
type Router struct {
	d     Deps
	lim   *authLimiter
	admin *admin.Admin
	mu    sync.Mutex // serialises SetAccounts
	cur   atomic.Pointer[routes]
	warn  *rate.Sometimes
	dates *dateHeader
}

// fixedRoutes are the patterns of every route but the callbacks, whichever
// of them an account set turns on: the request metrics know them all from
// the start, so a reload that adds a WeCom application counts its drop-in
// by name.
var fixedRoutes = [...]string{"/healthz", "/metrics", "/api/token", "/api/token/refresh", "/api/jssdk/config",
	"/cgi-bin/token", "/cgi-bin/stable_token", "/cgi-bin/gettoken", "/admin", "/admin/login", "/admin/refresh", "/admin/logout", "/admin/logout-all"}

// routes is one account set and the engine serving it.
type routes struct {
	accounts *Accounts
	engine   *gin.Engine
}

// CallbackRoute is the route label of every callback in the request
// metrics: one label for all the accounts' paths keeps the series bounded
// however many accounts there are; the callback families count by account.
const CallbackRoute = "callback"

// NewRouter checks d and builds the routes for d.Accounts.
func NewRouter(d Deps) (*Router, error) {
	if d.Accounts == nil {
		return nil, errors.New("handlers: Accounts is required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if d.AccessLog == nil {
		d.AccessLog = accesslog.Slow(d.Logger.Handler())
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Observer == nil {
		d.Observer = nopObserver{}
	}
	if d.Traffic == nil {
		d.Traffic = nopTraffic{}
	}
	gin.SetMode(gin.ReleaseMode)
	lim, err := newAuthLimiter(d.AuthLimit, d.Now, d.Logger)
	if err != nil {
		return nil, err
	}
	rt := &Router{d: d, lim: lim, warn: &rate.Sometimes{First: 10, Interval: time.Second}, dates: &dateHeader{}}
	if d.Admin != nil && !d.APIKey.Empty() {
		if rt.admin, err = rt.newAdmin(*d.Admin); err != nil {
			return nil, err
		}
	}
	if err := rt.SetAccounts(d.Accounts); err != nil {
		return nil, err
	}
	if rn, ok := d.Observer.(interface{ Routes(...string) error }); ok {
		if err := rn.Routes(append(fixedRoutes[:], CallbackRoute)...); err != nil {
			return nil, fmt.Errorf("handlers: metrics routes: %w", err)
		}
	}
	return rt, nil
}

// ServeHTTP serves r on the current routes.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt.cur.Load().engine.ServeHTTP(w, r)
}

// Accounts returns the accounts being served.
func (rt *Router) Accounts() *Accounts { return rt.cur.Load().accounts }

// SetAccounts builds the routes of s beside the running ones and swaps
// them in. A removed account's callback answers 404 from then on.
func (rt *Router) SetAccounts(s *Accounts) error {
	if s == nil {
		return errors.New("handlers: nil Accounts")
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	e, err := rt.engine(s)
	if err != nil {
		return err
	}
	rt.cur.Store(&routes{accounts: s, engine: e})
	return nil
}

// engine builds the route table for s: the fixed routes, whose handlers
// look the account up per request in s, and one static route per
// callback, bound to its account.
func (rt *Router) engine(s *Accounts) (*gin.Engine, error) {
	d := rt.d
	r := gin.New()
	if err := r.SetTrustedProxies(d.TrustedProxies); err != nil {
		return nil, fmt.Errorf("handlers: trusted proxies: %w", err)
	}
	r.Use(recovery(d.Logger))
	obs := observe(d.AccessLog, d.Observer, "")
	r.GET("/healthz", obs, health(d.Forwards, s, d.Now))
	if d.Metrics != nil {
		r.GET("/metrics", obs, gin.WrapH(d.Metrics))
	}
	if !d.APIKey.Empty() && s.anyTokens() {
		ta := &tokenAPI{accounts: s, now: d.Now, log: d.Logger, lim: rt.lim}
		lim := rt.lim
		api := r.Group("/api", obs, lim.gate(lim.refuseJSON), bearer(d.APIKey, lim))
		api.GET("/token", ta.current)
		api.POST("/token/refresh", limitBody(4<<10), ta.refresh)
		api.GET("/jssdk/config", ta.jssdkConfig)
		if s.anyKind(OfficialAccount) || s.anyKind(MiniProgram) {
			r.GET("/cgi-bin/token", obs, lim.gate(refuseWeChat), ta.classicToken)
			r.POST("/cgi-bin/stable_token", obs, lim.gate(refuseWeChat), limitBody(4<<10), ta.stableToken)
		}
		if s.anyKind(WeCom) {
			r.GET("/cgi-bin/gettoken", obs, lim.gate(refuseWeChat), ta.wecomToken)
		}
		if rt.admin != nil {
			rt.mountAdmin(r, obs)
		}
	}
	cbObs := observe(d.AccessLog, d.Observer, CallbackRoute)
	for _, a := range s.All() {
		if a.Callback == nil {
			continue
		}
		cb := rt.callback(a)
		r.GET(a.Callback.Path, cbObs, cb.verify)
		r.POST(a.Callback.Path, cbObs, limitBody(MaxBody), cb.receive)
	}
	r.NoRoute(obs, func(c *gin.Context) { c.String(http.StatusNotFound, "not found\n") })
	r.NoMethod(obs, func(c *gin.Context) { c.String(http.StatusMethodNotAllowed, "method not allowed\n") })
	r.HandleMethodNotAllowed = true
	return r, nil
}

// newAdmin builds the admin page behind the same per-client limit as the
// token API: its login form is one more way to guess the key. Its
// accounts are the router's current ones.
func (rt *Router) newAdmin(cfg admin.Config) (*admin.Admin, error) {
	cfg.Key = rt.d.APIKey
	cfg.Accounts = func() []*admin.Account {
		var out []*admin.Account
		for _, a := range rt.Accounts().All() {
			if a.Admin != nil {
				out = append(out, a.Admin)
			}
		}
		return out
	}
	cfg.AuthFailed = func(req *http.Request, reason string) {
		ip, _ := req.Context().Value(clientIPKey{}).(string)
		rt.lim.failedFrom(ip, req.URL.Path, reason)
	}
	a, err := admin.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("handlers: admin page: %w", err)
	}
	return a, nil
}

func (rt *Router) mountAdmin(r *gin.Engine, obs gin.HandlerFunc) {
	h := func(c *gin.Context) {
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), clientIPKey{}, c.ClientIP()))
		rt.admin.ServeHTTP(c.Writer, c.Request)
	}
	g := r.Group("/admin", obs, rt.lim.gate(refuseText))
	g.GET("", h)
	for _, p := range []string{"/login", "/refresh", "/logout", "/logout-all"} {
		g.POST(p, limitBody(4<<10), h)
	}
}

// clientIPKey carries gin's view of the client address (trusted proxies
// applied) to the admin page's failure hook.
type clientIPKey struct{}

// refuseText answers the admin page's refusal: a person at a browser.
func refuseText(c *gin.Context, retryAfter int) {
	c.Header("Retry-After", strconv.Itoa(retryAfter))
	c.String(http.StatusTooManyRequests, "too many failed sign-ins from this address: retry in %d s\n", retryAfter)
}
