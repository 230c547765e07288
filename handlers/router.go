// Package handlers is the HTTP surface (Gin), and only that: WeChat's
// callback (signature, decryption, parsing, writing the answer back), the
// token API with its drop-in WeChat endpoints and the JS-SDK config, health,
// the middleware and the limit on failed authentications. What a message is
// answered with is package reply's; tokens are wechat/token's. It reaches
// both through the small interfaces declared here.
package handlers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"wxoa/handlers/admin"
	"wxoa/wechat"
)

// Deps is everything the router needs. Optional parts are nil/empty.
type Deps struct {
	Logger       *slog.Logger
	Now          func() time.Time // nil: time.Now
	CallbackPath string
	Callback     CallbackConfig
	// Answerer answers each pushed message (*reply.Pipeline); required.
	Answerer Answerer
	// Forwards are the counters of forwarded messages /healthz shows
	// (*reply.HTTPForwarder); nil: none shown.
	Forwards ForwardCounter

	// Token API: served only when APIKey is set and Tokens is non-nil.
	Tokens    TokenService
	APIKey    wechat.Secret
	AppID     string
	AppSecret wechat.Secret

	// JSSDK answers GET /api/jssdk/config; nil: not served.
	JSSDK JSSDKService

	// AuthLimit bounds failed authentications per client on the token API
	// and the drop-in endpoints; zero fields take its defaults.
	AuthLimit AuthLimit
	// TrustedProxies are the IPs and CIDRs whose X-Forwarded-For and
	// X-Real-IP name the client; nil trusts none and takes the TCP peer.
	// Trusting anyone else would let a client pick its address and so
	// escape AuthLimit.
	TrustedProxies []string

	// Managed are the token managers /healthz reports on (store health,
	// passive-refresh checks).
	Managed []Managed

	// Observer counts requests and callbacks (*metrics.Metrics); nil: none.
	Observer Observer
	// Metrics answers GET /metrics, unauthenticated like most exporters
	// (promhttp over the server's own registry); nil: not served.
	Metrics http.Handler
	// Traffic keeps recent callbacks for the admin page; nil: none kept.
	Traffic Traffic
	// Admin configures the admin page at /admin, served with the token API
	// (its key is APIKey; its failed logins count against AuthLimit); nil:
	// not served.
	Admin *admin.Config
}

// NewRouter returns the whole route table.
func NewRouter(d Deps) (http.Handler, error) {
	if d.CallbackPath == "" || d.CallbackPath[0] != '/' {
		return nil, errors.New("handlers: callback path must start with /")
	}
	if d.Answerer == nil {
		return nil, errors.New("handlers: an Answerer is required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	if err := r.SetTrustedProxies(d.TrustedProxies); err != nil {
		return nil, fmt.Errorf("handlers: trusted proxies: %w", err)
	}
	if d.Observer == nil {
		d.Observer = nopObserver{}
	}
	if d.Traffic == nil {
		d.Traffic = nopTraffic{}
	}
	r.Use(recovery(d.Logger), observe(d.Logger, d.Observer))

	cb := &callback{
		token:   d.Callback.Token.Reveal(),
		crypter: d.Callback.Crypter,
		skew:    d.Callback.MaxClockSkew,
		now:     d.Now,
		answers: d.Answerer,
		log:     d.Logger,
		obs:     d.Observer,
		traffic: d.Traffic,
		warn:    &rate.Sometimes{First: 10, Interval: time.Second},
	}
	r.GET(d.CallbackPath, cb.verify)
	r.POST(d.CallbackPath, limitBody(MaxBody), cb.receive)
	r.GET("/healthz", health(d.Forwards, d.Managed, d.Now))
	if d.Metrics != nil {
		r.GET("/metrics", gin.WrapH(d.Metrics))
	}

	if !d.APIKey.Empty() && d.Tokens != nil {
		lim, err := newAuthLimiter(d.AuthLimit, d.Now, d.Logger)
		if err != nil {
			return nil, err
		}
		ta := &tokenAPI{tokens: d.Tokens, appID: d.AppID, appSecret: d.AppSecret, now: d.Now, log: d.Logger, lim: lim}
		api := r.Group("/api", lim.gate(lim.refuseJSON), bearer(d.APIKey, lim))
		api.GET("/token", ta.current)
		api.POST("/token/refresh", limitBody(4<<10), ta.refresh)
		if d.JSSDK != nil {
			api.GET("/jssdk/config", jssdkConfig(d.JSSDK, d.Logger))
		}
		if d.AppID != "" && !d.AppSecret.Empty() {
			r.GET("/cgi-bin/token", lim.gate(refuseWeChat), ta.classicToken)
			r.POST("/cgi-bin/stable_token", lim.gate(refuseWeChat), limitBody(4<<10), ta.stableToken)
		}
		if d.Admin != nil {
			if err := mountAdmin(r, *d.Admin, d.APIKey, lim); err != nil {
				return nil, err
			}
		}
	}
	r.NoRoute(func(c *gin.Context) { c.String(http.StatusNotFound, "not found\n") })
	r.NoMethod(func(c *gin.Context) { c.String(http.StatusMethodNotAllowed, "method not allowed\n") })
	r.HandleMethodNotAllowed = true
	if rn, ok := d.Observer.(interface{ Routes(...string) error }); ok {
		var patterns []string
		for _, ri := range r.Routes() {
			patterns = append(patterns, ri.Path)
		}
		if err := rn.Routes(patterns...); err != nil {
			return nil, fmt.Errorf("handlers: metrics routes: %w", err)
		}
	}
	return r, nil
}

// mountAdmin serves the admin page behind the same per-client limit as the
// token API: its login form is one more way to guess the key.
func mountAdmin(r *gin.Engine, cfg admin.Config, key wechat.Secret, lim *authLimiter) error {
	cfg.Key = key
	cfg.AuthFailed = func(req *http.Request, reason string) {
		ip, _ := req.Context().Value(clientIPKey{}).(string)
		lim.failedFrom(ip, req.URL.Path, reason)
	}
	a, err := admin.New(cfg)
	if err != nil {
		return fmt.Errorf("handlers: admin page: %w", err)
	}
	h := func(c *gin.Context) {
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), clientIPKey{}, c.ClientIP()))
		a.ServeHTTP(c.Writer, c.Request)
	}
	g := r.Group("/admin", lim.gate(refuseText))
	g.GET("", h)
	for _, p := range []string{"/login", "/refresh", "/logout"} {
		g.POST(p, limitBody(4<<10), h)
	}
	return nil
}

// clientIPKey carries gin's view of the client address (trusted proxies
// applied) to the admin page's failure hook.
type clientIPKey struct{}

// refuseText answers the admin page's refusal: a person at a browser.
func refuseText(c *gin.Context, retryAfter int) {
	c.Header("Retry-After", strconv.Itoa(retryAfter))
	c.String(http.StatusTooManyRequests, "too many failed sign-ins from this address: retry in %d s\n", retryAfter)
}
