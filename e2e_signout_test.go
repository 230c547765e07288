package main

import (
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"wxoa/handlers/admin"
	"wxoa/internal/redistest"
	"wxoa/wechat/wechattest"
)

// A sign-out holds on the other instance and after a restart, with the
// fleet sharing a token directory or a Redis.
func TestSignOutAcrossProcesses(t *testing.T) {
	for _, tt := range []struct {
		name  string
		store func(t *testing.T) string
	}{
		{"file", func(t *testing.T) string { return "file:" + filepath.Join(t.TempDir(), "data", "access_token.json") }},
		{"redis", func(t *testing.T) string { return redistest.Start(t).URL() }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := wechattest.NewServer(t)
			a, b := fleet(t, fake, tt.store(t), nil)
			cookie, csrf := adminLogin(t, a)
			if code := adminPage(t, b, cookie); code != 200 {
				t.Fatalf("B with A's session = %d; want 200", code)
			}
			if code := adminPost(t, a, "/admin/logout", cookie, csrf); code != http.StatusSeeOther {
				t.Fatalf("A sign-out = %d; want 303", code)
			}
			if code := adminPage(t, b, cookie); code != 401 {
				t.Errorf("B with the cookie A signed out = %d; want 401", code)
			}
			a.stop(t)
			a2 := startProc(t, "A2", a.vars)
			if code := adminPage(t, a2, cookie); code != 401 {
				t.Errorf("A after a restart with the signed-out cookie = %d; want 401", code)
			}
			// Sign out everywhere on B ends a session started on A2.
			c2, _ := adminLogin(t, a2)
			cb, csrfB := adminLogin(t, b)
			if code := adminPage(t, a2, c2); code != 200 {
				t.Fatalf("A2's own session = %d; want 200", code)
			}
			if code := adminPost(t, b, "/admin/logout-all", cb, csrfB); code != http.StatusSeeOther {
				t.Fatalf("B sign out everywhere = %d; want 303", code)
			}
			if code := adminPage(t, a2, c2); code != 401 {
				t.Errorf("A2's session after B signed out everywhere = %d; want 401", code)
			}
		})
	}
}

func noRedirect(c *http.Client) *http.Client {
	cc := *c
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cc
}

// adminLogin signs in on p with the API key and returns the session cookie
// and the page's CSRF token.
func adminLogin(t *testing.T, p *proc) (*http.Cookie, string) {
	t.Helper()
	c := adminSession(t, p.base, p.client)
	return c, csrfOfPage(t, p, c)
}

// adminSession signs in at base with the API key and returns the session
// cookie.
func adminSession(t *testing.T, base string, client *http.Client) *http.Cookie {
	t.Helper()
	resp, err := noRedirect(client).PostForm(base+"/admin/login", url.Values{"key": {e2eAPIKey}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == admin.SessionCookie {
			return c
		}
	}
	t.Fatalf("%s: POST /admin/login = %d without a session cookie", base, resp.StatusCode)
	return nil
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

func csrfOfPage(t *testing.T, p *proc, c *http.Cookie) string {
	t.Helper()
	code, body, err := p.doHeader("GET", "/admin", "", "", http.Header{"Cookie": {c.Name + "=" + c.Value}})
	m := csrfField.FindStringSubmatch(body)
	if err != nil || code != 200 || m == nil {
		t.Fatalf("%s: GET /admin = %d, %v; want the page with its CSRF token", p.name, code, err)
	}
	return m[1]
}

func adminPage(t *testing.T, p *proc, c *http.Cookie) int {
	t.Helper()
	code, _, err := p.doHeader("GET", "/admin", "", "", http.Header{"Cookie": {c.Name + "=" + c.Value}})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func adminPost(t *testing.T, p *proc, path string, c *http.Cookie, csrf string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", p.base+path, strings.NewReader(url.Values{"csrf": {csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(c)
	resp, err := noRedirect(p.client).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
