package token_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"wxoa/wechat"
	"wxoa/wechat/api"
	"wxoa/wechat/token"
	"wxoa/wechat/wechattest"
)

var failures = []struct {
	name string
	f    wechattest.Failure
	is   func(error) bool
}{
	{"busy", wechattest.FailBusy, func(err error) bool { return errors.Is(err, wechat.ErrSystemBusy) }},
	{"quota", wechattest.FailQuota, func(err error) bool { return errors.Is(err, wechat.ErrQuotaExceeded) }},
	{"5xx", wechattest.FailServerError, func(err error) bool { var he *api.HTTPError; return errors.As(err, &he) && he.StatusCode == 502 }},
	{"hang", wechattest.FailHang, func(err error) bool { return errors.Is(err, context.DeadlineExceeded) }},
}

func TestIntegrationUpstreamFailureWithCachedToken(t *testing.T) {
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			clk := wechattest.NewClock(time.Now())
			e := newEnv(t, clk.Now)
			// Roomy enough for the first fetch on a loaded CI machine; the hang
			// case ends the background refresh at this bound.
			m := e.manager(t, open(t, "memory"), api.ModeClassic, func(c *token.Config) { c.FetchTimeout = 2 * time.Second })
			good := hammer(t, e, 10, m)[0]
			e.srv.Fail(tt.f, -1)
			clk.Advance(7200*time.Second - 2*time.Minute) // inside the 5m margin
			for i := range 50 {
				if v, err := m.Token(context.Background()); v != good || err != nil {
					t.Fatalf("Token() #%d while upstream fails = %q, %v; want the cached %q", i, v, err, good)
				}
			}
			waitFor(t, "the failed background refresh", func() bool {
				return strings.Contains(e.logs.String(), "refresh failed") && e.srv.TokenCalls() == 2
			})
			if v, err := m.Token(context.Background()); v != good || err != nil {
				t.Errorf("Token() after the failed refresh = %q, %v; want %q", v, err, good)
			}
			e.srv.Heal()
		})
	}
}

func TestIntegrationUpstreamFailureWithoutToken(t *testing.T) {
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			clk := wechattest.NewClock(time.Now())
			e := newEnv(t, clk.Now)
			e.srv.Fail(tt.f, 1)
			// Only the hang needs a short bound; the others get time for
			// their retries on a loaded machine.
			timeout := 5 * time.Second
			if tt.name == "hang" {
				timeout = 300 * time.Millisecond
			}
			m := e.manager(t, open(t, "memory"), api.ModeStable, func(c *token.Config) { c.FetchTimeout = timeout })
			_, err := m.Token(context.Background())
			if err == nil || !tt.is(err) || !strings.HasPrefix(err.Error(), "token access_token: ") {
				t.Errorf("Token() with %s upstream = %v; want a wrapped %s error", tt.name, err, tt.name)
			}
			// The failure is remembered: callers get it at once, WeChat is not asked again.
			calls := e.srv.TokenCalls()
			var re *token.RememberedError
			if _, err := m.Token(context.Background()); !errors.As(err, &re) || !tt.is(err) || e.srv.TokenCalls() != calls {
				t.Errorf("Token() right after the failure = %v with %d more calls; want the remembered %s error and none", err, e.srv.TokenCalls()-calls, tt.name)
			}
			clk.Advance(re.RetryIn + time.Second)
			if v, err := m.Token(context.Background()); err != nil || v != e.srv.Current() {
				t.Errorf("Token() after the back-off = %q, %v; want %q", v, err, e.srv.Current())
			}
			e.saw(e.srv.Current())
		})
	}
}
