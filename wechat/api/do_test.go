package api_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"wxoa/wechat"
	"wxoa/wechat/api"
	"wxoa/wechat/wechattest"
)

func accessToken(t *testing.T, c *api.Client) string {
	t.Helper()
	tok, err := c.FetchAccessToken(t.Context(), false)
	if err != nil {
		t.Fatalf("FetchAccessToken() = %v", err)
	}
	return tok.Value.Reveal()
}

func TestDoMenuRoundTrip(t *testing.T) {
	s := wechattest.NewServer(t)
	c := newClient(t, s, api.ModeClassic)
	at := accessToken(t, c)
	ctx := t.Context()

	err := c.DoWith(ctx, http.MethodGet, "/cgi-bin/menu/get", at, nil, nil)
	var ae *wechat.APIError
	if !errors.As(err, &ae) || ae.Code != 46003 || ae.Endpoint != "/cgi-bin/menu/get" {
		t.Fatalf("Do(menu/get) before create = %v; want errcode 46003 on /cgi-bin/menu/get", err)
	}
	menu := map[string]any{"button": []map[string]any{{"type": "click", "name": "今日 & 明日", "key": "V1001"}}}
	if err := c.DoWith(ctx, http.MethodPost, "/cgi-bin/menu/create", at, menu, nil); err != nil {
		t.Fatalf("Do(menu/create) = %v", err)
	}
	if got := string(s.Menu()); !strings.Contains(got, `"今日 & 明日"`) {
		t.Errorf("stored menu = %s; want the name sent unescaped", got)
	}
	var out struct {
		Menu struct {
			Button []struct{ Name, Key string } `json:"button"`
		} `json:"menu"`
	}
	if err := c.DoWith(ctx, http.MethodGet, "/cgi-bin/menu/get", at, nil, &out); err != nil {
		t.Fatalf("Do(menu/get) = %v", err)
	}
	if len(out.Menu.Button) != 1 || out.Menu.Button[0].Key != "V1001" {
		t.Errorf("Do(menu/get) = %+v; want the created menu", out)
	}
	if err := c.DoWith(ctx, http.MethodGet, "/cgi-bin/menu/delete", at, nil, nil); err != nil {
		t.Fatalf("Do(menu/delete) = %v", err)
	}
	if s.Menu() != nil {
		t.Errorf("Menu() after delete = %s; want nil", s.Menu())
	}
}

func TestDoCustomSend(t *testing.T) {
	s := wechattest.NewServer(t)
	c := newClient(t, s, api.ModeStable)
	at := accessToken(t, c)
	s.RejectCustomFor("oQuiet", 45015)
	msg := func(to string) any {
		return map[string]any{"touser": to, "msgtype": "text", "text": map[string]string{"content": "hi"}}
	}
	if err := c.DoWith(t.Context(), http.MethodPost, "/cgi-bin/message/custom/send", at, msg("oUser"), nil); err != nil {
		t.Fatalf("Do(custom/send) = %v", err)
	}
	err := c.DoWith(t.Context(), http.MethodPost, "/cgi-bin/message/custom/send", at, msg("oQuiet"), nil)
	var ae *wechat.APIError
	if !errors.As(err, &ae) || ae.Code != 45015 {
		t.Errorf("Do(custom/send to rejected user) = %v; want errcode 45015", err)
	}
	got := s.CustomMessages()
	if len(got) != 1 || !strings.Contains(string(got[0]), `"oUser"`) {
		t.Errorf("CustomMessages() = %s; want the one message to oUser", got)
	}
}

func TestDoErrors(t *testing.T) {
	s := wechattest.NewServer(t)
	c := newClient(t, s, api.ModeClassic)
	at := accessToken(t, c)
	tests := []struct {
		name      string
		method    string
		path      string
		token     string
		in        any
		setup     func()
		wantCalls int64 // calls to path
		check     func(error) bool
	}{
		{"invalid token", "GET", "/cgi-bin/menu/get", "bogus", nil, nil, 1,
			func(err error) bool { return errors.Is(err, wechat.ErrTokenInvalid) }},
		{"empty token", "GET", "/cgi-bin/menu/get", "", nil, nil, 0,
			func(err error) bool { return err != nil }},
		{"relative path", "GET", "cgi-bin/menu/get", at, nil, nil, 0,
			func(err error) bool { return err != nil }},
		{"unencodable body", "POST", "/cgi-bin/menu/create", at, func() {}, nil, 0,
			func(err error) bool { return err != nil }},
		{"unknown path is 404, not retried", "GET", "/cgi-bin/nope", at, nil, nil, 1,
			func(err error) bool { var he *api.HTTPError; return errors.As(err, &he) && he.StatusCode == 404 }},
		{"GET retries 502", "GET", "/cgi-bin/menu/get", at, nil,
			func() {
				s.SetMenu(json.RawMessage(`{"button":[]}`))
				s.FailPath("/cgi-bin/menu/get", wechattest.FailServerError, 1)
			}, 2,
			func(err error) bool { return err == nil }},
		{"POST does not retry 502", "POST", "/cgi-bin/message/custom/send", at, map[string]string{"touser": "o", "msgtype": "text"},
			func() { s.FailPath("/cgi-bin/message/custom/send", wechattest.FailServerError, 1) }, 1,
			func(err error) bool { var he *api.HTTPError; return errors.As(err, &he) }},
		{"POST retries busy", "POST", "/cgi-bin/menu/create", at, map[string]any{"button": []int{1}},
			func() { s.FailPath("/cgi-bin/menu/create", wechattest.FailBusy, 2) }, 3,
			func(err error) bool { return err == nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup()
			}
			endpoint, _, _ := strings.Cut(tt.path, "?")
			before := s.Calls(endpoint)
			err := c.DoWith(t.Context(), tt.method, tt.path, tt.token, tt.in, nil)
			if !tt.check(err) {
				t.Errorf("Do(%s %q) = %v; unexpected", tt.method, tt.path, err)
			}
			if got := s.Calls(endpoint) - before; got != tt.wantCalls {
				t.Errorf("Calls(%q) = %d; want %d", endpoint, got, tt.wantCalls)
			}
		})
	}
}

// TestMalformedResponses covers answers WeChat should never give but a
// proxy or a wrong base URL might.
func TestMalformedResponses(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"no access_token", `{"expires_in":7200}`},
		{"zero expires_in", `{"access_token":"abc","expires_in":0}`},
		{"negative expires_in", `{"access_token":"abc","expires_in":-5}`},
		{"huge expires_in", `{"access_token":"abc","expires_in":99999999999}`},
		{"not json", `<html>hello</html>`},
		{"too large", `{"access_token":"` + strings.Repeat("a", 2<<20) + `","expires_in":7200}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer hs.Close()
			c, err := api.New(api.Config{BaseURL: hs.URL, AppID: "wx1", AppSecret: "s3cr3t", HTTP: &http.Client{Timeout: 5 * time.Second}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.FetchAccessToken(t.Context(), false); err == nil {
				t.Errorf("FetchAccessToken() with body %.40q = nil; want error", tt.body)
			}
			if got := calls.Load(); got != 1 {
				t.Errorf("calls = %d; want 1", got)
			}
		})
	}
}
