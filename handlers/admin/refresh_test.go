package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"wxoa/wechat"
	"wxoa/wechat/token"
)

func TestRefreshCSRF(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.login(t)
	other := newEnv(t) // another process: another session key
	_, theirs := other.login(t)
	_, mine2 := e.login(t) // another session of the same process

	tests := []struct {
		name string
		form url.Values
		want int
	}{
		{"no token", url.Values{}, http.StatusForbidden},
		{"empty token", url.Values{"csrf": {""}}, http.StatusForbidden},
		{"wrong token", url.Values{"csrf": {"AAAA" + csrf[4:]}}, http.StatusForbidden},
		{"another process's token", url.Values{"csrf": {theirs}}, http.StatusForbidden},
		{"another session's token", url.Values{"csrf": {mine2}}, http.StatusForbidden},
		{"the session's token", url.Values{"csrf": {csrf}}, http.StatusSeeOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.tokens.calls())
			w := e.do("POST", "/admin/refresh", tt.form, withCookie(c))
			if w.Code != tt.want {
				t.Fatalf("POST /admin/refresh (%s) = %d; want %d", tt.name, w.Code, tt.want)
			}
			calls := e.tokens.calls()[before:]
			if tt.want != http.StatusSeeOther {
				if len(calls) != 0 {
					t.Errorf("refused POST called RefreshIfCurrent %d times", len(calls))
				}
				return
			}
			if !slices.Equal(calls, []string{tok1}) {
				t.Errorf("RefreshIfCurrent calls = %d %v; want one with the token in service", len(calls), calls)
			}
			page := e.do("GET", "/admin", nil, withCookie(c), withCookie(cookieNamed(w, flashCookie)))
			body := page.Body.String()
			if !strings.Contains(body, `class="flash ok" id="flash">Refreshed: the new token 84_NEW…(`) ||
				!strings.Contains(body, `id="token-expires">2026-03-01 10:00:00 UTC<`) {
				t.Errorf("the page after the refresh lacks the flash or the new expiry:\n%s", body)
			}
		})
	}
}

func TestRefreshBearerNeedsNoCSRF(t *testing.T) {
	e := newEnv(t)
	if w := e.do("POST", "/admin/refresh", nil, bearer(testKey)); w.Code != http.StatusSeeOther {
		t.Fatalf("POST /admin/refresh with the bearer key = %d; want 303", w.Code)
	}
	if w := e.do("POST", "/admin/refresh", nil, bearer("wrong")); w.Code != http.StatusUnauthorized {
		t.Errorf("POST /admin/refresh with a wrong bearer key = %d; want 401", w.Code)
	}
	if got := e.tokens.calls(); !slices.Equal(got, []string{tok1}) {
		t.Errorf("RefreshIfCurrent calls = %v; want one with the token in service", got)
	}
}

func TestCrossOrigin(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.login(t)
	tests := []struct {
		name, header, value string
		want                int
	}{
		{"other origin", "Origin", "https://evil.example", http.StatusForbidden},
		{"origin null", "Origin", "null", http.StatusForbidden},
		{"other referer", "Referer", "https://evil.example/admin", http.StatusForbidden},
		{"same origin", "Origin", "http://example.com", http.StatusSeeOther},
		{"same referer", "Referer", "http://example.com/admin", http.StatusSeeOther},
		{"forwarded host", "Origin", "https://admin.example.org", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.do("POST", "/admin/refresh", url.Values{"csrf": {csrf}}, withCookie(c), header(tt.header, tt.value))
			if w.Code != tt.want {
				t.Errorf("POST /admin/refresh with %s: %s = %d; want %d", tt.header, tt.value, w.Code, tt.want)
			}
		})
	}
	t.Run("behind a proxy", func(t *testing.T) {
		w := e.do("POST", "/admin/refresh", url.Values{"csrf": {csrf}}, withCookie(c),
			header("Origin", "https://admin.example.org"), header("X-Forwarded-Host", "admin.example.org"))
		if w.Code != http.StatusSeeOther {
			t.Errorf("POST with Origin = X-Forwarded-Host = %d; want 303", w.Code)
		}
	})
	t.Run("login", func(t *testing.T) {
		w := e.do("POST", "/admin/login", url.Values{"key": {testKey}}, header("Origin", "https://evil.example"))
		if w.Code != http.StatusForbidden || cookieNamed(w, SessionCookie) != nil {
			t.Errorf("cross-origin POST /admin/login = %d; want 403 and no session", w.Code)
		}
	})
}

func TestRefreshOutcomes(t *testing.T) {
	tests := []struct {
		name    string
		fn      func(context.Context, string) (token.Token, error)
		flash   string
		expired bool // the page's own deadline is over: the refresh gets no time
	}{
		{"failure", func(context.Context, string) (token.Token, error) {
			return token.Token{}, &wechat.APIError{Code: 45009, Endpoint: "/cgi-bin/token"}
		}, `class="flash error" id="flash">Refresh failed: wechat /cgi-bin/token: errcode 45009`, false},
		{"still accepted", func(_ context.Context, stale string) (token.Token, error) {
			return token.Token{Value: wechat.Secret(stale), ExpiresAt: t0.Add(90 * 60e9)}, nil
		}, `class="flash info" id="flash">Nothing fetched: WeChat still accepts the token in service`, false},
		{"WeChat timed out", func(context.Context, string) (token.Token, error) {
			return token.Token{}, fmt.Errorf("token access_token: fetch: wechat /cgi-bin/token: timed out after 10.002s: %w", context.DeadlineExceeded)
		}, `Refresh failed: token access_token: fetch: wechat /cgi-bin/token: timed out after 10.002s`, false},
		{"WeChat refused", func(context.Context, string) (token.Token, error) {
			return token.Token{}, errors.New("token access_token: fetch: wechat /cgi-bin/token: connection refused after 4ms")
		}, `Refresh failed: token access_token: fetch: wechat /cgi-bin/token: connection refused after 4ms`, false},
		{"no answer within the page's deadline", func(ctx context.Context, _ string) (token.Token, error) {
			<-ctx.Done()
			return token.Token{}, ctx.Err()
		}, `Refresh failed: no answer within 30s`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.tokens.RefreshFn = tt.fn
			deadline := func(r *http.Request) {
				if tt.expired {
					ctx, cancel := context.WithDeadline(r.Context(), time.Now())
					t.Cleanup(cancel)
					*r = *r.WithContext(ctx)
				}
			}
			w := e.do("POST", "/admin/refresh", nil, bearer(testKey), deadline)
			if w.Code != http.StatusSeeOther {
				t.Fatalf("POST /admin/refresh = %d; want 303 whatever the outcome", w.Code)
			}
			body := e.do("GET", "/admin", nil, bearer(testKey), withCookie(cookieNamed(w, flashCookie))).Body.String()
			if !strings.Contains(body, tt.flash) {
				t.Errorf("page after %s lacks %q:\n%s", tt.name, tt.flash, body)
			}
		})
	}
}

// TestGETChangesNothing: the state-changing routes answer only POST.
func TestGETChangesNothing(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/admin/refresh", "/admin/logout", "/admin/login"} {
		if w := e.do("GET", p, nil, bearer(testKey)); w.Code != http.StatusMethodNotAllowed {
			t.Errorf("GET %s = %d; want 405", p, w.Code)
		}
	}
	if n := len(e.tokens.calls()); n != 0 {
		t.Errorf("RefreshIfCurrent calls after GETs = %d; want 0", n)
	}
}

// TestNoSecretsInHTML: neither the token, old or new, nor the key appear
// in any page, flash or cookie, however the page is reached.
func TestNoSecretsInHTML(t *testing.T) {
	e := newEnv(t)
	e.tokens.st.LastError = errors.New("fetch token: wechat /cgi-bin/token: errcode -1 (system busy)")
	c, csrf := e.login(t)
	var out strings.Builder
	record := func(w interface {
		Result() *http.Response
	}, body string) {
		out.WriteString(body)
		for _, ck := range w.Result().Cookies() {
			out.WriteString(ck.Value)
		}
	}
	w := e.do("GET", "/admin", nil, withCookie(c))
	record(w, w.Body.String())
	w = e.do("POST", "/admin/refresh", url.Values{"csrf": {csrf}}, withCookie(c))
	record(w, w.Body.String())
	w = e.do("GET", "/admin", nil, withCookie(c), withCookie(cookieNamed(w, flashCookie)))
	record(w, w.Body.String())
	w = e.do("GET", "/admin", nil, bearer(testKey))
	record(w, w.Body.String())
	w = e.do("POST", "/admin/login", url.Values{"key": {testKey + "x"}})
	record(w, w.Body.String())
	all := out.String()
	for _, secret := range []string{tok1, tok2, tok1[:20], tok2[:20], testKey} {
		if strings.Contains(all, secret) {
			t.Errorf("the admin pages contain %q", secret[:8]+"…")
		}
	}
	if !strings.Contains(all, "84_NEW…(") {
		t.Error("the refreshed page does not show the new token masked")
	}
}
