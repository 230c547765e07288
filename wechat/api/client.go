// Package api is the client for the HTTP APIs of WeChat (Official Accounts
// and Mini Programs) and WeCom (企业微信) applications: access_token
// (classic, stable, WeCom's gettoken), its upstream check, jsapi_ticket,
// late delivery of a reply (Deliver), and a generic JSON call for everything
// else. One Client is one account: it carries that account's token only. Its Transport — also the one under
// silenceper's SDK — carries the managed token, answers a rejected token with
// one compare-and-refresh and one retry, and retries what WeChat says is
// transient without sleeping past the caller's deadline. No secret or token
// appears in an error it returns.
package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"wxoa/wechat"
)

// Mode selects the access_token endpoint.
type Mode string

const (
	// ModeClassic uses GET /cgi-bin/token: every call mints a new token and
	// retires the previous one five minutes later.
	ModeClassic Mode = "classic"
	// ModeStable uses POST /cgi-bin/stable_token: the current token comes
	// back unchanged unless force_refresh is set.
	ModeStable Mode = "stable"
)

// The public base URLs, the defaults a caller configures (WECHAT_API_BASE,
// WECOM_API_BASE).
const (
	WeChatBaseURL = "https://api.weixin.qq.com"
	WeComBaseURL  = "https://qyapi.weixin.qq.com"
)

// Config configures a Client. HTTP is required; zero values elsewhere take
// the defaults documented on each field.
type Config struct {
	BaseURL string // e.g. WeChatBaseURL or WeComBaseURL; a trailing slash is trimmed
	// Platform is the API the account uses: the zero value is WeChat's
	// (Official Accounts and Mini Programs); wechat.PlatformWeCom makes
	// this a WeCom application's client, whose errcodes are read in
	// WeCom's table.
	Platform wechat.Platform
	// AppID is the appid, or a WeCom application's corp id.
	AppID string
	// AppSecret is the app secret, or a WeCom application's secret (corpsecret).
	AppSecret wechat.Secret
	// AgentID is a WeCom application's agent id (digits): required for WeCom,
	// which sends messages as it; empty otherwise.
	AgentID string
	Mode    Mode // "" means ModeClassic; WeCom has only classic

	// HTTP sends every request: its Transport (nil: the default) carries
	// the attempts and its Timeout bounds each one; the caller's context
	// bounds all attempts together.
	HTTP   *http.Client
	Logger *slog.Logger     // nil discards
	Now    func() time.Time // stamps FetchedAt and ExpiresAt; nil → time.Now

	// Tokens, if set, supplies the access_token of calls made with Do, and
	// Refresher replaces one WeChat rejects. FetchAccessToken and
	// CheckAccessToken never use them: a fetch must not wait for the token
	// it produces, and a check must see WeChat's rejection as it is.
	Tokens    TokenSource
	Refresher Refresher
	// APIBase rewrites requests for api.weixin.qq.com made through
	// HTTPClient (silenceper's SDK builds its own URLs); nil: BaseURL's.
	APIBase *url.URL

	MaxAttempts int            // attempts per call, retries included; default 4
	Backoff     time.Duration  // base of the exponential backoff; default 200ms
	MaxBackoff  time.Duration  // cap on one backoff; default 5s
	Rand        func() float64 // jitter in [0,1); nil → math/rand/v2
}

// Client calls the WeChat API. It is safe for concurrent use.
type Client struct {
	base string
	cfg  Config
	http *http.Client // over the Transport
	// plain is http without Tokens and Refresher, for the calls that fetch
	// and check the token they manage (see request.plain).
	plain   *http.Client
	now     func() time.Time
	agentID int64 // WeCom's, parsed from Config.AgentID
}

// New validates cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	base := strings.TrimRight(cfg.BaseURL, "/")
	u, err := url.Parse(base)
	switch {
	case base == "":
		return nil, errors.New("wechat api: base URL is empty")
	case err != nil:
		return nil, fmt.Errorf("wechat api: base URL: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("wechat api: base URL %q: scheme must be http or https", base)
	case u.Host == "":
		return nil, fmt.Errorf("wechat api: base URL %q has no host", base)
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("wechat api: base URL %q must not have a query or fragment", base)
	case cfg.HTTP == nil:
		return nil, errors.New("wechat api: HTTP client is nil")
	}
	switch cfg.Mode {
	case "":
		cfg.Mode = ModeClassic
	case ModeClassic, ModeStable:
	default:
		return nil, fmt.Errorf("wechat api: unknown mode %q (want %q or %q)", cfg.Mode, ModeClassic, ModeStable)
	}
	agentID, err := checkPlatform(&cfg)
	if err != nil {
		return nil, err
	}
	if cfg.MaxAttempts < 0 || cfg.Backoff < 0 || cfg.MaxBackoff < 0 {
		return nil, errors.New("wechat api: MaxAttempts, Backoff and MaxBackoff must not be negative")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{base: base, cfg: cfg, now: cfg.Now, agentID: agentID}
	if c.now == nil {
		c.now = time.Now
	}
	apiBase := cfg.APIBase
	if apiBase == nil {
		apiBase = u
	}
	// Zero MaxAttempts, Backoff and MaxBackoff take the Transport's defaults.
	t := &Transport{
		Base: cfg.HTTP.Transport, APIBase: apiBase, Platform: cfg.Platform, Source: cfg.Tokens, Refresher: cfg.Refresher,
		AttemptTimeout: cfg.HTTP.Timeout, MaxAttempts: cfg.MaxAttempts, Backoff: cfg.Backoff,
		MaxBackoff: cfg.MaxBackoff, Rand: cfg.Rand, Logger: log,
	}
	plain := *t
	plain.Source, plain.Refresher = nil, nil
	c.http = &http.Client{CheckRedirect: cfg.HTTP.CheckRedirect, Jar: cfg.HTTP.Jar, Transport: t}
	c.plain = &http.Client{CheckRedirect: cfg.HTTP.CheckRedirect, Jar: cfg.HTTP.Jar, Transport: &plain}
	return c, nil
}

// HTTPClient is the client whose Transport carries this Client's token and
// retries: hand it to silenceper's SDK so that its calls are made the same way.
func (c *Client) HTTPClient() *http.Client { return c.http }

// AppID returns the configured appid, or a WeCom application's corp id.
func (c *Client) AppID() string { return c.cfg.AppID }

// Platform returns the API the client calls.
func (c *Client) Platform() wechat.Platform { return c.cfg.Platform }

// BaseURL returns the base URL without a trailing slash.
func (c *Client) BaseURL() string { return c.base }

// Mode returns the access_token mode in use.
func (c *Client) Mode() Mode { return c.cfg.Mode }

// checkPlatform checks what cfg's platform requires and returns WeCom's
// agent id as the number message/send takes.
func checkPlatform(cfg *Config) (int64, error) {
	switch cfg.Platform {
	case wechat.PlatformWeChat:
		if cfg.AgentID != "" {
			return 0, errors.New("wechat api: an agent id is for WeCom applications only")
		}
		return 0, nil
	case wechat.PlatformWeCom:
		if cfg.Mode != ModeClassic {
			return 0, fmt.Errorf("wecom api: mode %q: WeCom has only gettoken (classic)", cfg.Mode)
		}
		id, err := strconv.ParseInt(cfg.AgentID, 10, 64)
		if err != nil || id < 0 || strings.TrimLeft(cfg.AgentID, "0123456789") != "" {
			return 0, fmt.Errorf("wecom api: agent id %q: want the application's AgentId, digits", cfg.AgentID)
		}
		return id, nil
	}
	return 0, fmt.Errorf("wechat api: unknown platform %d", cfg.Platform)
}

// HTTPError is an answer with a non-2xx HTTP status. WeChat itself answers
// 200 even for errors, so this comes from a gateway or a wrong base URL.
type HTTPError struct {
	Endpoint   string
	StatusCode int
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("wechat %s: http status %d %s", e.Endpoint, e.StatusCode, http.StatusText(e.StatusCode))
}
