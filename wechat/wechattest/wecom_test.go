package wechattest_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"wxoa/wechat"
	"wxoa/wechat/wechattest"
)

func getToken(t *testing.T, s *wechattest.Server, corpID, secret string) answer {
	t.Helper()
	return call(t, s, "GET", "/wecom/cgi-bin/gettoken", url.Values{"corpid": {corpID}, "corpsecret": {secret}}, nil)
}

// WeCom's gettoken hands out the token an application holds while it is
// valid, a new one after it expired, and a token per application of a corp.
func TestWeComGetToken(t *testing.T) {
	clock := newClock()
	s := wechattest.NewServer(t, func(o *wechattest.Options) { o.Now = clock.Now })
	hr := s.AddWeComApp("wwcorp0001", "1000002", "hrsecret")
	crm := s.AddWeComApp("wwcorp0001", "1000003", "crmsecret")
	if hr.URL() != s.WeComURL || s.WeComURL != s.URL+"/wecom" || hr.Platform() != wechat.PlatformWeCom || s.WeComApp("wwcorp0001", "1000003") != crm {
		t.Fatalf("WeCom app: URL %q (server %q), platform %v; want the WeCom URL and platform", hr.URL(), s.WeComURL, hr.Platform())
	}
	first := getToken(t, s, "wwcorp0001", "hrsecret")
	clock.Advance(100 * time.Second)
	again := getToken(t, s, "wwcorp0001", "hrsecret")
	other := getToken(t, s, "wwcorp0001", "crmsecret")
	if first.ErrCode != 0 || first.AccessToken == "" || first.ExpiresIn != 7200 {
		t.Fatalf("gettoken = %+v; want a token for 7200 s", first)
	}
	if again.AccessToken != first.AccessToken || again.ExpiresIn != 7100 {
		t.Errorf("gettoken 100 s later = %.12q for %d s; want the same token for 7100 s", again.AccessToken, again.ExpiresIn)
	}
	if other.AccessToken == "" || other.AccessToken == first.AccessToken || crm.Current() != other.AccessToken {
		t.Errorf("the other application's token = %.12q; want its own", other.AccessToken)
	}
	clock.Advance(7100 * time.Second)
	if got := getToken(t, s, "wwcorp0001", "hrsecret"); got.AccessToken == first.AccessToken || got.ExpiresIn != 7200 {
		t.Errorf("gettoken after expiry = %.12q for %d s; want a new token for 7200 s", got.AccessToken, got.ExpiresIn)
	}
	if hr.TokenCalls() != 3 || crm.TokenCalls() != 1 || s.TokenCalls() != 4 || s.Calls("/cgi-bin/gettoken") != 4 {
		t.Errorf("TokenCalls: hr %d, crm %d, server %d; want 3, 1, 4", hr.TokenCalls(), crm.TokenCalls(), s.TokenCalls())
	}
	if hr.FetchElsewhere() != hr.Current() {
		t.Errorf("FetchElsewhere() of a WeCom application changed its token; WeCom hands out the same one")
	}
}

func TestWeComGetTokenErrcodes(t *testing.T) {
	s := wechattest.NewServer(t)
	s.AddWeComApp("wwcorp0001", "1000002", "hrsecret")
	s.AddWeComApp("wwcorp0002", "1000002", "othersecret")
	tests := []struct {
		name, corpID, secret string
		want                 int
	}{
		{"ok", "wwcorp0001", "hrsecret", 0},
		{"no corpid", "", "hrsecret", 41002},
		{"no secret", "wwcorp0001", "", 41004},
		{"unknown corp", "wwnobody", "hrsecret", 40013},
		{"wrong secret", "wwcorp0001", "nope", 40001},
		{"another corp's secret", "wwcorp0001", "othersecret", 40001},
		{"an Official Account's appid", s.AppID(), s.AppSecret(), 40013},
	}
	for _, tt := range tests {
		got := getToken(t, s, tt.corpID, tt.secret)
		if got.ErrCode != tt.want || (tt.want == 0) != (got.AccessToken != "") {
			t.Errorf("%s: gettoken = errcode %d, token %t; want %d", tt.name, got.ErrCode, got.AccessToken != "", tt.want)
		}
		if tt.want != 0 && !strings.Contains(got.ErrMsg, "open.work.weixin.qq.com/devtool/query?e=") {
			t.Errorf("%s: errmsg %q; want WeCom's pointer to its errcode tool", tt.name, got.ErrMsg)
		}
	}
	if got := call(t, s, "GET", "/cgi-bin/gettoken", url.Values{"corpid": {"wwcorp0001"}, "corpsecret": {"hrsecret"}}, nil); got.Status != http.StatusNotFound || !strings.Contains(got.ErrMsg, "WeComURL") {
		t.Errorf("gettoken on the WeChat host = %+v; want 404 naming WeComURL", got)
	}
}

// Protected WeCom endpoints answer WeCom's codes, and a token of one host
// is unknown on the other.
func TestWeComProtectedErrcodes(t *testing.T) {
	s := wechattest.NewServer(t)
	s.AddWeComApp("wwcorp0001", "1000002", "hrsecret")
	expired := getToken(t, s, "wwcorp0001", "hrsecret").AccessToken
	s.Expire(expired)
	revoked := getToken(t, s, "wwcorp0001", "hrsecret").AccessToken
	s.Invalidate(revoked)
	good := getToken(t, s, "wwcorp0001", "hrsecret").AccessToken
	oa := classic(t, s).AccessToken
	tests := []struct {
		name, path, token string
		want              int
	}{
		{"missing", "/wecom/cgi-bin/get_api_domain_ip", "", 41001},
		{"unknown", "/wecom/cgi-bin/get_api_domain_ip", "FAKEWECOM_bogus", 40014},
		{"expired", "/wecom/cgi-bin/get_api_domain_ip", expired, 42001},
		{"invalidated", "/wecom/cgi-bin/getcallbackip", revoked, 40014},
		{"an Official Account's token", "/wecom/cgi-bin/get_api_domain_ip", oa, 40014},
		{"a WeCom token on WeChat's host", "/cgi-bin/get_api_domain_ip", good, 40001},
		{"valid", "/wecom/cgi-bin/get_api_domain_ip", good, 0},
	}
	for _, tt := range tests {
		q := url.Values{}
		if tt.token != "" {
			q.Set("access_token", tt.token)
		}
		got := call(t, s, "GET", tt.path, q, nil)
		if got.ErrCode != tt.want || (tt.want == 0) != (len(got.IPList) > 0) {
			t.Errorf("%s: GET %s = errcode %d, %d IPs; want %d", tt.name, tt.path, got.ErrCode, len(got.IPList), tt.want)
		}
	}
}

func TestWeComMessageSend(t *testing.T) {
	s := wechattest.NewServer(t)
	hr := s.AddWeComApp("wwcorp0001", "1000002", "hrsecret")
	crm := s.AddWeComApp("wwcorp0001", "1000003", "crmsecret")
	tok := getToken(t, s, "wwcorp0001", "hrsecret").AccessToken
	hr.RejectCustomFor("gone", 81013)
	text := map[string]string{"content": "hi"}
	tests := []struct {
		name string
		body map[string]any
		want int
	}{
		{"text", map[string]any{"touser": "zhangsan", "msgtype": "text", "agentid": 1000002, "text": text}, 0},
		{"news", map[string]any{"touser": "zhangsan", "msgtype": "news", "agentid": 1000002,
			"news": map[string]any{"articles": []any{map[string]string{"title": "t", "url": "https://example.com"}}}}, 0},
		{"another application's agentid", map[string]any{"touser": "zhangsan", "msgtype": "text", "agentid": 1000003, "text": text}, 40056},
		{"no agentid", map[string]any{"touser": "zhangsan", "msgtype": "text", "text": text}, 41011},
		{"no recipient", map[string]any{"msgtype": "text", "agentid": 1000002, "text": text}, 40035},
		{"msgtype without its body", map[string]any{"touser": "zhangsan", "msgtype": "image", "agentid": 1000002, "text": text}, 40008},
		{"empty text", map[string]any{"touser": "zhangsan", "msgtype": "text", "agentid": 1000002, "text": map[string]string{}}, 44004},
		{"rejected user", map[string]any{"touser": "gone", "msgtype": "text", "agentid": 1000002, "text": text}, 81013},
	}
	for _, tt := range tests {
		if got := call(t, s, "POST", "/wecom/cgi-bin/message/send", url.Values{"access_token": {tok}}, tt.body).ErrCode; got != tt.want {
			t.Errorf("%s: message/send = errcode %d; want %d", tt.name, got, tt.want)
		}
	}
	if got := len(hr.Messages()); got != 2 || len(crm.Messages()) != 0 || len(s.CustomMessages()) != 0 {
		t.Errorf("messages: hr %d, crm %d, custom %d; want 2, 0, 0", got, len(crm.Messages()), len(s.CustomMessages()))
	}
	if got := hr.Calls("/cgi-bin/message/send"); got != int64(len(tests)) {
		t.Errorf("hr.Calls(message/send) = %d; want %d", got, len(tests))
	}
}

// Injected failures answer WeCom's codes on WeCom's host, per application.
func TestWeComFailures(t *testing.T) {
	tests := []struct {
		name     string
		fail     wechattest.Failure
		want     int
		wantText string
	}{
		{"ip whitelist", wechattest.FailIPWhitelist, 60020, "from ip: 203.0.113.7"},
		{"quota", wechattest.FailQuota, 45009, "api freq out of limit"},
		{"busy", wechattest.FailBusy, -1, "system busy"},
		{"any code", wechattest.FailCode(48002), 48002, "48002"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := wechattest.NewServer(t)
			hr := s.AddWeComApp("wwcorp0001", "1000002", "hrsecret")
			s.AddWeComApp("wwcorp0001", "1000003", "crmsecret")
			hr.Fail(tt.fail, -1)
			got := getToken(t, s, "wwcorp0001", "hrsecret")
			if got.ErrCode != tt.want || !strings.Contains(got.ErrMsg, tt.wantText) {
				t.Errorf("gettoken of the failing application = %d %q; want %d with %q", got.ErrCode, got.ErrMsg, tt.want, tt.wantText)
			}
			if got := getToken(t, s, "wwcorp0001", "crmsecret"); got.ErrCode != 0 {
				t.Errorf("gettoken of the other application = errcode %d; want 0", got.ErrCode)
			}
		})
	}
}
