package api_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"wxoa/wechat"
	"wxoa/wechat/api"
	"wxoa/wechat/token"
	"wxoa/wechat/wechattest"
)

// appConfig is a client's configuration for one of s's apps, with fast,
// deterministic backoff.
func appConfig(s *wechattest.Server, a *wechattest.App) api.Config {
	return api.Config{
		BaseURL: a.URL(), Platform: a.Platform(), AppID: a.AppID(), AppSecret: wechat.Secret(a.Secret()),
		AgentID: a.AgentID(), HTTP: s.Client(), Backoff: time.Millisecond, Rand: func() float64 { return 0.5 },
	}
}

// managed returns a client of app a that carries a token manager's token,
// as the server wires each account.
func managed(t *testing.T, s *wechattest.Server, a *wechattest.App) (*api.Client, *token.Manager) {
	t.Helper()
	cfg := appConfig(s, a)
	plain, err := api.New(cfg)
	if err != nil {
		t.Fatalf("api.New() = %v", err)
	}
	m, err := token.NewManager(token.Config{Store: token.NewMemoryStore(), Fetcher: plain.AccessTokenFetcher()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	cfg.Tokens, cfg.Refresher = m, m
	c, err := api.New(cfg)
	if err != nil {
		t.Fatalf("api.New() = %v", err)
	}
	return c, m
}

func TestNewForPlatforms(t *testing.T) {
	hc := &http.Client{Timeout: time.Second}
	tests := []struct {
		name    string
		cfg     api.Config
		wantErr string // "" means success
	}{
		{"wecom", api.Config{BaseURL: api.WeComBaseURL, Platform: wechat.PlatformWeCom, AgentID: "1000002", HTTP: hc}, ""},
		{"wecom without agent id", api.Config{BaseURL: api.WeComBaseURL, Platform: wechat.PlatformWeCom, HTTP: hc}, "agent id"},
		{"wecom agent id not digits", api.Config{BaseURL: api.WeComBaseURL, Platform: wechat.PlatformWeCom, AgentID: "+12", HTTP: hc}, "agent id"},
		{"wecom stable", api.Config{BaseURL: api.WeComBaseURL, Platform: wechat.PlatformWeCom, AgentID: "1", Mode: api.ModeStable, HTTP: hc}, "only gettoken"},
		{"wechat with agent id", api.Config{BaseURL: api.WeChatBaseURL, AgentID: "1", HTTP: hc}, "WeCom applications only"},
		{"unknown platform", api.Config{BaseURL: api.WeChatBaseURL, Platform: 9, HTTP: hc}, "unknown platform"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := api.New(tt.cfg)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("New() = %v; want nil", err)
			case tt.wantErr == "" && c.Platform() != tt.cfg.Platform:
				t.Errorf("Platform() = %v; want %v", c.Platform(), tt.cfg.Platform)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("New() = %v; want an error about %q", err, tt.wantErr)
			}
		})
	}
}

// A WeCom client fetches with gettoken, each application of a corp its own
// token, and reads WeCom's errcodes in WeCom's table: 40001 is a wrong
// secret, not a stale token.
func TestWeComFetchAccessToken(t *testing.T) {
	tests := []struct {
		name      string
		secret    string // "": the application's
		fail      *wechattest.Failure
		wantErr   error
		wantNot   error
		wantCode  int
		wantCalls int64
	}{
		{"ok", "", nil, nil, nil, 0, 1},
		{"wrong secret", "not-the-secret", nil, wechat.ErrBadCredentials, wechat.ErrTokenInvalid, 40001, 0},
		{"ip not trusted", "", &wechattest.FailIPWhitelist, wechat.ErrIPNotWhitelisted, nil, 60020, 1},
		{"over the limit", "", &wechattest.FailQuota, wechat.ErrQuotaExceeded, nil, 45009, 1},
		{"busy", "", &wechattest.FailBusy, wechat.ErrSystemBusy, nil, -1, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := wechattest.NewServer(t)
			hr := s.AddWeComApp("wwcorp0001", "1000002", "hrsecret")
			crm := s.AddWeComApp("wwcorp0001", "1000003", "crmsecret")
			if tt.fail != nil {
				hr.Fail(*tt.fail, -1)
			}
			cfg := appConfig(s, hr)
			if tt.secret != "" {
				cfg.AppSecret = wechat.Secret(tt.secret)
			}
			c, err := api.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := c.FetchAccessToken(t.Context(), true)
			if got := hr.TokenCalls(); got != tt.wantCalls {
				t.Errorf("TokenCalls() = %d; want %d", got, tt.wantCalls)
			}
			if tt.wantErr == nil {
				if err != nil || tok.Value.Reveal() != hr.Current() || tok.ExpiresAt.Sub(tok.FetchedAt) != 7200*time.Second {
					t.Fatalf("FetchAccessToken() = %v, %v; want the application's token for 7200 s", tok, err)
				}
				other := accessToken(t, newAppClient(t, s, crm))
				if other == tok.Value.Reveal() {
					t.Errorf("two applications of one corp got the same token")
				}
				return
			}
			var ae *wechat.APIError
			if !errors.Is(err, tt.wantErr) || !errors.As(err, &ae) || ae.Code != tt.wantCode || ae.Platform != wechat.PlatformWeCom || ae.Endpoint != "/cgi-bin/gettoken" {
				t.Fatalf("FetchAccessToken() = %v; want WeCom's errcode %d on /cgi-bin/gettoken matching %v", err, tt.wantCode, tt.wantErr)
			}
			if tt.wantNot != nil && errors.Is(err, tt.wantNot) {
				t.Errorf("FetchAccessToken() = %v; it must not match %v", err, tt.wantNot)
			}
			for _, form := range []string{"%v", "%+v", "%#v"} {
				if msg := fmt.Sprintf(form, err); strings.Contains(msg, cfg.AppSecret.Reveal()) {
					t.Errorf("Sprintf(%q, err) = %q; want no secret in it", form, msg)
				}
			}
		})
	}
}

func newAppClient(t *testing.T, s *wechattest.Server, a *wechattest.App) *api.Client {
	t.Helper()
	c, err := api.New(appConfig(s, a))
	if err != nil {
		t.Fatalf("api.New() = %v", err)
	}
	return c
}

// Through the Transport a WeCom answer of 40014 or 42001 costs one
// compare-and-refresh and one retry; 40001, a wrong secret there, costs
// none.
func TestWeComTransportRefresh(t *testing.T) {
	tests := []struct {
		name        string
		breakIt     func(s *wechattest.Server, a *wechattest.App, tok string)
		wantErr     error
		wantFetches int64
	}{
		{"invalidated (40014)", func(s *wechattest.Server, _ *wechattest.App, tok string) { s.Invalidate(tok) }, nil, 2},
		{"expired (42001)", func(s *wechattest.Server, _ *wechattest.App, tok string) { s.Expire(tok) }, nil, 2},
		{"40001 is not a token answer", func(_ *wechattest.Server, a *wechattest.App, _ string) {
			a.FailPath("/cgi-bin/get_api_domain_ip", wechattest.FailCode(40001), 1)
		}, wechat.ErrBadCredentials, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := wechattest.NewServer(t)
			hr := s.AddWeComApp("wwcorp0001", "1000002", "hrsecret")
			c, m := managed(t, s, hr)
			tok, err := m.Token(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			tt.breakIt(s, hr, tok)
			var out struct {
				IPList []string `json:"ip_list"`
			}
			err = c.Do(t.Context(), http.MethodGet, "/cgi-bin/get_api_domain_ip", nil, &out)
			if tt.wantErr == nil && (err != nil || len(out.IPList) == 0) {
				t.Fatalf("Do(get_api_domain_ip) = %v, %v; want the list after one refresh", out.IPList, err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Do(get_api_domain_ip) = %v; want %v", err, tt.wantErr)
			}
			if got := hr.TokenCalls(); got != tt.wantFetches {
				t.Errorf("TokenCalls() = %d; want %d", got, tt.wantFetches)
			}
		})
	}
}

// CheckAccessToken works for every kind of account, on get_api_domain_ip,
// with each platform's codes.
func TestCheckAccessTokenPerPlatform(t *testing.T) {
	type kind struct {
		name string
		add  func(s *wechattest.Server) *wechattest.App
	}
	kinds := []kind{
		{"mini program", func(s *wechattest.Server) *wechattest.App { return s.AddApp("wxmini000000001", "minisecret") }},
		{"wecom", func(s *wechattest.Server) *wechattest.App { return s.AddWeComApp("wwcorp0001", "1000002", "hrsecret") }},
	}
	tests := []struct {
		name     string
		breakIt  func(s *wechattest.Server, tok string) string
		wantCode map[bool]int // by WeCom-ness; 0: accepted
	}{
		{"valid", func(_ *wechattest.Server, tok string) string { return tok }, map[bool]int{false: 0, true: 0}},
		{"expired", func(s *wechattest.Server, tok string) string { s.Expire(tok); return tok }, map[bool]int{false: 42001, true: 42001}},
		{"revoked", func(s *wechattest.Server, tok string) string { s.Invalidate(tok); return tok }, map[bool]int{false: 40001, true: 40014}},
		{"never minted", func(*wechattest.Server, string) string { return "FAKE_never" }, map[bool]int{false: 40001, true: 40014}},
	}
	for _, k := range kinds {
		for _, tt := range tests {
			t.Run(k.name+"/"+tt.name, func(t *testing.T) {
				s := wechattest.NewServer(t)
				a := k.add(s)
				c := newAppClient(t, s, a)
				wecom := a.Platform() == wechat.PlatformWeCom
				err := c.CheckAccessToken(t.Context(), tt.breakIt(s, accessToken(t, c)))
				want := tt.wantCode[wecom]
				var ae *wechat.APIError
				switch {
				case want == 0 && err != nil:
					t.Fatalf("CheckAccessToken() = %v; want nil", err)
				case want != 0 && (!errors.As(err, &ae) || ae.Code != want || !errors.Is(err, wechat.ErrTokenInvalid)):
					t.Fatalf("CheckAccessToken() = %v; want errcode %d matching ErrTokenInvalid", err, want)
				}
				if got := a.Calls("/cgi-bin/get_api_domain_ip"); want == 0 && got != 1 {
					t.Errorf("Calls(get_api_domain_ip) of the account = %d; want 1", got)
				}
			})
		}
	}
}
