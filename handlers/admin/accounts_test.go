package admin

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// several is an Admin over two accounts with tokens and a WeCom
// application without a callback.
func several(t *testing.T) (*env, *fakeTokens, *fakeTokens) {
	t.Helper()
	var mp, wc *fakeTokens
	e := newEnv(t, func(c *testCfg) {
		oa := c.Account
		oa.Name = "shop"
		mp, wc = newFakeTokens(c.Now), newFakeTokens(c.Now)
		mp.st.FetchesToday, wc.st.FetchesToday = 1700, 4
		mini := &Account{Name: "miniapp", Kind: "mini_program", Tokens: mp, CallbackPath: "/wechat/miniapp", CallbackMode: "plaintext (JSON)"}
		hr := &Account{Name: "hr", Kind: "wecom", Tokens: wc}
		c.Accounts = func() []*Account { return []*Account{oa, mini, hr} }
	})
	return e, mp, wc
}

func TestOverviewListsEveryAccount(t *testing.T) {
	e, _, _ := several(t)
	body := e.do("GET", "/admin", nil, bearer(testKey)).Body.String()
	for _, want := range []string{
		`id="account-shop"`, `id="account-miniapp"`, `id="account-hr"`,
		`<span class="badge info">mini_program</span>`, `<span class="badge info">wecom</span>`,
		`<code>/wechat/miniapp</code>`, `plaintext (JSON)`,
		`1700 / 2000`, // today's fetches against the limit
		`href="/admin?account=miniapp"`,
		`name="account" value="hr"`, // a Refresh now per account
	} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	if strings.Contains(body, `id="menu"`) || strings.Contains(body, `id="token-masked"`) {
		t.Error("the overview shows one account's details (menu, ids); want them on the account's own page")
	}
	if strings.Contains(body, tok1) {
		t.Error("the overview shows a token in full")
	}
}

func TestAccountPage(t *testing.T) {
	e, _, _ := several(t)
	w := e.do("GET", "/admin?account=shop", nil, bearer(testKey))
	body := w.Body.String()
	if w.Code != 200 || !strings.Contains(body, `id="menu"`) || !strings.Contains(body, `id="token-masked"`) ||
		strings.Contains(body, `id="account-miniapp"`) || !strings.Contains(body, "all accounts") {
		t.Errorf("GET /admin?account=shop = %d; want shop alone, with its menu and a way back:\n%s", w.Code, body)
	}
	if w := e.do("GET", "/admin?account=nope", nil, bearer(testKey)); w.Code != http.StatusNotFound {
		t.Errorf("GET /admin?account=nope = %d; want 404", w.Code)
	}
}

// Refresh now refreshes the account its form names, and only that one.
func TestRefreshNamesItsAccount(t *testing.T) {
	e, mp, wc := several(t)
	c, csrf := e.login(t)
	w := e.do("POST", "/admin/refresh", url.Values{"csrf": {csrf}, "account": {"hr"}}, withCookie(c))
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/admin" {
		t.Fatalf("POST /admin/refresh for hr = %d → %q; want 303 to the overview", w.Code, w.Header().Get("Location"))
	}
	if !slices.Equal(wc.calls(), []string{tok1}) || len(mp.calls()) != 0 || len(e.tokens.calls()) != 0 {
		t.Errorf("refreshes: hr %v, miniapp %v, shop %v; want hr's token alone", wc.calls(), mp.calls(), e.tokens.calls())
	}
	page := e.do("GET", "/admin", nil, withCookie(c), withCookie(cookieNamed(w, flashCookie)))
	if !strings.Contains(page.Body.String(), `id="flash">hr: Refreshed: the new token 84_NEW…(`) {
		t.Errorf("the flash does not name the account:\n%s", page.Body)
	}
	// From an account's page, back to it.
	w = e.do("POST", "/admin/refresh", url.Values{"csrf": {csrf}, "account": {"miniapp"}, "detail": {"1"}}, withCookie(c))
	if loc := w.Header().Get("Location"); loc != "/admin?account=miniapp" {
		t.Errorf("refresh from miniapp's page redirects to %q; want back to it", loc)
	}
	// No account named, or an unknown one: nothing refreshed.
	for _, name := range []string{"", "nope"} {
		before := len(e.tokens.calls()) + len(mp.calls()) + len(wc.calls())
		e.do("POST", "/admin/refresh", url.Values{"csrf": {csrf}, "account": {name}}, withCookie(c))
		if after := len(e.tokens.calls()) + len(mp.calls()) + len(wc.calls()); after != before {
			t.Errorf("refresh naming %q refreshed something", name)
		}
	}
}
