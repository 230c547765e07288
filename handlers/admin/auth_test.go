package admin

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	_ "wxoa/internal/soak" // accepts -soak (see package soak)
	"wxoa/wechat"
)

// TestUnauthenticated: without credentials a browser gets the login form
// and a script gets 401, with the headers every answer carries.
func TestUnauthenticated(t *testing.T) {
	e := newEnv(t)
	w := e.do("GET", "/admin", nil)
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("GET /admin = %d; want 401", w.Code)
	}
	want := map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"WWW-Authenticate":        `Bearer realm="wxoa"`,
		"Cache-Control":           "no-store",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "same-origin",
		"Content-Security-Policy": csp,
	}
	for k, v := range want {
		if got := w.Header().Get(k); got != v {
			t.Errorf("GET /admin header %s = %q; want %q", k, got, v)
		}
	}
	body := w.Body.String()
	for _, s := range []string{`<form class="login" id="login" method="post" action="/admin/login">`, `name="key"`} {
		if !strings.Contains(body, s) {
			t.Errorf("GET /admin body lacks %q", s)
		}
	}
	if strings.Contains(body, "84_") || strings.Contains(body, "host-a") {
		t.Errorf("the login page shows token state:\n%s", body)
	}
	if n := e.authFailures(); n != 0 {
		t.Errorf("AuthFailed calls = %d; want 0 (no credentials is not a failure)", n)
	}
}

func TestBearer(t *testing.T) {
	tests := []struct {
		name, auth string
		want       int
		failure    bool
	}{
		{"right key", "Bearer " + testKey, 200, false},
		{"lower-case scheme", "bearer " + testKey, 200, false},
		{"wrong key", "Bearer nope", 401, true},
		{"key prefix", "Bearer " + testKey[:10], 401, true},
		{"basic scheme", "Basic " + testKey, 401, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			w := e.do("GET", "/admin", nil, header("Authorization", tt.auth))
			if w.Code != tt.want {
				t.Fatalf("GET /admin with %q = %d; want %d", tt.auth, w.Code, tt.want)
			}
			if got := e.authFailures() == 1; got != tt.failure {
				t.Errorf("AuthFailed called: %v; want %v", got, tt.failure)
			}
			if tt.want == 200 && !strings.Contains(w.Body.String(), `id="token-masked">84_OLD…(`) {
				t.Errorf("the page lacks the masked token:\n%s", w.Body)
			}
		})
	}
}

func TestLoginForm(t *testing.T) {
	for _, secure := range []bool{false, true} {
		e := newEnv(t, func(c *testCfg) { c.Secure = secure })
		w := e.do("POST", "/admin/login", url.Values{"key": {testKey}})
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/admin" {
			t.Fatalf("POST /admin/login = %d to %q; want 303 to /admin", w.Code, w.Header().Get("Location"))
		}
		c := cookieNamed(w, SessionCookie)
		if c == nil {
			t.Fatal("POST /admin/login set no session cookie")
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/admin" || c.Secure != secure {
			t.Errorf("cookie = HttpOnly %v SameSite %v Path %q Secure %v; want true Strict /admin %v", c.HttpOnly, c.SameSite, c.Path, c.Secure, secure)
		}
		if c.MaxAge != int(SessionTTL/time.Second) || !c.Expires.Equal(t0.Add(SessionTTL)) {
			t.Errorf("cookie MaxAge %d, Expires %v; want %v", c.MaxAge, c.Expires, SessionTTL)
		}
		if strings.Contains(c.Value, testKey) {
			t.Error("the cookie carries the key")
		}
		if got := e.do("GET", "/admin", nil, withCookie(c)).Code; got != 200 {
			t.Errorf("GET /admin with the cookie = %d; want 200", got)
		}
	}
}

// Instances sharing TOKEN_API_KEY and the token store (a fleet behind a
// load balancer, or one instance after a restart) accept each other's
// sessions; an instance with another key does not.
func TestSessionAcrossInstances(t *testing.T) {
	shared := sharedRevocations(t)
	a, b := newEnv(t, shared), newEnv(t, shared)
	other := newEnv(t, shared, func(c *testCfg) { c.Key = wechat.Secret(testKey + "-rotated") })
	c := cookieNamed(a.do("POST", "/admin/login", url.Values{"key": {testKey}}), SessionCookie)
	if c == nil {
		t.Fatal("POST /admin/login set no session cookie")
	}
	if got := b.do("GET", "/admin", nil, withCookie(c)).Code; got != http.StatusOK {
		t.Errorf("GET /admin on another instance with the same key = %d; want 200", got)
	}
	if got := other.do("GET", "/admin", nil, withCookie(c)).Code; got != http.StatusUnauthorized {
		t.Errorf("GET /admin on an instance with another key = %d; want 401", got)
	}
}

func TestLoginWrongKey(t *testing.T) {
	e := newEnv(t)
	const guess = "guess-<b>-1234"
	w := e.do("POST", "/admin/login", url.Values{"key": {guess}})
	body := w.Body.String()
	if w.Code != http.StatusUnauthorized || !strings.Contains(body, "Wrong key.") || !strings.Contains(body, `id="login"`) {
		t.Fatalf("POST /admin/login with a wrong key = %d:\n%s\nwant 401 with the form and an error", w.Code, body)
	}
	if strings.Contains(body, "guess") || cookieNamed(w, SessionCookie) != nil {
		t.Error("a wrong key is echoed or gets a session")
	}
	if e.authFailures() != 1 {
		t.Errorf("AuthFailed calls = %d; want 1", e.authFailures())
	}
	if w := e.do("POST", "/admin/login", url.Values{"key": {""}}); w.Code != 401 || !strings.Contains(w.Body.String(), "Enter the key.") {
		t.Errorf("POST /admin/login with no key = %d; want 401 asking for it", w.Code)
	}
}

func TestBadCookies(t *testing.T) {
	e := newEnv(t)
	good, _ := e.login(t)
	enc, sig, _ := strings.Cut(good.Value, ".")
	flip := func(s string) string { // change one character
		b := []byte(s)
		b[3] ^= 1
		return string(b)
	}
	// An instance whose sessions are signed with another key.
	other := newEnv(t, func(c *testCfg) { c.SessionKey = bytes.Repeat([]byte{7}, 32) })
	theirs, _ := other.login(t)
	tests := []struct{ name, value string }{
		{"payload changed", flip(enc) + "." + sig},
		{"signature changed", enc + "." + flip(sig)},
		{"no signature", enc},
		{"garbage", "x.y"},
		{"the key itself", testKey},
		{"a session signed with another key", theirs.Value},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.authFailures()
			w := e.do("GET", "/admin", nil, withCookie(&http.Cookie{Name: SessionCookie, Value: tt.value}))
			if w.Code != 401 || e.authFailures() != before+1 {
				t.Errorf("GET /admin with a forged cookie = %d, %d failures counted; want 401 and one", w.Code, e.authFailures()-before)
			}
			if c := cookieNamed(w, SessionCookie); c == nil || c.MaxAge >= 0 {
				t.Errorf("the forged cookie is not cleared: %v", c)
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		e.clock.Advance(SessionTTL)
		w := e.do("GET", "/admin", nil, withCookie(good))
		if w.Code != 401 || !strings.Contains(w.Body.String(), "Your session has ended") {
			t.Errorf("GET /admin with an expired session = %d; want 401 saying it ended", w.Code)
		}
	})
}

func TestLogout(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.login(t)
	if w := e.do("POST", "/admin/logout", url.Values{}, withCookie(c)); w.Code != http.StatusForbidden {
		t.Errorf("POST /admin/logout without the CSRF token = %d; want 403", w.Code)
	}
	w := e.do("POST", "/admin/logout", url.Values{"csrf": {csrf}}, withCookie(c))
	if cl := cookieNamed(w, SessionCookie); w.Code != http.StatusSeeOther || cl == nil || cl.MaxAge >= 0 {
		t.Fatalf("POST /admin/logout = %d, cookie %v; want 303 clearing the cookie", w.Code, cl)
	}
	// A copy of the cookie kept from before no longer works either.
	if got := e.do("GET", "/admin", nil, withCookie(c)).Code; got != 401 {
		t.Errorf("GET /admin with the logged-out cookie = %d; want 401", got)
	}
	flash := cookieNamed(w, flashCookie)
	if body := e.do("GET", "/admin", nil, withCookie(flash)).Body.String(); !strings.Contains(body, "Signed out.") {
		t.Errorf("the login page after logout does not say so:\n%s", body)
	}
}

func TestNewChecksConfig(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"no key", func(c *Config) { c.Key = "" }},
		{"no accounts", func(c *Config) { c.Accounts = nil }},
		{"short session key", func(c *Config) { c.SessionKey = []byte("short") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acct := &Account{Name: "oa", Tokens: newFakeTokens(time.Now)}
			cfg := Config{Key: testKey, Accounts: func() []*Account { return []*Account{acct} }}
			tt.edit(&cfg)
			if _, err := New(cfg); err == nil {
				t.Errorf("New(%s) = nil error; want one", tt.name)
			}
		})
	}
}
