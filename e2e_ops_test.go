package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"wxoa/internal/browsertest"
	"wxoa/internal/redistest"
	"wxoa/wechat"
	"wxoa/wechat/wechattest"
)

// scrapeMetrics GETs /metrics and parses it with Prometheus's own parser.
func scrapeMetrics(t *testing.T, s *e2eServer) (string, map[string]*dto.MetricFamily) {
	t.Helper()
	code, body := s.request(t, "GET", "/metrics", "", "")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", code)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return body, fams
}

// value returns the value of the series of family name whose labels
// include want, or -1 when there is none.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f, ok := fams[name]
	if !ok {
		return -1
	}
	for _, m := range f.GetMetric() {
		match := true
		for k, v := range want {
			found := false
			for _, l := range m.GetLabel() {
				found = found || l.GetName() == k && l.GetValue() == v
			}
			match = match && found
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return -1
}

// The server's /metrics counts what an operator alerts on, from the real
// wiring: requests by route, callbacks by type and mode, refusals by
// reason, replies by kind, and the token's state.
func TestE2EMetrics(t *testing.T) {
	fake := wechattest.NewServer(t)
	s := startE2E(t, e2eVars(t, fake), fake)
	user := s.follower(t, "oMetrics")
	for _, m := range []wechattest.Message{wechattest.Text("hello"), wechattest.Text("help"), wechattest.Click("HELP")} {
		if _, err := user.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := user.Retry(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.request(t, "POST", "/wechat?signature=bad&timestamp="+nowUnix()+"&nonce=n", "", "<xml/>")
	if code, _ := s.request(t, "GET", "/api/token", "Bearer "+e2eAPIKey, ""); code != 200 {
		t.Fatalf("GET /api/token = %d", code)
	}
	body, fams := scrapeMetrics(t, s)
	tests := []struct {
		name   string
		labels map[string]string
		want   func(float64) bool
	}{
		{"wxoa_http_requests_total", map[string]string{"route": "callback", "method": "POST", "code": "200"}, func(v float64) bool { return v == 4 }},
		{"wxoa_http_requests_total", map[string]string{"route": "/api/token", "code": "200"}, func(v float64) bool { return v == 1 }},
		{"wxoa_http_request_duration_seconds", map[string]string{"route": "callback"}, func(v float64) bool { return v == 5 }},
		{"wxoa_callbacks_total", map[string]string{"account": "default", "type": "text", "mode": "plain"}, func(v float64) bool { return v == 2 }},
		{"wxoa_callbacks_total", map[string]string{"type": "event:CLICK", "mode": "plain"}, func(v float64) bool { return v == 2 }}, // and its retry
		{"wxoa_callback_rejections_total", map[string]string{"reason": "bad_signature"}, func(v float64) bool { return v == 1 }},
		{"wxoa_replies_total", map[string]string{"kind": "text"}, func(v float64) bool { return v == 3 }},
		{"wxoa_dedup_hits_total", nil, func(v float64) bool { return v == 1 }},
		{"wxoa_token_fetches_total", map[string]string{"account": "default", "token": "access_token", "outcome": "ok"}, func(v float64) bool { return v == 1 }},
		{"wxoa_token_expires_in_seconds", map[string]string{"token": "access_token"}, func(v float64) bool { return v > 7000 }},
		{"wxoa_token_daily_limit", map[string]string{"token": "access_token"}, func(v float64) bool { return v == 2000 }},
		{"wxoa_token_store_up", map[string]string{"token": "access_token"}, func(v float64) bool { return v == 1 }},
		{"wxoa_dedup_memory_budget_bytes", nil, func(v float64) bool { return v == 32<<20 }},
		{"wxoa_dedup_memory_entries", nil, func(v float64) bool { return v > 0 }},
		{"wxoa_dedup_fallbacks_total", nil, func(v float64) bool { return v == 0 }}, // no shared store to fall back from
	}
	for _, tt := range tests {
		if v := value(fams, tt.name, tt.labels); !tt.want(v) {
			t.Errorf("%s%v = %v; unexpected", tt.name, tt.labels, v)
		}
	}
	if strings.Contains(body, "oMetrics") || strings.Contains(body, "hello") {
		t.Error("/metrics carries an openid or message content")
	}
	if promtool, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	} else if os.Getenv("CI") == "true" {
		t.Error("promtool missing: install prometheus (.ci/run does)")
	}
}

// With the shared reply store down, callbacks are still answered, claimed
// by this instance alone, and /metrics says so.
func TestE2EMetricsDedupFallback(t *testing.T) {
	fake := wechattest.NewServer(t)
	rs := redistest.Start(t)
	vars := e2eVars(t, fake)
	vars["DEDUP_STORE"] = rs.URL()
	s := startE2E(t, vars, fake)
	user := s.follower(t, "oFallback")
	for i, m := range []wechattest.Message{wechattest.Text("help"), wechattest.Text("help")} {
		if i == 1 {
			rs.Stop()
		}
		r, err := user.Send(context.Background(), m)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if _, ok := r.Reply.(*wechat.TextReply); !ok {
			t.Fatalf("message %d answered %T (HTTP %d); want the text rule's reply", i, r.Reply, r.Status)
		}
		_, fams := scrapeMetrics(t, s)
		got := value(fams, "wxoa_dedup_fallbacks_total", nil)
		if (i == 0) != (got == 0) {
			t.Errorf("after message %d (Redis up: %v): wxoa_dedup_fallbacks_total = %v", i, i == 0, got)
		}
	}
}

func nowUnix() string { return strconv.FormatInt(time.Now().Unix(), 10) }

// The admin page against the real server, in headless Chromium: sign in
// with TOKEN_API_KEY, read the token's state, have WeChat retire the token
// (another system fetched one), press "Refresh now", and see the new
// token's expiry; the screenshot is kept as an artifact.
func TestE2EAdminInBrowser(t *testing.T) {
	b := browsertest.Start(t, 60*time.Second)
	fake := wechattest.NewServer(t)
	s := startE2E(t, e2eVars(t, fake), fake)
	if code, _ := s.request(t, "GET", "/api/token", "Bearer "+e2eAPIKey, ""); code != 200 {
		t.Fatalf("GET /api/token = %d", code)
	}
	user := s.follower(t, "oAdminPage")
	if _, err := user.Send(context.Background(), wechattest.Text("hello")); err != nil {
		t.Fatal(err)
	}
	exampleMenu, err := os.ReadFile("templates/menu.json")
	if err != nil {
		t.Fatal(err)
	}
	fake.SetMenu(exampleMenu) // as `wxoa menu push templates/menu.json` leaves it

	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(b, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return strings.TrimSpace(v)
	}

	do("open the sign-in form", chromedp.Navigate(s.Base+"/admin"), chromedp.WaitVisible(chromedp.CSS("form#login")))
	do("sign in", chromedp.SendKeys(chromedp.CSS("#key"), e2eAPIKey), chromedp.Click(chromedp.CSS("#signin")),
		chromedp.WaitVisible(chromedp.CSS("#token-state")))
	old := fake.Current()
	before, masked := text("#token-expires"), text("#token-masked")
	if state := text("#token-state"); state != "valid" || !strings.HasPrefix(masked, old[:6]) || strings.Contains(masked, old) {
		t.Errorf("token state %q, masked %q; want valid and the first characters only", state, masked)
	}
	fake.FetchElsewhere()               // WeChat stops accepting the token: the refresh must fetch
	time.Sleep(1100 * time.Millisecond) // the expiry shown has a resolution of a second
	do("refresh now", chromedp.Click(chromedp.CSS("#refresh")), chromedp.WaitVisible(chromedp.CSS("#flash")))
	after, maskedAfter, current := text("#token-expires"), text("#token-masked"), fake.Current()
	if current == old || after == before || maskedAfter == masked || !strings.HasPrefix(maskedAfter, current[:6]) || !strings.HasPrefix(text("#flash"), "Refreshed") {
		t.Errorf("after Refresh now: token %q (was %q), expires %q (was %q), flash %q; want the new token and its expiry", maskedAfter, masked, after, before, text("#flash"))
	}
	if got := fake.TokenCalls(); got != 2 {
		t.Errorf("token fetches = %d; want 2 (the first, the refresh)", got)
	}
	page, err := chromedp.Run(b, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil || strings.Contains(page, fake.Current()) || strings.Contains(page, e2eAPIKey) || strings.Contains(page, "oAdminPage") {
		t.Errorf("the page (%v) holds a token, the key or an openid", err)
	}
	// Columns: time, account, type, event, status, latency.
	if acct, typ := text("#traffic tbody tr:first-child td:nth-child(2)"), text("#traffic tbody tr:first-child td:nth-child(3)"); acct != "default" || typ != "text" {
		t.Errorf("recent traffic's newest row: account %q, type %q; want the default account's text callback", acct, typ)
	}
	if menu := text("#menu"); !strings.Contains(menu, "published") || !strings.Contains(menu, "工具") || !strings.Contains(menu, "扫一扫") {
		t.Errorf("menu section %q; want the example menu's buttons and sub-buttons", menu)
	}
	browsertest.Screenshot(t, b, "admin-e2e.png")
}

// The callbacks the server answers reach its admin page's traffic table
// (the browser test checks the same where Chromium is installed).
func TestE2EAdminShowsTraffic(t *testing.T) {
	fake := wechattest.NewServer(t)
	s := startE2E(t, e2eVars(t, fake), fake)
	if _, err := s.follower(t, "oTraffic").Send(context.Background(), wechattest.Text("hello")); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", s.Base+"/admin", nil)
	req.AddCookie(adminSession(t, s.Base, s.Client))
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /admin = %d, %v", resp.StatusCode, err)
	}
	_, table, _ := strings.Cut(string(page), `id="traffic"`)
	if !strings.Contains(table, "1 shown of 1") || !strings.Contains(table, "<td>default</td><td>text</td>") || strings.Contains(table, "oTraffic") {
		t.Errorf("traffic section after one text callback:\n%s\nwant one row: the default account's text, no openid", table)
	}
}
