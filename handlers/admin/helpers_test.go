package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"wxoa/internal/revoke"
	"wxoa/templates"
	"wxoa/wechat"
	"wxoa/wechat/token"
	"wxoa/wechat/wechattest"
)

const (
	testKey = "adm1n-k3y-for-tests-0123456789"
	// tok1 and tok2 look like real access_tokens: long enough to be masked
	// with their first characters shown.
	tok1 = "84_OLDtokenAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	tok2 = "84_NEWtokenBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
)

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// fakeTokens is a token manager holding one token. RefreshFn, if set,
// answers RefreshIfCurrent; the default replaces a current stale token
// with tok2, expiring two hours later than now.
type fakeTokens struct {
	mu        sync.Mutex
	st        token.Stats
	now       func() time.Time
	stales    []string // every RefreshIfCurrent argument
	RefreshFn func(ctx context.Context, stale string) (token.Token, error)
}

func newFakeTokens(now func() time.Time) *fakeTokens {
	n := now()
	return &fakeTokens{now: now, st: token.Stats{
		Name: "access_token", HasToken: true,
		Token:        token.Token{Value: tok1, ExpiresAt: n.Add(90 * time.Minute), FetchedAt: n.Add(-30 * time.Minute), By: "host-a-4242"},
		NextRefresh:  n.Add(85 * time.Minute),
		Day:          n.Format("2006-01-02"),
		FetchesToday: 3, DailyLimit: 2000,
	}}
}

func (f *fakeTokens) Name() string { return "access_token" }

func (f *fakeTokens) Stats() token.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}

func (f *fakeTokens) RefreshIfCurrent(ctx context.Context, stale string) (token.Token, error) {
	f.mu.Lock()
	f.stales = append(f.stales, stale)
	fn := f.RefreshFn
	f.mu.Unlock()
	if fn != nil {
		return fn(ctx, stale)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.st.Token.Value.Reveal() == stale {
		n := f.now()
		f.st.Token = token.Token{Value: tok2, ExpiresAt: n.Add(2 * time.Hour), FetchedAt: n, By: "host-b-7"}
		f.st.NextRefresh = n.Add(2*time.Hour - 5*time.Minute)
		f.st.FetchesToday++
	}
	return f.st.Token, nil
}

func (f *fakeTokens) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.stales...)
}

// env is an Admin over fakes, with a settable clock.
type env struct {
	a       *Admin
	tokens  *fakeTokens
	clock   *wechattest.Clock
	traffic *Traffic
	failed  []string // AuthFailed reasons
	mu      sync.Mutex
}

// shippedMenu answers the shipped example menu as menu/get would.
func shippedMenu(t testing.TB) MenuFunc {
	b, err := templates.FS.ReadFile("menu.json")
	if err != nil {
		t.Fatal(err)
	}
	raw := json.RawMessage(`{"menu":` + string(b) + `}`)
	return func(context.Context) (json.RawMessage, error) { return raw, nil }
}

// testCfg is what a test may adjust before the Admin is built: its
// Config and its one account.
type testCfg struct {
	*Config
	*Account
}

// sharedRevocations makes the instances it is given to share sign-outs
// through one file, as instances sharing a token directory do.
func sharedRevocations(t testing.TB) func(*testCfg) {
	f, err := revoke.NewFile(filepath.Join(t.TempDir(), "admin_sessions.json"), wechattest.NewClock(t0).Now)
	if err != nil {
		t.Fatal(err)
	}
	return func(c *testCfg) { c.Revocations = f }
}

func newEnv(t testing.TB, edit ...func(*testCfg)) *env {
	t.Helper()
	e := &env{clock: wechattest.NewClock(t0), traffic: new(Traffic)}
	e.tokens = newFakeTokens(e.clock.Now)
	acct := &Account{Name: "default", Kind: "official_account", Tokens: e.tokens,
		CallbackMode: "compatible/safe", CallbackPath: "/wechat", Menu: shippedMenu(t)}
	cfg := Config{
		Key: wechat.Secret(testKey), Store: "redis (one node)",
		Accounts: func() []*Account { return []*Account{acct} },
		Traffic:  e.traffic, Now: e.clock.Now,
		AuthFailed: func(_ *http.Request, reason string) {
			e.mu.Lock()
			e.failed = append(e.failed, reason)
			e.mu.Unlock()
		},
	}
	for _, f := range edit {
		f(&testCfg{&cfg, acct})
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	e.a = a
	return e
}

func (e *env) authFailures() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.failed)
}

// do serves one request; setup may add headers and cookies.
func (e *env) do(method, path string, form url.Values, setup ...func(*http.Request)) *httptest.ResponseRecorder {
	var r *http.Request
	if form != nil {
		r = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	for _, f := range setup {
		f(r)
	}
	w := httptest.NewRecorder()
	e.a.ServeHTTP(w, r)
	return w
}

func bearer(key string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+key) }
}

func withCookie(c *http.Cookie) func(*http.Request) {
	return func(r *http.Request) { r.AddCookie(c) }
}

func header(k, v string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set(k, v) }
}

// cookieNamed returns the cookie name set by w, or nil.
func cookieNamed(w *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// login signs in through the form and returns the session cookie and the
// page's CSRF token.
func (e *env) login(t testing.TB) (*http.Cookie, string) {
	t.Helper()
	w := e.do("POST", "/admin/login", url.Values{"key": {testKey}})
	c := cookieNamed(w, SessionCookie)
	if w.Code != http.StatusSeeOther || c == nil {
		t.Fatalf("POST /admin/login = %d, cookie %v; want 303 and a session cookie", w.Code, c)
	}
	page := e.do("GET", "/admin", nil, withCookie(c))
	if page.Code != http.StatusOK {
		t.Fatalf("GET /admin with the session = %d; want 200", page.Code)
	}
	return c, csrfOf(t, page.Body.String())
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

func csrfOf(t testing.TB, html string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(html)
	if m == nil || m[1] == "" {
		t.Fatalf("no CSRF token in the page:\n%s", html)
	}
	return m[1]
}
