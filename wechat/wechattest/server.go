// Package wechattest runs a fake WeChat Official Account API on 127.0.0.1, in
// the style of net/http/httptest, so tests exercise real HTTP against the
// token, ticket, menu, customer-service and server-IP endpoints without the
// internet.
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
	"sync"
	"testing"
	"time"
)

// Options configures a Server. Zero fields take the defaults below.
type Options struct {
	AppID     string // default "wxtest0000000000"
	AppSecret string // default "testsecret"
	// ExpiresIn is the lifetime of minted tokens and tickets, answered as
	// expires_in in whole seconds (so use whole seconds). Default 7200s.
	ExpiresIn time.Duration
	// Overlap is how long a replaced access_token keeps working; WeChat
	// documents five minutes. Default 5m.
	Overlap time.Duration
	// Now is the server's clock; tests drive a fake one to expire tokens.
	Now func() time.Time
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
	// URL is the base URL, e.g. "http://127.0.0.1:41234", with no trailing slash.
	URL string

	opts   Options
	hs     *httptest.Server
	closed chan struct{}
	once   sync.Once

	mu        sync.Mutex
	calls     map[string]int64
	tokenFail failRule            // applies to /cgi-bin/token and /cgi-bin/stable_token
	pathFail  map[string]failRule // FailPath rules
	tokens    map[string]*grant   // access_tokens and jsapi tickets ever minted
	current   map[family]string   // latest token per family
	latest    string              // latest access_token of either family
	forced    []time.Time         // stable_token force_refresh calls
	menu      json.RawMessage
	messages  []json.RawMessage
	reject    map[string]int // openid → errcode for custom/send
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
	s.URL = s.hs.URL
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
	s.URL = s.hs.URL
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
		current:  make(map[family]string),
		reject:   make(map[string]int),
	}
	return s
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

// AppID returns the appid the server accepts.
func (s *Server) AppID() string { return s.opts.AppID }

// AppSecret returns the secret the server accepts.
func (s *Server) AppSecret() string { return s.opts.AppSecret }

// Calls returns how many requests reached path (failed ones included).
func (s *Server) Calls(path string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

// TokenCalls returns the calls to /cgi-bin/token and /cgi-bin/stable_token.
func (s *Server) TokenCalls() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[pathToken] + s.calls[pathStableToken]
}

const (
	pathToken       = "/cgi-bin/token"
	pathStableToken = "/cgi-bin/stable_token"
	pathTicket      = "/cgi-bin/ticket/getticket"
	pathMenuCreate  = "/cgi-bin/menu/create"
	pathMenuGet     = "/cgi-bin/menu/get"
	pathMenuDelete  = "/cgi-bin/menu/delete"
	pathCustomSend  = "/cgi-bin/message/custom/send"
	pathAPIDomainIP = "/cgi-bin/get_api_domain_ip"
	pathCallbackIP  = "/cgi-bin/getcallbackip"
)

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	s.mu.Lock()
	s.calls[path]++
	f, fail := s.takeFailure(path)
	s.mu.Unlock()
	if fail {
		s.fail(w, r, f)
		return
	}
	switch path {
	case pathToken:
		s.handleToken(w, r)
	case pathStableToken:
		s.handleStableToken(w, r)
	case pathTicket:
		s.protected(w, r, s.handleTicket)
	case pathMenuCreate:
		s.protected(w, r, s.handleMenuCreate)
	case pathMenuGet:
		s.protected(w, r, s.handleMenuGet)
	case pathMenuDelete:
		s.protected(w, r, s.handleMenuDelete)
	case pathCustomSend:
		s.protected(w, r, s.handleCustomSend)
	case pathAPIDomainIP:
		s.protected(w, r, ipList(apiDomainIPs))
	case pathCallbackIP:
		s.protected(w, r, ipList(callbackIPs))
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"errcode": -1, "errmsg": "wechattest: no such endpoint " + path})
	}
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
