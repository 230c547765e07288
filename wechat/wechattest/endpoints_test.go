package wechattest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	_ "wxoa/internal/soak" // accepts -soak (see package soak)

	"wxoa/wechat/wechattest"
)

func TestProtectedEndpointErrcodes(t *testing.T) {
	s := wechattest.NewServer(t)
	expired := classic(t, s).AccessToken
	s.Expire(expired)
	revoked := stable(t, s, false).AccessToken
	s.Invalidate(revoked)
	retired := classic(t, s).AccessToken
	s.FetchElsewhere()
	good := classic(t, s).AccessToken
	tk := call(t, s, "GET", "/cgi-bin/ticket/getticket", url.Values{"access_token": {good}, "type": {"jsapi"}}, nil)
	if tk.ErrCode != 0 || tk.Ticket == "" || tk.Ticket != s.Ticket() || tk.ExpiresIn != 7200 {
		t.Fatalf("getticket = %+v; want a ticket with expires_in 7200", tk)
	}
	tests := []struct {
		name  string
		token string
		want  int
	}{
		{"missing", "", 41001},
		{"unknown", "FAKE_bogus", 40001},
		{"expired", expired, 42001},
		{"invalidated", revoked, 40001},
		{"fetched elsewhere", retired, 40001},
		{"a ticket is not an access_token", tk.Ticket, 40001},
		{"valid", good, 0},
	}
	endpoints := []struct {
		method, path string
		q            url.Values
		body         any
	}{
		{"GET", "/cgi-bin/ticket/getticket", url.Values{"type": {"jsapi"}}, nil},
		{"POST", "/cgi-bin/menu/create", nil, map[string]any{"button": []any{map[string]string{"type": "click", "name": "a", "key": "k"}}}},
		{"GET", "/cgi-bin/menu/get", nil, nil},
		{"GET", "/cgi-bin/menu/delete", nil, nil},
		{"POST", "/cgi-bin/message/custom/send", nil, map[string]any{"touser": "o1", "msgtype": "text", "text": map[string]string{"content": "x"}}},
		{"GET", "/cgi-bin/get_api_domain_ip", nil, nil},
		{"GET", "/cgi-bin/getcallbackip", nil, nil},
	}
	for _, tt := range tests {
		for _, ep := range endpoints {
			t.Run(tt.name+ep.path, func(t *testing.T) {
				q := url.Values{}
				for k, v := range ep.q {
					q[k] = v
				}
				if tt.token != "" {
					q.Set("access_token", tt.token)
				}
				if got := call(t, s, ep.method, ep.path, q, ep.body).ErrCode; got != tt.want {
					t.Errorf("%s %s with %s token = errcode %d; want %d", ep.method, ep.path, tt.name, got, tt.want)
				}
			})
		}
	}
	// Every call counts, rejected or not: one above, one per row.
	if got := s.Calls("/cgi-bin/ticket/getticket"); got != int64(len(tests))+1 {
		t.Errorf("Calls(getticket) = %d; want %d", got, len(tests)+1)
	}
	if got := len(s.CustomMessages()); got != 1 {
		t.Errorf("len(CustomMessages()) = %d; want 1", got)
	}
}

func TestMenuRoundTrip(t *testing.T) {
	s := wechattest.NewServer(t)
	q := url.Values{"access_token": {classic(t, s).AccessToken}}
	if got := call(t, s, "GET", "/cgi-bin/menu/get", q, nil).ErrCode; got != 46003 {
		t.Errorf("menu/get before create = errcode %d; want 46003", got)
	}
	menu := map[string]any{"button": []any{
		map[string]any{"type": "view", "name": "官网", "url": "https://example.com/"},
		map[string]any{"name": "更多", "sub_button": []any{map[string]string{"type": "click", "name": "赞", "key": "V_GOOD"}}},
	}}
	if got := call(t, s, "POST", "/cgi-bin/menu/create", q, menu).ErrCode; got != 0 {
		t.Fatalf("menu/create = errcode %d; want 0", got)
	}
	got := call(t, s, "GET", "/cgi-bin/menu/get", q, nil)
	want, _ := json.Marshal(menu)
	if got.ErrCode != 0 || string(got.Menu) != string(want) {
		t.Errorf("menu/get = %s; want %s", got.Menu, want)
	}
	if string(s.Menu()) != string(want) {
		t.Errorf("Menu() = %s; want %s", s.Menu(), want)
	}
	for _, bad := range []any{map[string]any{"button": []any{}}, "not an object", map[string]any{"button": []int{1, 2, 3, 4}}} {
		if got := call(t, s, "POST", "/cgi-bin/menu/create", q, bad).ErrCode; got != 40016 {
			t.Errorf("menu/create(%v) = errcode %d; want 40016", bad, got)
		}
	}
	if got := call(t, s, "GET", "/cgi-bin/menu/create", q, nil).ErrCode; got != 43002 {
		t.Errorf("GET menu/create = errcode %d; want 43002", got)
	}
	if got := call(t, s, "GET", "/cgi-bin/menu/delete", q, nil).ErrCode; got != 0 {
		t.Errorf("menu/delete = errcode %d; want 0", got)
	}
	if got := call(t, s, "GET", "/cgi-bin/menu/get", q, nil).ErrCode; got != 46003 {
		t.Errorf("menu/get after delete = errcode %d; want 46003", got)
	}
	if got := s.Calls("/cgi-bin/menu/create"); got != 5 {
		t.Errorf("Calls(menu/create) = %d; want 5", got)
	}
}

func TestCustomSend(t *testing.T) {
	s := wechattest.NewServer(t)
	q := url.Values{"access_token": {stable(t, s, false).AccessToken}}
	msg := func(to string) map[string]any {
		return map[string]any{"touser": to, "msgtype": "text", "text": map[string]string{"content": "你好"}}
	}
	s.RejectCustomFor("oSilent", 45015)
	tests := []struct {
		name string
		body any
		want int
	}{
		{"ok", msg("oA"), 0},
		{"window closed", msg("oSilent"), 45015},
		{"no touser", map[string]any{"msgtype": "text"}, 40003},
		{"no msgtype", map[string]any{"touser": "oA"}, 40008},
		{"ok again", msg("oB"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := call(t, s, "POST", "/cgi-bin/message/custom/send", q, tt.body).ErrCode; got != tt.want {
				t.Errorf("custom/send(%v) = errcode %d; want %d", tt.body, got, tt.want)
			}
		})
	}
	got := s.CustomMessages()
	if len(got) != 2 || !strings.Contains(string(got[0]), `"oA"`) || !strings.Contains(string(got[1]), "你好") {
		t.Errorf("CustomMessages() = %s; want the messages to oA and oB", got)
	}
	s.RejectCustomFor("oSilent", 0)
	if got := call(t, s, "POST", "/cgi-bin/message/custom/send", q, msg("oSilent")).ErrCode; got != 0 {
		t.Errorf("custom/send after un-reject = errcode %d; want 0", got)
	}
}

func TestFailInjection(t *testing.T) {
	tests := []struct {
		name       string
		fail       wechattest.Failure
		wantStatus int
		wantCode   int
		wantMsg    string
	}{
		{"busy", wechattest.FailBusy, 200, -1, ""},
		{"quota", wechattest.FailQuota, 200, 45009, ""},
		{"server error", wechattest.FailServerError, 502, 0, ""},
		{"ip whitelist", wechattest.FailIPWhitelist, 200, 40164, "invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in whitelist rid: "},
		{"code", wechattest.FailCode(40243), 200, 40243, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := wechattest.NewServer(t)
			s.Fail(tt.fail, 2)
			for i, fetch := range []func() answer{func() answer { return classic(t, s) }, func() answer { return stable(t, s, false) }} {
				got := fetch()
				if got.Status != tt.wantStatus || got.ErrCode != tt.wantCode || !strings.HasPrefix(got.ErrMsg, tt.wantMsg) {
					t.Errorf("call %d = (%d, %d, %q); want (%d, %d, %q...)", i, got.Status, got.ErrCode, got.ErrMsg, tt.wantStatus, tt.wantCode, tt.wantMsg)
				}
			}
			if got := classic(t, s); got.ErrCode != 0 || got.AccessToken == "" {
				t.Errorf("third call = errcode %d; want a token (the failure was for 2 calls)", got.ErrCode)
			}
			s.Fail(tt.fail, -1)
			for range 3 {
				if got := classic(t, s); got.AccessToken != "" {
					t.Errorf("call with Fail(n=-1) returned a token; want a failure")
				}
			}
			s.Heal()
			if got := stable(t, s, false); got.AccessToken == "" {
				t.Errorf("call after Heal = errcode %d; want a token", got.ErrCode)
			}
			if got := s.TokenCalls(); got != 7 {
				t.Errorf("TokenCalls() = %d; want 7", got)
			}
		})
	}
}

func TestFailPath(t *testing.T) {
	s := wechattest.NewServer(t)
	q := url.Values{"access_token": {classic(t, s).AccessToken}}
	s.FailPath("/cgi-bin/menu/get", wechattest.FailBusy, 1)
	s.Fail(wechattest.FailQuota, -1) // token endpoints only
	if got := call(t, s, "GET", "/cgi-bin/menu/get", q, nil).ErrCode; got != -1 {
		t.Errorf("menu/get = errcode %d; want -1", got)
	}
	if got := call(t, s, "GET", "/cgi-bin/menu/get", q, nil).ErrCode; got != 46003 {
		t.Errorf("menu/get after the failure = errcode %d; want 46003", got)
	}
}

func TestUnknownPath(t *testing.T) {
	s := wechattest.NewServer(t)
	got := call(t, s, "GET", "/cgi-bin/nope", nil, nil)
	if got.Status != http.StatusNotFound || got.ErrCode != -1 {
		t.Errorf("GET /cgi-bin/nope = (%d, errcode %d); want (404, -1)", got.Status, got.ErrCode)
	}
	if got := s.Calls("/cgi-bin/nope"); got != 1 {
		t.Errorf("Calls(/cgi-bin/nope) = %d; want 1", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	s := wechattest.NewServer(t)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			var tok string
			if i%2 == 0 {
				tok = classic(t, s).AccessToken
			} else {
				tok = stable(t, s, false).AccessToken
			}
			s.Valid(tok)
			s.Current()
			useToken(t, s, tok)
		})
	}
	wg.Wait()
	if got := s.TokenCalls(); got != 16 {
		t.Errorf("TokenCalls() = %d; want 16", got)
	}
	if got := s.Calls("/cgi-bin/menu/get"); got != 16 {
		t.Errorf("Calls(menu/get) = %d; want 16", got)
	}
}
