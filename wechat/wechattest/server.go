// Package wechattest runs a fake WeChat API on 127.0.0.1, in the style of
// net/http/httptest, so tests exercise real HTTP against the token, ticket,
// menu, customer-service and server-IP endpoints without the internet.
//
//	s := wechattest.NewServer(t)
//	c, _ := api.New(api.Config{BaseURL: s.URL, AppID: s.AppID(), AppSecret: wechat.Secret(s.AppSecret()), HTTP: s.Client()})
//	tok, err := c.FetchAccessToken(ctx, false) // s.Calls("/cgi-bin/token") == 1
//
// It mimics the behaviour that matters to a token manager: each classic fetch
// mints a new token and retires the previous one after an overlap, stable_token
// hands back the current token unless forced, and failures (busy, quota, 5xx,
// hangs, IP whitelist) can be injected for the next n calls.
//
// One server holds several accounts, each an App with its own secret, token
// series, counters and injected failures: the default one of Options, more
// with AddApp (Official Accounts and Mini Programs, at URL) and AddWeComApp
// (WeCom applications, at WeComURL, with WeCom's gettoken, message/send and
// errcodes). A token belongs to the app that fetched it, so the protected
// endpoints know whose call they serve. The Server's own methods act on the
// default app, or on the whole server where they say so.
//
// It also plays WeChat's other side, the pushes to a callback: a Follower
// is a simulated user that signs, encrypts and sends messages and reads the
// replies, over HTTP or in-process through HandlerClient.
package wechattest

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configures a Server. Zero fields take the defaults below.
type Options struct {
	AppID     string // the default app's; default "wxtest0000000000"
	AppSecret string // the default app's; default "testsecret"
	// ExpiresIn is the lifetime of minted tokens and tickets, answered as
	// expires_in in whole seconds (so use whole seconds). Default 7200s.
	ExpiresIn time.Duration
	// Overlap is how long a replaced access_token keeps working; WeChat
	// documents five minutes. Default 5m.
	Overlap time.Duration
	// Now is the server's clock; tests drive a fake one to expire tokens.
	Now func() time.Time
	// Control serves the endpoints under /wechattest/ (fetch-elsewhere,
	// invalidate) by which a person retires tokens of a running fake from
	// outside; tests call the methods instead. `wxoa fake` sets it.
	Control bool
}

func (o *Options) defaults() {
	if o.AppID == "" {
		o.AppID = "wxtest0000000000"
	}
	if o.AppSecret == "" {
		o.AppSecret = "testsecret"
	}
	if o.ExpiresIn <= 0 {
		o.ExpiresIn = 7200 * time.Second
	}
	if o.Overlap <= 0 {
		o.Overlap = 5 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Server is a running fake WeChat API. All methods are safe for concurrent use.
type Server struct {
	// URL is the base URL of the WeChat API (api.weixin.qq.com), e.g.
	// "http://127.0.0.1:41234", with no trailing slash.
	URL string
	// WeComURL is the base URL of the WeCom API (qyapi.weixin.qq.com):
	// URL + "/wecom". As on the real hosts, a token of one is unknown on
	// the other.
	WeComURL string

	opts   Options
	hs     *httptest.Server
	closed chan struct{}
	once   sync.Once

	mu        sync.Mutex
	calls     map[string]int64    // every request, by API path
	tokenFail failRule            // Fail: every app's token endpoints
	pathFail  map[string]failRule // FailPath: every app's calls to a path
	tokens    map[string]*grant   // access_tokens and jsapi tickets ever minted
	messages  []json.RawMessage   // every customer-service message accepted
	def       *App                // Options' app
	apps      []*App              // in the order added, def first
}

// NewServer starts a Server for a test and closes it in tb.Cleanup.
func NewServer(tb testing.TB, opts ...func(*Options)) *Server {
	tb.Helper()
	var o Options
	for _, f := range opts {
		f(&o)
	}
	s := New(o)
	tb.Cleanup(s.Close)
	return s
}

// New starts a Server outside tests (the demo command runs one in-process).
// The caller must Close it.
func New(opts Options) *Server {
	s := newServer(opts)
	s.hs = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.setURL()
	return s
}

// Listen is New on a given address (`wxoa fake`), e.g. 127.0.0.1:9999, so
// that a configuration can name it. The caller must Close it.
func Listen(addr string, opts Options) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := newServer(opts)
	s.hs = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	s.hs.Listener.Close()
	s.hs.Listener = ln
	s.hs.Start()
	s.setURL()
	return s, nil
}

func newServer(opts Options) *Server {
	opts.defaults()
	s := &Server{
		opts:     opts,
		closed:   make(chan struct{}),
		calls:    make(map[string]int64),
		pathFail: make(map[string]failRule),
		tokens:   make(map[string]*grant),
	}
	s.def = s.AddApp(opts.AppID, opts.AppSecret)
	return s
}

func (s *Server) setURL() {
	s.URL = s.hs.URL
	s.WeComURL = s.URL + weComPrefix
}

// Close unblocks hanging handlers, then shuts the server down and waits for
// every handler to return.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closed)
		s.hs.Close()
	})
}

// Client returns an *http.Client for the server, with a timeout so that a
// forgotten FailHang cannot stall a test forever.
func (s *Server) Client() *http.Client {
	c := *s.hs.Client()
	c.Timeout = 10 * time.Second
	return &c
}

// AppID returns the appid of the default app.
func (s *Server) AppID() string { return s.opts.AppID }

// AppSecret returns the secret of the default app.
func (s *Server) AppSecret() string { return s.opts.AppSecret }

// Calls returns how many requests reached path on either host (e.g.
// "/cgi-bin/token"), for every app, failed and unattributable ones
// included. App.Calls counts one app's.
func (s *Server) Calls(path string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

// TokenCalls returns the calls to the token endpoints (/cgi-bin/token,
// /cgi-bin/stable_token and WeCom's /cgi-bin/gettoken), for every app.
func (s *Server) TokenCalls() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[pathToken] + s.calls[pathStableToken] + s.calls[pathGetToken]
}

const (
	pathToken       = "/cgi-bin/token"
	pathStableToken = "/cgi-bin/stable_token"
	pathGetToken    = "/cgi-bin/gettoken" // WeCom
	pathTicket      = "/cgi-bin/ticket/getticket"
	pathMenuCreate  = "/cgi-bin/menu/create"
	pathMenuGet     = "/cgi-bin/menu/get"
	pathMenuDelete  = "/cgi-bin/menu/delete"
	pathCustomSend  = "/cgi-bin/message/custom/send"
	pathMessageSend = "/cgi-bin/message/send" // WeCom
	pathAPIDomainIP = "/cgi-bin/get_api_domain_ip"
	pathCallbackIP  = "/cgi-bin/getcallbackip"

	weComPrefix   = "/wecom"
	controlPrefix = "/wechattest/"
)

func isTokenPath(p string) bool { return p == pathToken || p == pathStableToken || p == pathGetToken }

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if s.opts.Control && strings.HasPrefix(r.URL.Path, controlPrefix) {
		s.serveControl(w, r)
		return
	}
	path, wecom := strings.CutPrefix(r.URL.Path, weComPrefix)
	wecom = wecom && strings.HasPrefix(path, "/")
	if !wecom {
		path = r.URL.Path
	}
	s.mu.Lock()
	s.calls[path]++
	f, fail := takeFailure(s.pathFail, &s.tokenFail, path)
	s.mu.Unlock()
	if fail {
		s.fail(w, r, f, wecom)
		return
	}
	if h := s.route(path, wecom); h != nil {
		h(w, r)
		return
	}
	msg := "wechattest: no such endpoint " + r.URL.Path
	if !wecom && (path == pathGetToken || path == pathMessageSend) {
		msg += " (WeCom's endpoints are under " + weComPrefix + ": use WeComURL)"
	}
	writeJSON(w, http.StatusNotFound, map[string]any{"errcode": -1, "errmsg": msg})
}

// route returns the handler of an API path on the WeChat host or, with
// wecom, the WeCom host; nil for none.
func (s *Server) route(path string, wecom bool) http.HandlerFunc {
	if wecom {
		switch path {
		case pathGetToken:
			return s.handleGetToken
		case pathMessageSend:
			return s.protected(path, true, s.handleMessageSend)
		case pathAPIDomainIP:
			return s.protected(path, true, ipList(apiDomainIPs))
		case pathCallbackIP:
			return s.protected(path, true, ipList(callbackIPs))
		}
		return nil
	}
	switch path {
	case pathToken:
		return s.handleToken
	case pathStableToken:
		return s.handleStableToken
	case pathTicket:
		return s.protected(path, false, s.handleTicket)
	case pathMenuCreate:
		return s.protected(path, false, s.handleMenuCreate)
	case pathMenuGet:
		return s.protected(path, false, s.handleMenuGet)
	case pathMenuDelete:
		return s.protected(path, false, s.handleMenuDelete)
	case pathCustomSend:
		return s.protected(path, false, s.handleCustomSend)
	case pathAPIDomainIP:
		return s.protected(path, false, ipList(apiDomainIPs))
	case pathCallbackIP:
		return s.protected(path, false, ipList(callbackIPs))
	}
	return nil
}

// writeJSON writes v the way WeChat does: HTTP 200 even for errcodes.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeErr answers an errcode; like WeChat, failures carry a request id.
func writeErr(w http.ResponseWriter, code int, msg string) {
	if code != 0 {
		msg += " rid: wechattest-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 16)
	}
	writeJSON(w, http.StatusOK, map[string]any{"errcode": code, "errmsg": msg})
}
