package api_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"wxoa/wechat"
	"wxoa/wechat/api"
	"wxoa/wechat/wechattest"
)

// newClient returns a Client for s with fast, deterministic backoff.
func newClient(t *testing.T, s *wechattest.Server, mode api.Mode, mods ...func(*api.Config)) *api.Client {
	t.Helper()
	cfg := api.Config{
		BaseURL:   s.URL + "/",
		AppID:     s.AppID(),
		AppSecret: wechat.Secret(s.AppSecret()),
		Mode:      mode,
		HTTP:      s.Client(),
		Backoff:   time.Millisecond,
		Rand:      func() float64 { return 0.5 },
	}
	for _, m := range mods {
		m(&cfg)
	}
	c, err := api.New(cfg)
	if err != nil {
		t.Fatalf("api.New() = %v", err)
	}
	return c
}

func TestNew(t *testing.T) {
	ok := &http.Client{Timeout: time.Second}
	tests := []struct {
		name    string
		cfg     api.Config
		wantErr string
	}{
		{"valid", api.Config{BaseURL: "https://api.weixin.qq.com", HTTP: ok}, ""},
		{"valid stable", api.Config{BaseURL: "http://127.0.0.1:1/", HTTP: ok, Mode: api.ModeStable}, ""},
		{"empty base", api.Config{HTTP: ok}, "base URL is empty"},
		{"bad scheme", api.Config{BaseURL: "ftp://x", HTTP: ok}, "scheme"},
		{"no host", api.Config{BaseURL: "https://", HTTP: ok}, "no host"},
		{"unparsable", api.Config{BaseURL: "http://[::1", HTTP: ok}, "base URL"},
		{"query", api.Config{BaseURL: "https://x/?a=b", HTTP: ok}, "query"},
		{"nil http", api.Config{BaseURL: "https://x"}, "HTTP client is nil"},
		{"bad mode", api.Config{BaseURL: "https://x", HTTP: ok, Mode: "fast"}, "unknown mode"},
		{"negative attempts", api.Config{BaseURL: "https://x", HTTP: ok, MaxAttempts: -1}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := api.New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New(%+v) = %v; want nil", tt.cfg, err)
				}
				if strings.HasSuffix(c.BaseURL(), "/") {
					t.Errorf("BaseURL() = %q; want no trailing slash", c.BaseURL())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New(%+v) = %v; want error containing %q", tt.cfg, err, tt.wantErr)
			}
		})
	}
}

func TestFetchAccessToken(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		mode api.Mode
		path string
	}{
		{api.ModeClassic, "/cgi-bin/token"},
		{api.ModeStable, "/cgi-bin/stable_token"},
	} {
		t.Run(string(tt.mode), func(t *testing.T) {
			s := wechattest.NewServer(t, func(o *wechattest.Options) { o.ExpiresIn = 90 * time.Second })
			c := newClient(t, s, tt.mode, func(c *api.Config) { c.Now = func() time.Time { return now } })
			tok, err := c.FetchAccessToken(t.Context(), false)
			if err != nil {
				t.Fatalf("FetchAccessToken() = %v", err)
			}
			if got := tok.Value.Reveal(); got != s.Current() || !s.Valid(got) {
				t.Errorf("FetchAccessToken() value valid = %v, current = %v; want both", s.Valid(got), got == s.Current())
			}
			if want := now.Add(90 * time.Second); !tok.ExpiresAt.Equal(want) {
				t.Errorf("ExpiresAt = %v; want %v", tok.ExpiresAt, want)
			}
			if !tok.FetchedAt.Equal(now) {
				t.Errorf("FetchedAt = %v; want %v", tok.FetchedAt, now)
			}
			if got := s.Calls(tt.path); got != 1 {
				t.Errorf("Calls(%q) = %d; want 1", tt.path, got)
			}
			if got := s.TokenCalls(); got != 1 {
				t.Errorf("TokenCalls() = %d; want 1", got)
			}
		})
	}
}

func TestFetchAccessTokenStableForce(t *testing.T) {
	clock := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	s := wechattest.NewServer(t, func(o *wechattest.Options) { o.Now = func() time.Time { return clock } })
	c := newClient(t, s, api.ModeStable)
	ctx := t.Context()
	first, err := c.FetchAccessToken(ctx, false)
	if err != nil {
		t.Fatalf("FetchAccessToken(false) = %v", err)
	}
	again, err := c.FetchAccessToken(ctx, false)
	if err != nil || again.Value != first.Value {
		t.Fatalf("FetchAccessToken(false) again = same %v, %v; want the same token", again.Value == first.Value, err)
	}
	forced, err := c.FetchAccessToken(ctx, true)
	if err != nil || forced.Value == first.Value {
		t.Fatalf("FetchAccessToken(true) = same %v, %v; want a new token", forced.Value == first.Value, err)
	}
	if got := s.Calls("/cgi-bin/stable_token"); got != 3 {
		t.Errorf("Calls(stable_token) = %d; want 3", got)
	}
}

func TestFetchAccessTokenClassicIgnoresForce(t *testing.T) {
	s := wechattest.NewServer(t)
	c := newClient(t, s, api.ModeClassic)
	if _, err := c.FetchAccessToken(t.Context(), true); err != nil {
		t.Fatalf("FetchAccessToken(true) = %v", err)
	}
	if got := s.Calls("/cgi-bin/token"); got != 1 {
		t.Errorf("Calls(/cgi-bin/token) = %d; want 1", got)
	}
}

func TestFetchAccessTokenNeedsCredentials(t *testing.T) {
	s := wechattest.NewServer(t)
	c := newClient(t, s, api.ModeClassic, func(c *api.Config) { c.AppSecret = "" })
	if _, err := c.FetchAccessToken(t.Context(), false); err == nil {
		t.Errorf("FetchAccessToken() without secret = nil; want error")
	}
	if got := s.TokenCalls(); got != 0 {
		t.Errorf("TokenCalls() = %d; want 0", got)
	}
}

func TestAccessTokenFetcher(t *testing.T) {
	s := wechattest.NewServer(t)
	f := newClient(t, s, api.ModeStable).AccessTokenFetcher()
	tok, err := f.Fetch(t.Context(), false)
	if err != nil || tok.Value.Reveal() != s.Current() {
		t.Errorf("Fetch() = current %v, %v; want the current token", tok.Value.Reveal() == s.Current(), err)
	}
}

func TestFetchJSAPITicket(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	s := wechattest.NewServer(t, func(o *wechattest.Options) { o.ExpiresIn = time.Hour })
	c := newClient(t, s, api.ModeClassic, func(c *api.Config) { c.Now = func() time.Time { return now } })
	at, err := c.FetchAccessToken(t.Context(), false)
	if err != nil {
		t.Fatalf("FetchAccessToken() = %v", err)
	}
	carry := at.Value.Reveal()
	c = newClient(t, s, api.ModeClassic, func(c *api.Config) {
		c.Now = func() time.Time { return now }
		c.Tokens = sourceOf(&carry)
	})
	tk, err := c.FetchJSAPITicket(t.Context())
	if err != nil {
		t.Fatalf("FetchJSAPITicket() = %v", err)
	}
	if tk.Value.Reveal() != s.Ticket() || !tk.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Errorf("FetchJSAPITicket() = (current %v, expires %v); want (true, %v)", tk.Value.Reveal() == s.Ticket(), tk.ExpiresAt, now.Add(time.Hour))
	}
	s.Expire(at.Value.Reveal())
	if _, err := c.FetchJSAPITicket(t.Context()); !errors.Is(err, wechat.ErrTokenInvalid) {
		t.Errorf("FetchJSAPITicket(expired) = %v; want ErrTokenInvalid", err)
	}
	c = newClient(t, s, api.ModeClassic, func(c *api.Config) {
		c.Tokens = tokenFunc(func(context.Context) (string, error) { return "", errors.New("no token") })
	})
	f := c.JSAPITicketFetcher()
	if _, err := f.Fetch(t.Context(), false); err == nil {
		t.Errorf("JSAPITicketFetcher without access_token = nil; want error")
	}
	if got := s.Calls("/cgi-bin/ticket/getticket"); got != 2 {
		t.Errorf("Calls(getticket) = %d; want 2", got)
	}
}
