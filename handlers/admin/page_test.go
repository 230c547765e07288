package admin

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"wxoa/wechat"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestGolden renders the page with fixed data: a token in service, a past
// failure, a failing store, the shipped menu and some traffic.
func TestGolden(t *testing.T) {
	e := newEnv(t, func(c *testCfg) {
		c.Tokens.(*fakeTokens).st.StoreErr = errors.New("token store redis: dial tcp: connection refused")
	})
	e.tokens.st.LastError = errors.New("fetch token: wechat /cgi-bin/token: errcode -1 (system busy)")
	e.tokens.st.LastErrorAt = t0.Add(-40 * time.Minute)
	for i, x := range []Entry{
		{Type: "text", Status: 200, Latency: 1200 * time.Microsecond},
		{Type: "event", Event: "subscribe", Status: 200, Latency: 800 * time.Microsecond},
		{Type: "event", Event: "CLICK", Status: 200, Latency: 4600 * time.Millisecond},
		{Type: "", Status: 403, Latency: 90 * time.Microsecond},
		{Type: "<script>", Status: 400, Latency: time.Millisecond},
	} {
		x.Time = t0.Add(-time.Duration(5-i) * 7 * time.Second)
		e.traffic.Record(x)
	}
	c, _ := e.login(t)
	w := e.do("GET", "/admin", nil, withCookie(c))
	if w.Code != http.StatusOK {
		t.Fatalf("GET /admin = %d; want 200", w.Code)
	}
	got := csrfField.ReplaceAll(w.Body.Bytes(), []byte(`name="csrf" value="CSRF"`))
	path := filepath.Join("testdata", "admin.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("GET /admin differs from %s (run with -update after checking the change):\n%s", path, got)
	}
}

func TestMenuStates(t *testing.T) {
	tests := []struct {
		name string
		src  MenuSource
		want []string
	}{
		{"shipped menu", nil, []string{`<span class="badge ok">published</span>`,
			`<li><span class="btn-name">工具</span><ul><li><span class="btn-name">扫一扫</span> <span class="badge info">scancode_push</span> <code>SCAN_QR</code></li>`,
			`<code>https://www.example.com/</code>`}},
		{"no menu", MenuFunc(func(context.Context) (json.RawMessage, error) {
			return nil, &wechat.APIError{Code: 46003, Endpoint: "/cgi-bin/menu/get"}
		}), []string{`<span class="badge warn">no menu</span>`, "The account has no menu."}},
		{"empty menu", MenuFunc(func(context.Context) (json.RawMessage, error) {
			return json.RawMessage(`{"menu":{"button":[]}}`), nil
		}), []string{"The account has no menu."}},
		{"failure", MenuFunc(func(context.Context) (json.RawMessage, error) {
			return nil, errors.New("fetch menu: wechat /cgi-bin/menu/get: errcode 48001")
		}), []string{`<span class="badge bad">not loaded</span>`, "errcode 48001"}},
		{"garbage", MenuFunc(func(context.Context) (json.RawMessage, error) {
			return json.RawMessage(`{"menu":[1]}`), nil
		}), []string{"menu/get answer not understood"}},
		{"personalised", MenuFunc(func(context.Context) (json.RawMessage, error) {
			return json.RawMessage(`{"menu":{"button":[{"type":"miniprogram","name":"App","appid":"wx123","pagepath":"pages/i","url":"https://x.example/"}]},"conditionalmenu":[{},{}]}`), nil
		}), []string{"mini program wx123 pages/i (fallback https://x.example/)", "Plus 2 personalised menu(s)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *testCfg) {
				if tt.src != nil {
					c.Menu = tt.src
				}
			})
			body := e.do("GET", "/admin", nil, bearer(testKey)).Body.String()
			for _, s := range tt.want {
				if !strings.Contains(body, s) {
					t.Errorf("menu section lacks %q:\n%s", s, body)
				}
			}
		})
	}
	e := newEnv(t, func(c *testCfg) { c.Menu = nil })
	if body := e.do("GET", "/admin", nil, bearer(testKey)).Body.String(); !strings.Contains(body, "Not available") {
		t.Errorf("without a MenuSource the page does not say so:\n%s", body)
	}
}

// TestMenuCached: page loads within a minute share one menu/get call.
func TestMenuCached(t *testing.T) {
	var calls atomic.Int32
	inner := shippedMenu(t)
	e := newEnv(t, func(c *testCfg) {
		c.Menu = MenuFunc(func(ctx context.Context) (json.RawMessage, error) {
			calls.Add(1)
			return inner(ctx)
		})
	})
	for range 5 {
		e.do("GET", "/admin", nil, bearer(testKey))
	}
	e.clock.Advance(menuTTL - time.Second)
	e.do("GET", "/admin", nil, bearer(testKey))
	if n := calls.Load(); n != 1 {
		t.Errorf("menu calls for 6 page loads within a minute = %d; want 1", n)
	}
	e.clock.Advance(time.Second)
	e.do("GET", "/admin", nil, bearer(testKey))
	if n := calls.Load(); n != 2 {
		t.Errorf("menu calls after a minute = %d; want 2", n)
	}
}

func TestTokenStates(t *testing.T) {
	tests := []struct {
		name    string
		advance time.Duration
		noToken bool
		want    string
	}{
		{"valid", 0, false, `id="token-state">valid<`},
		{"in the margin", 86 * time.Minute, false, `id="token-state">refresh due<`},
		{"expired", 91 * time.Minute, false, `id="token-state">expired<`},
		{"none", 0, true, `id="token-state">no token<`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.clock.Advance(tt.advance)
			e.tokens.st.HasToken = !tt.noToken
			if body := e.do("GET", "/admin", nil, bearer(testKey)).Body.String(); !strings.Contains(body, tt.want) {
				t.Errorf("page lacks %q:\n%s", tt.want, body)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	tests := []struct{ got, want string }{
		{mask(tok1), "84_OLD…(154 chars)"},
		{mask("short-token"), "…(11 chars)"},
		{relative(t0, t0.Add(112*time.Minute)), "in 1h 52m"},
		{relative(t0, t0.Add(-185*time.Second)), "3m 05s ago"},
		{relative(t0, t0.Add(300*time.Millisecond)), "now"},
		{relative(t0, t0.Add(50*time.Hour)), "in 2d 2h"},
		{latency(48 * time.Microsecond), "48 µs"},
		{latency(1500 * time.Microsecond), "1.5 ms"},
		{latency(4600 * time.Millisecond), "4.60 s"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q; want %q", tt.got, tt.want)
		}
	}
	for _, tt := range []struct {
		n, limit   int64
		text, kind string
	}{{3, 2000, "3 / 2000", "ok"}, {1600, 2000, "1600 / 2000", "warn"}, {2000, 2000, "2000 / 2000", "bad"}, {5, 0, "5", "ok"}} {
		if text, kind := fetches(tt.n, tt.limit); text != tt.text || kind != tt.kind {
			t.Errorf("fetches(%d, %d) = %q, %q; want %q, %q", tt.n, tt.limit, text, kind, tt.text, tt.kind)
		}
	}
}
