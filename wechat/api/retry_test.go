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

func TestFetchAccessTokenRetries(t *testing.T) {
	tests := []struct {
		name      string
		mode      api.Mode
		fail      wechattest.Failure
		n         int
		wantCalls int64
		wantErr   error // nil: success after the failures
	}{
		{"busy twice", api.ModeClassic, wechattest.FailBusy, 2, 3, nil},
		{"busy twice stable", api.ModeStable, wechattest.FailBusy, 2, 3, nil},
		{"502 three times", api.ModeClassic, wechattest.FailServerError, 3, 4, nil},
		{"502 stable", api.ModeStable, wechattest.FailServerError, 1, 2, nil},
		{"hang once", api.ModeClassic, wechattest.FailHang, 1, 2, nil},
		{"hang stable", api.ModeStable, wechattest.FailHang, 2, 3, nil},
		{"busy always", api.ModeClassic, wechattest.FailBusy, -1, 4, wechat.ErrSystemBusy},
		{"502 always", api.ModeStable, wechattest.FailServerError, -1, 4, &api.HTTPError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := wechattest.NewServer(t)
			c := newClient(t, s, tt.mode, func(c *api.Config) {
				c.HTTP.Timeout = 100 * time.Millisecond // per attempt, so a hang costs one attempt
			})
			s.Fail(tt.fail, tt.n)
			tok, err := c.FetchAccessToken(t.Context(), false)
			if got := s.TokenCalls(); got != tt.wantCalls {
				t.Errorf("TokenCalls() = %d; want %d", got, tt.wantCalls)
			}
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("FetchAccessToken() = %v; want success after %d failures", err, tt.n)
			case tt.wantErr == nil && !s.Valid(tok.Value.Reveal()):
				t.Errorf("FetchAccessToken() returned a token the server does not accept")
			case tt.wantErr != nil && !matches(err, tt.wantErr):
				t.Errorf("FetchAccessToken() = %v; want %v", err, tt.wantErr)
			}
		})
	}
}

// matches is errors.Is for sentinels and errors.As for *api.HTTPError.
func matches(err, want error) bool {
	var he *api.HTTPError
	if errors.As(want, &he) {
		return errors.As(err, &he)
	}
	return errors.Is(err, want)
}

func TestFetchAccessTokenDoesNotRetry(t *testing.T) {
	tests := []struct {
		name    string
		mode    api.Mode
		cfg     func(*api.Config)
		fail    *wechattest.Failure
		want    error
		wantMsg string
	}{
		{"wrong appid", api.ModeClassic, func(c *api.Config) { c.AppID = "wxwrong" }, nil, wechat.ErrBadCredentials, "40013"},
		{"wrong secret", api.ModeClassic, func(c *api.Config) { c.AppSecret = "nope" }, nil, wechat.ErrBadCredentials, "40125"},
		{"wrong secret stable", api.ModeStable, func(c *api.Config) { c.AppSecret = "nope" }, nil, wechat.ErrBadCredentials, "40125"},
		{"ip whitelist", api.ModeClassic, nil, &wechattest.FailIPWhitelist, wechat.ErrIPNotWhitelisted, "add 203.0.113.7 to the IP whitelist"},
		{"ip whitelist stable", api.ModeStable, nil, &wechattest.FailIPWhitelist, wechat.ErrIPNotWhitelisted, "203.0.113.7"},
		{"quota", api.ModeClassic, nil, &wechattest.FailQuota, wechat.ErrQuotaExceeded, "45009"},
		{"frozen secret", api.ModeStable, nil, ptr(wechattest.FailCode(40243)), nil, "40243"},
		{"too often", api.ModeClassic, nil, ptr(wechattest.FailCode(45011)), nil, "45011"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := wechattest.NewServer(t)
			mods := []func(*api.Config){}
			if tt.cfg != nil {
				mods = append(mods, tt.cfg)
			}
			c := newClient(t, s, tt.mode, mods...)
			if tt.fail != nil {
				s.Fail(*tt.fail, -1)
			}
			_, err := c.FetchAccessToken(t.Context(), false)
			if got := s.TokenCalls(); got != 1 {
				t.Errorf("TokenCalls() = %d; want 1 (no retry)", got)
			}
			var ae *wechat.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("FetchAccessToken() = %v; want *wechat.APIError", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("FetchAccessToken() = %v; want errors.Is %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("FetchAccessToken() = %q; want it to contain %q", err, tt.wantMsg)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestRetryStopsAtDeadline checks that a retry loop gives up rather than
// sleep past the caller's deadline, and that a hang ends with the context.
func TestRetryStopsAtDeadline(t *testing.T) {
	t.Run("backoff longer than deadline", func(t *testing.T) {
		s := wechattest.NewServer(t)
		c := newClient(t, s, api.ModeClassic, func(c *api.Config) {
			c.Backoff, c.MaxBackoff = time.Hour, time.Hour
			c.Rand = func() float64 { return 0.99 }
		})
		s.Fail(wechattest.FailBusy, -1)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		_, err := c.FetchAccessToken(ctx, false)
		if !errors.Is(err, wechat.ErrSystemBusy) {
			t.Errorf("FetchAccessToken() = %v; want ErrSystemBusy (the last error)", err)
		}
		if ctx.Err() != nil {
			t.Errorf("FetchAccessToken() returned after the deadline; want it to give up at once")
		}
		if got := s.TokenCalls(); got != 1 {
			t.Errorf("TokenCalls() = %d; want 1", got)
		}
	})
	t.Run("hang without per-attempt timeout", func(t *testing.T) {
		s := wechattest.NewServer(t)
		c := newClient(t, s, api.ModeStable, func(c *api.Config) { c.HTTP.Timeout = 0 })
		s.Fail(wechattest.FailHang, -1)
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		_, err := c.FetchAccessToken(ctx, false)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("FetchAccessToken() = %v; want context.DeadlineExceeded", err)
		}
		if got := s.TokenCalls(); got != 1 {
			t.Errorf("TokenCalls() = %d; want 1", got)
		}
	})
	t.Run("hangs with per-attempt timeout", func(t *testing.T) {
		s := wechattest.NewServer(t)
		c := newClient(t, s, api.ModeClassic, func(c *api.Config) {
			c.HTTP.Timeout = 50 * time.Millisecond
			c.MaxAttempts = 1000
		})
		s.Fail(wechattest.FailHang, -1)
		ctx, cancel := context.WithTimeout(t.Context(), 400*time.Millisecond)
		defer cancel()
		_, err := c.FetchAccessToken(ctx, false)
		if err == nil {
			t.Fatalf("FetchAccessToken() = nil; want an error")
		}
		// Each attempt lasts at least 50 ms, so at most 8 fit in 400 ms.
		if got := s.TokenCalls(); got < 2 || got > 8 {
			t.Errorf("TokenCalls() = %d; want 2..8", got)
		}
	})
	t.Run("cancelled during backoff", func(t *testing.T) {
		s := wechattest.NewServer(t)
		c := newClient(t, s, api.ModeClassic, func(c *api.Config) {
			c.Backoff, c.MaxBackoff = time.Hour, time.Hour
		})
		s.Fail(wechattest.FailServerError, -1)
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(50*time.Millisecond, cancel)
		_, err := c.FetchAccessToken(ctx, false)
		var he *api.HTTPError
		if !errors.As(err, &he) || he.StatusCode != http.StatusBadGateway {
			t.Errorf("FetchAccessToken() = %v; want the last error, HTTP 502", err)
		}
		if got := s.TokenCalls(); got != 1 {
			t.Errorf("TokenCalls() = %d; want 1", got)
		}
	})
}
