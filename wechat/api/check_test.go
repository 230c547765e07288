package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"wxoa/wechat"
	"wxoa/wechat/api"
	"wxoa/wechat/token"
	"wxoa/wechat/wechattest"
)

func TestCheckAccessToken(t *testing.T) {
	const path = "/cgi-bin/get_api_domain_ip"
	tests := []struct {
		name string
		// setup returns the token to check after breaking it (or not).
		setup     func(s *wechattest.Server, at string) string
		wantCalls int64
		wantErr   error // nil: accepted
		wantCode  int   // errcode of the *wechat.APIError; 0: none expected
	}{
		{"valid", func(_ *wechattest.Server, at string) string { return at }, 1, nil, 0},
		{"fetched elsewhere", func(s *wechattest.Server, at string) string { s.FetchElsewhere(); return at }, 1, wechat.ErrTokenInvalid, 40001},
		{"expired", func(s *wechattest.Server, at string) string { s.Expire(at); return at }, 1, wechat.ErrTokenInvalid, 42001},
		{"unknown", func(*wechattest.Server, string) string { return "FAKE_never_minted" }, 1, wechat.ErrTokenInvalid, 40001},
		{"busy once", func(s *wechattest.Server, at string) string {
			s.FailPath(path, wechattest.FailBusy, 1)
			return at
		}, 2, nil, 0},
		{"busy always", func(s *wechattest.Server, at string) string {
			s.FailPath(path, wechattest.FailBusy, -1)
			return at
		}, 4, wechat.ErrSystemBusy, -1},
		{"502 always", func(s *wechattest.Server, at string) string {
			s.FailPath(path, wechattest.FailServerError, -1)
			return at
		}, 4, &api.HTTPError{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := wechattest.NewServer(t)
			c := newClient(t, s, api.ModeClassic)
			at := tt.setup(s, accessToken(t, c))
			err := c.CheckAccessToken(t.Context(), at)
			if got := s.Calls(path); got != tt.wantCalls {
				t.Errorf("Calls(%q) = %d; want %d", path, got, tt.wantCalls)
			}
			if got := s.TokenCalls(); got != 1 {
				t.Errorf("TokenCalls() = %d; want 1 (a check never fetches)", got)
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("CheckAccessToken() = %v; want nil", err)
				}
				return
			}
			if !matches(err, tt.wantErr) {
				t.Fatalf("CheckAccessToken() = %v; want %v", err, tt.wantErr)
			}
			var ae *wechat.APIError
			if tt.wantCode != 0 && (!errors.As(err, &ae) || ae.Code != tt.wantCode || ae.Endpoint != path) {
				t.Errorf("CheckAccessToken() = %#v; want *wechat.APIError{Code: %d, Endpoint: %q}", err, tt.wantCode, path)
			}
			for _, form := range []string{"%v", "%+v", "%#v", "%s"} {
				if msg := fmt.Sprintf(form, err); strings.Contains(msg, at) {
					t.Errorf("Sprintf(%q, err) = %q; want no access_token in it", form, msg)
				}
			}
		})
	}
}

// TestCheckAccessTokenNotWeChat covers a 200 that is not WeChat's answer,
// e.g. a wrong base URL: it must not pass for an accepted token.
func TestCheckAccessTokenNotWeChat(t *testing.T) {
	for _, body := range []string{`{}`, `{"ip_list":[]}`, `<html>login</html>`} {
		t.Run(body, func(t *testing.T) {
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(body))
			}))
			defer hs.Close()
			c, err := api.New(api.Config{BaseURL: hs.URL, HTTP: &http.Client{Timeout: 5 * time.Second}})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.CheckAccessToken(t.Context(), "SOME_TOKEN"); err == nil || strings.Contains(err.Error(), "SOME_TOKEN") {
				t.Errorf("CheckAccessToken() with body %q = %v; want an error without the token", body, err)
			}
		})
	}
}

// refresherFunc adapts a function to api.Refresher.
type refresherFunc func(ctx context.Context, stale string) (token.Token, error)

func (f refresherFunc) RefreshIfCurrent(ctx context.Context, stale string) (token.Token, error) {
	return f(ctx, stale)
}

// FetchAccessToken and CheckAccessToken go out without the client's Tokens
// and Refresher: a fetch must not ask for the token it produces, and a check
// must see WeChat's rejection, not a retry with a replacement.
func TestTokenCallsIgnoreTokensAndRefresher(t *testing.T) {
	tests := []struct {
		name string
		mode api.Mode
		// call makes the token call; s has a token the client fetched.
		call    func(c *api.Client, s *wechattest.Server, at string) error
		wantErr error // nil: success
	}{
		{"fetch classic", api.ModeClassic, func(c *api.Client, _ *wechattest.Server, _ string) error {
			_, err := c.FetchAccessToken(t.Context(), false)
			return err
		}, nil},
		{"fetch stable", api.ModeStable, func(c *api.Client, _ *wechattest.Server, _ string) error {
			_, err := c.FetchAccessToken(t.Context(), true)
			return err
		}, nil},
		{"check accepted", api.ModeClassic, func(c *api.Client, _ *wechattest.Server, at string) error {
			return c.CheckAccessToken(t.Context(), at)
		}, nil},
		{"check rejected", api.ModeClassic, func(c *api.Client, s *wechattest.Server, at string) error {
			s.Expire(at)
			return c.CheckAccessToken(t.Context(), at)
		}, wechat.ErrTokenInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := wechattest.NewServer(t)
			at := accessToken(t, newClient(t, s, tt.mode))
			var asked, refreshed atomic.Int64
			c := newClient(t, s, tt.mode, func(c *api.Config) {
				c.Tokens = tokenFunc(func(context.Context) (string, error) {
					asked.Add(1)
					return "", errors.New("the token source was asked")
				})
				c.Refresher = refresherFunc(func(ctx context.Context, _ string) (token.Token, error) {
					refreshed.Add(1)
					return newClient(t, s, tt.mode).FetchAccessToken(ctx, true)
				})
			})
			err := tt.call(c, s, at)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("%s = %v; want %v", tt.name, err, tt.wantErr)
			}
			if asked.Load() != 0 || refreshed.Load() != 0 {
				t.Errorf("token source asked %d times, refresher %d; want neither", asked.Load(), refreshed.Load())
			}
		})
	}
}

// A token manager fed by the very client that carries its token: its fetch
// and its check of a reported token must not wait for its own refresh
// (before, each waited for itself until FetchTimeout).
func TestManagerFedByItsOwnClient(t *testing.T) {
	for _, mode := range []api.Mode{api.ModeClassic, api.ModeStable} {
		t.Run(string(mode), func(t *testing.T) {
			s := wechattest.NewServer(t)
			var c *api.Client
			m, err := token.NewManager(token.Config{
				Store: token.NewMemoryStore(),
				Fetcher: token.FetcherFunc(func(ctx context.Context, force bool) (token.Token, error) {
					return c.FetchAccessToken(ctx, force)
				}),
				Checker: token.CheckerFunc(func(ctx context.Context, tok string) error {
					return c.CheckAccessToken(ctx, tok)
				}),
				FetchTimeout: 5 * time.Second, // only how long the failure took before the fix
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { m.Close() })
			c = newClient(t, s, mode, func(cfg *api.Config) { cfg.Tokens, cfg.Refresher = m, m })
			first, err := m.Token(t.Context())
			if err != nil || first != s.Current() {
				t.Fatalf("Token() = current %v, %v; want WeChat's current token", first == s.Current(), err)
			}
			s.Expire(first)
			fresh, err := m.RefreshIfCurrent(t.Context(), first)
			if err != nil || fresh.Value.Reveal() == first || fresh.Value.Reveal() != s.Current() {
				t.Fatalf("RefreshIfCurrent(expired) = new %v, current %v, %v; want WeChat's new token",
					fresh.Value.Reveal() != first, fresh.Value.Reveal() == s.Current(), err)
			}
			if got := s.Calls("/cgi-bin/get_api_domain_ip"); got != 1 {
				t.Errorf("checks = %d; want 1", got)
			}
			if got := s.TokenCalls(); got != 2 {
				t.Errorf("TokenCalls() = %d; want 2 (the first token and its replacement)", got)
			}
		})
	}
}
