package wechattest_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"wxoa/wechat/wechattest"
)

// The control endpoints let a person retire a running fake's tokens, as a
// test does with the methods; a fake without Options.Control has none.
func TestControlEndpoints(t *testing.T) {
	s := wechattest.NewServer(t, func(o *wechattest.Options) { o.Control = true })
	b := s.AddApp("wxb", "secretb")
	s.AddWeComApp("wwcorp0001", "1000002", "hrsecret")
	tests := []struct {
		name       string
		method     string
		path       string
		q          url.Values
		token      func() string // fetched before the call
		wantStatus int
		wantUse    int // errcode of the token afterwards (46003 or 0: accepted)
	}{
		{"fetch elsewhere, default app", "POST", "/wechattest/fetch-elsewhere", nil,
			func() string { return classic(t, s).AccessToken }, http.StatusOK, 40001},
		{"fetch elsewhere, app b", "POST", "/wechattest/fetch-elsewhere", url.Values{"appid": {"wxb"}},
			func() string { return fetchFor(t, s, "wxb", "secretb").AccessToken }, http.StatusOK, 40001},
		{"fetch elsewhere for b leaves the default app alone", "POST", "/wechattest/fetch-elsewhere", url.Values{"appid": {"wxb"}},
			func() string { return classic(t, s).AccessToken }, http.StatusOK, 46003},
		{"invalidate a WeCom application", "POST", "/wechattest/invalidate", url.Values{"corpid": {"wwcorp0001"}, "agentid": {"1000002"}},
			func() string { return getToken(t, s, "wwcorp0001", "hrsecret").AccessToken }, http.StatusOK, 40014},
		{"GET", "GET", "/wechattest/fetch-elsewhere", nil,
			func() string { return classic(t, s).AccessToken }, http.StatusMethodNotAllowed, 46003},
		{"unknown app", "POST", "/wechattest/invalidate", url.Values{"appid": {"wxnobody"}},
			func() string { return classic(t, s).AccessToken }, http.StatusNotFound, 46003},
		{"unknown action", "POST", "/wechattest/expire", nil,
			func() string { return classic(t, s).AccessToken }, http.StatusNotFound, 46003},
	}
	for _, tt := range tests {
		tok := tt.token()
		req, err := http.NewRequestWithContext(t.Context(), tt.method, s.URL+tt.path+"?"+tt.q.Encode(), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.wantStatus {
			t.Errorf("%s: %s %s = %d; want %d", tt.name, tt.method, tt.path, resp.StatusCode, tt.wantStatus)
		}
		path := "/cgi-bin/menu/get"
		if strings.HasPrefix(tok, "FAKEWECOM_") {
			path = "/wecom/cgi-bin/get_api_domain_ip"
		}
		if got := call(t, s, "GET", path, url.Values{"access_token": {tok}}, nil).ErrCode; got != tt.wantUse {
			t.Errorf("%s: the token afterwards = errcode %d; want %d", tt.name, got, tt.wantUse)
		}
	}
	if b.Calls("/wechattest/fetch-elsewhere") != 0 || s.Calls("/wechattest/fetch-elsewhere") != 0 {
		t.Errorf("control calls were counted as API calls")
	}

	plain := wechattest.NewServer(t)
	if got := call(t, plain, "POST", "/wechattest/fetch-elsewhere", nil, nil); got.Status != http.StatusNotFound || got.ErrCode != -1 {
		t.Errorf("control endpoint without Options.Control = %+v; want the fake's 404", got)
	}
}
