package admin

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"wxoa/internal/browsertest"
)

// TestBrowser drives the page as an operator would, in headless Chromium:
// sign in with the key, read the token's state, press "Refresh now", see
// the new expiry and the flash, and keep a screenshot of the result. Locally
// a missing Chromium skips the test; in CI it fails it.
func TestBrowser(t *testing.T) {
	bctx := browsertest.Start(t, 45*time.Second)
	// The page runs on the wall clock here: the browser checks the cookie's
	// expiry against it.
	now := time.Now().UTC().Truncate(time.Second)
	tokens := newFakeTokens(func() time.Time { return now })
	e := newEnv(t, func(c *testCfg) { c.Now, c.Tokens = time.Now, tokens })
	e.tokens = tokens
	for i, x := range []Entry{
		{Type: "event", Event: "subscribe", Status: 200, Latency: 900 * time.Microsecond},
		{Type: "text", Status: 200, Latency: 1300 * time.Microsecond},
		{Type: "event", Event: "CLICK", Status: 200, Latency: 2100 * time.Microsecond},
		{Status: 403, Latency: 60 * time.Microsecond},
		{Type: "text", Status: 200, Latency: 4500 * time.Millisecond},
	} {
		x.Time = now.Add(-time.Duration(5-i) * 9 * time.Second)
		e.traffic.Record(x)
	}
	srv := httptest.NewServer(e.a) // 127.0.0.1
	t.Cleanup(srv.Close)

	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}

	resp, err := chromedp.RunResponse(bctx, chromedp.Navigate(srv.URL+"/admin"))
	if err != nil {
		t.Fatalf("open /admin: %v", err)
	}
	if resp.Status != 401 {
		t.Errorf("GET /admin without a session = %d in the browser; want 401 with the form", resp.Status)
	}
	step("see the login form", chromedp.WaitVisible(chromedp.CSS("form#login")))
	step("sign in",
		chromedp.SendKeys(chromedp.CSS("#key"), testKey),
		chromedp.Click(chromedp.CSS("#signin")),
		chromedp.WaitVisible(chromedp.CSS("#token-state")),
	)
	masked, before := text("#token-masked"), text("#token-expires")
	if state := text("#token-state"); state != "valid" || !strings.HasPrefix(masked, "84_OLD…(") || before != fmtTime(now.Add(90*time.Minute)) {
		t.Errorf("token state = %q, %q, expires %q; want valid, 84_OLD…, %s", state, masked, before, fmtTime(now.Add(90*time.Minute)))
	}

	step("refresh now",
		chromedp.Click(chromedp.CSS("#refresh")),
		chromedp.WaitVisible(chromedp.CSS("#flash")),
	)
	after, flash := text("#token-expires"), text("#flash")
	if want := fmtTime(now.Add(2 * time.Hour)); after != want || after == before {
		t.Errorf("expiry after Refresh now = %q; want %q", after, want)
	}
	if !strings.HasPrefix(flash, "Refreshed: the new token 84_NEW…(") || !strings.HasPrefix(text("#token-masked"), "84_NEW…(") {
		t.Errorf("flash %q, token %q after Refresh now; want the new token, masked", flash, text("#token-masked"))
	}
	if calls := e.tokens.calls(); len(calls) != 1 || calls[0] != tok1 {
		t.Errorf("RefreshIfCurrent calls = %d; want 1 with the old token", len(calls))
	}
	html, err := chromedp.Run(bctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil || strings.Contains(html, tok2) || strings.Contains(html, testKey) {
		t.Errorf("the page in the browser (%v) holds the token or the key", err)
	}

	browsertest.Screenshot(t, bctx, "admin-after-refresh.png")

	step("sign out",
		chromedp.Click(chromedp.CSS("#logout")),
		chromedp.WaitVisible(chromedp.CSS("form#login")),
	)
	if got := text("#flash"); got != "Signed out." {
		t.Errorf("after Sign out the login page says %q; want Signed out.", got)
	}
}
