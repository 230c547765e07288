package wechattest_test

import (
	"net/url"
	"testing"

	"wxoa/wechat/wechattest"
)

// fetchFor fetches a classic token with the given credentials.
func fetchFor(t *testing.T, s *wechattest.Server, appID, secret string) answer {
	t.Helper()
	return call(t, s, "GET", "/cgi-bin/token", url.Values{"grant_type": {"client_credential"}, "appid": {appID}, "secret": {secret}}, nil)
}

func stableFor(t *testing.T, s *wechattest.Server, a *wechattest.App) answer {
	t.Helper()
	return call(t, s, "POST", "/cgi-bin/stable_token", nil, map[string]any{
		"grant_type": "client_credential", "appid": a.AppID(), "secret": a.Secret(),
	})
}

// Each app has its own token series and counters; a token is its app's, so
// what it does (a menu, a message) lands with that app.
func TestAppsHoldTheirOwnTokens(t *testing.T) {
	s := wechattest.NewServer(t)
	def, mini := s.DefaultApp(), s.AddApp("wxmini000000001", "minisecret")
	if s.App(s.AppID()) != def || s.App("wxmini000000001") != mini || s.App("wxnone") != nil {
		t.Fatalf("App() does not find the apps by appid")
	}
	a := fetchFor(t, s, def.AppID(), def.Secret()).AccessToken
	b := fetchFor(t, s, mini.AppID(), mini.Secret()).AccessToken
	bs := stableFor(t, s, mini).AccessToken
	if a == "" || b == "" || a == b || bs == b {
		t.Fatalf("tokens %.12q, %.12q, stable %.12q; want three different ones", a, b, bs)
	}
	for _, tt := range []struct {
		app         *wechattest.App
		wantCurrent string
		wantCalls   int64
	}{{def, a, 1}, {mini, bs, 2}} {
		if got := tt.app.Current(); got != tt.wantCurrent {
			t.Errorf("App(%s).Current() = %.12q; want %.12q", tt.app.AppID(), got, tt.wantCurrent)
		}
		if got := tt.app.TokenCalls(); got != tt.wantCalls {
			t.Errorf("App(%s).TokenCalls() = %d; want %d", tt.app.AppID(), got, tt.wantCalls)
		}
	}
	if s.Current() != a || s.TokenCalls() != 3 {
		t.Errorf("Current(), TokenCalls() = %.12q, %d; want the default app's token and 3 calls in all", s.Current(), s.TokenCalls())
	}

	menu := map[string]any{"button": []any{map[string]string{"type": "click", "name": "b", "key": "k"}}}
	if got := call(t, s, "POST", "/cgi-bin/menu/create", url.Values{"access_token": {b}}, menu).ErrCode; got != 0 {
		t.Fatalf("menu/create with the mini program's token = errcode %d; want 0", got)
	}
	msg := map[string]any{"touser": "oMini", "msgtype": "text", "text": map[string]string{"content": "hi"}}
	if got := call(t, s, "POST", "/cgi-bin/message/custom/send", url.Values{"access_token": {bs}}, msg).ErrCode; got != 0 {
		t.Fatalf("custom/send with the mini program's stable token = errcode %d; want 0", got)
	}
	if def.Menu() != nil || mini.Menu() == nil {
		t.Errorf("menus: default %s, mini %s; want only the mini program's", def.Menu(), mini.Menu())
	}
	if len(def.Messages()) != 0 || len(mini.Messages()) != 1 || len(s.CustomMessages()) != 1 {
		t.Errorf("messages: default %d, mini %d, server %d; want 0, 1, 1", len(def.Messages()), len(mini.Messages()), len(s.CustomMessages()))
	}
	if got := mini.Calls("/cgi-bin/menu/create"); got != 1 || def.Calls("/cgi-bin/menu/create") != 0 {
		t.Errorf("Calls(menu/create): mini %d, default %d; want 1, 0", got, def.Calls("/cgi-bin/menu/create"))
	}
}

// Credentials are checked per app: an appid with another app's secret is
// refused and counted to the app it named.
func TestAppCredentials(t *testing.T) {
	s := wechattest.NewServer(t)
	b := s.AddApp("wxb", "secretb")
	tests := []struct {
		name, appID, secret string
		want                int
		wantB               int64 // b's token calls afterwards
	}{
		{"b", "wxb", "secretb", 0, 1},
		{"b with the default app's secret", "wxb", s.AppSecret(), 40125, 2},
		{"default with b's secret", s.AppID(), "secretb", 40125, 2},
		{"unknown appid", "wxnobody", "secretb", 40013, 2},
	}
	for _, tt := range tests {
		if got := fetchFor(t, s, tt.appID, tt.secret).ErrCode; got != tt.want {
			t.Errorf("%s: token = errcode %d; want %d", tt.name, got, tt.want)
		}
		if got := b.TokenCalls(); got != tt.wantB {
			t.Errorf("%s: b.TokenCalls() = %d; want %d", tt.name, got, tt.wantB)
		}
	}
	if got := s.TokenCalls(); got != int64(len(tests)) {
		t.Errorf("TokenCalls() = %d; want %d (every call)", got, len(tests))
	}
}

// Another system fetching with one app's credentials retires that app's
// token only; an injected failure of one app leaves the others working.
func TestAppsFailAndRetireAlone(t *testing.T) {
	tests := []struct {
		name string
		act  func(s *wechattest.Server, b *wechattest.App)
		// wantB and wantA are b's and the default app's token, used afterwards
		// (46003: accepted), and b's and the default app's next fetch.
		wantUseB, wantUseA     int
		wantFetchB, wantFetchA int
	}{
		{"b fetched elsewhere", func(_ *wechattest.Server, b *wechattest.App) { b.FetchElsewhere() }, 40001, 46003, 0, 0},
		{"b invalidated", func(_ *wechattest.Server, b *wechattest.App) { b.Invalidate() }, 40001, 46003, 0, 0},
		{"b over quota", func(_ *wechattest.Server, b *wechattest.App) { b.Fail(wechattest.FailQuota, -1) }, 46003, 46003, 45009, 0},
		{"b's menu busy", func(_ *wechattest.Server, b *wechattest.App) {
			b.FailPath("/cgi-bin/menu/get", wechattest.FailBusy, -1)
		}, -1, 46003, 0, 0},
		{"every app over quota", func(s *wechattest.Server, _ *wechattest.App) { s.Fail(wechattest.FailQuota, -1) }, 46003, 46003, 45009, 45009},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := wechattest.NewServer(t)
			b := s.AddApp("wxb", "secretb")
			tokA, tokB := classic(t, s).AccessToken, fetchFor(t, s, "wxb", "secretb").AccessToken
			tt.act(s, b)
			if got := useToken(t, s, tokB); got != tt.wantUseB {
				t.Errorf("b's token = errcode %d; want %d", got, tt.wantUseB)
			}
			if got := useToken(t, s, tokA); got != tt.wantUseA {
				t.Errorf("the default app's token = errcode %d; want %d", got, tt.wantUseA)
			}
			if got := fetchFor(t, s, "wxb", "secretb").ErrCode; got != tt.wantFetchB {
				t.Errorf("b's fetch = errcode %d; want %d", got, tt.wantFetchB)
			}
			if got := classic(t, s).ErrCode; got != tt.wantFetchA {
				t.Errorf("the default app's fetch = errcode %d; want %d", got, tt.wantFetchA)
			}
			s.Heal()
			if got := fetchFor(t, s, "wxb", "secretb").ErrCode; got != 0 {
				t.Errorf("b's fetch after Heal = errcode %d; want 0", got)
			}
		})
	}
}

// An app's failure can last a number of calls, and App.Heal ends it early.
func TestAppFailCountsAndHeal(t *testing.T) {
	s := wechattest.NewServer(t)
	b := s.AddApp("wxb", "secretb")
	b.Fail(wechattest.FailBusy, 2)
	var got []int
	for range 3 {
		got = append(got, fetchFor(t, s, "wxb", "secretb").ErrCode)
	}
	if got[0] != -1 || got[1] != -1 || got[2] != 0 {
		t.Errorf("b's fetches after Fail(busy, 2) = %v; want [-1 -1 0]", got)
	}
	b.Fail(wechattest.FailQuota, -1)
	b.Heal()
	if code := fetchFor(t, s, "wxb", "secretb").ErrCode; code != 0 {
		t.Errorf("b's fetch after App.Heal = errcode %d; want 0", code)
	}
}

func TestAddAppMisuse(t *testing.T) {
	s := wechattest.NewServer(t)
	s.AddWeComApp("wwcorp", "1000002", "s1")
	tests := []struct {
		name string
		add  func()
	}{
		{"the default appid again", func() { s.AddApp(s.AppID(), "x") }},
		{"no secret", func() { s.AddApp("wxnew", "") }},
		{"a WeCom application again", func() { s.AddWeComApp("wwcorp", "1000002", "s2") }},
		{"a corp's secret twice", func() { s.AddWeComApp("wwcorp", "1000003", "s1") }},
		{"no agent id", func() { s.AddWeComApp("wwcorp", "", "s3") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic; want one", tt.name)
				}
			}()
			tt.add()
		})
	}
	if got := len(s.Apps()); got != 2 {
		t.Errorf("len(Apps()) = %d; want 2 (the default app and the WeCom one)", got)
	}
}
