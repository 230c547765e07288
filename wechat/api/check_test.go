package api_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wxoa/wechat"
	"wxoa/wechat/api"
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
