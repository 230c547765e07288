package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wxoa/wechat"
	"wxoa/wechat/api"
	"wxoa/wechat/wechattest"
)

// A WeCom application's secret travels in gettoken's query (corpsecret=):
// no error of a WeCom client carries it, nor the access_token, however the
// call fails.
func TestWeComErrorsNeverShowSecrets(t *testing.T) {
	const secret = "W3COM-S3CRET-never-print-me"
	s := wechattest.NewServer(t)
	hr := s.AddWeComApp("wwcorp0001", "1000002", secret)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close() // connection refused
	redirects := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.String(), http.StatusFound) // loops, with the query
	}))
	defer redirects.Close()

	var at string
	client := func(base string) *api.Client {
		c, err := api.New(api.Config{
			BaseURL: base, Platform: wechat.PlatformWeCom, AppID: hr.AppID(), AppSecret: secret, AgentID: hr.AgentID(),
			Tokens: sourceOf(&at), HTTP: &http.Client{Timeout: 50 * time.Millisecond}, MaxAttempts: 2, Backoff: time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	at = accessToken(t, client(s.WeComURL))

	type call func(c *api.Client) error
	fetch := func(c *api.Client) error { _, err := c.FetchAccessToken(t.Context(), false); return err }
	check := func(c *api.Client) error { return c.CheckAccessToken(t.Context(), at) }
	deliver := func(c *api.Client) error { return c.Deliver(t.Context(), "zhangsan", &wechat.TextReply{Content: "x"}) }
	tests := []struct {
		name  string
		base  string
		fail  *wechattest.Failure
		path  string // App.FailPath target; "" means its token endpoint
		calls []call
	}{
		{"busy", s.WeComURL, &wechattest.FailBusy, "", []call{fetch}},
		{"limit", s.WeComURL, &wechattest.FailQuota, "", []call{fetch}},
		{"ip not trusted", s.WeComURL, &wechattest.FailIPWhitelist, "", []call{fetch}},
		{"502", s.WeComURL, &wechattest.FailServerError, "", []call{fetch}},
		{"hang", s.WeComURL, &wechattest.FailHang, "", []call{fetch}},
		{"check busy", s.WeComURL, &wechattest.FailBusy, "/cgi-bin/get_api_domain_ip", []call{check}},
		{"send refused", s.WeComURL, ptr(wechattest.FailCode(81013)), "/cgi-bin/message/send", []call{deliver}},
		{"send hang", s.WeComURL, &wechattest.FailHang, "/cgi-bin/message/send", []call{deliver}},
		{"wrong host", s.URL, nil, "", []call{fetch, check, deliver}},
		{"refused", closed.URL, nil, "", []call{fetch, check, deliver}},
		{"redirect loop", redirects.URL, nil, "", []call{fetch, check, deliver}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer hr.Heal()
			switch {
			case tt.fail != nil && tt.path == "":
				hr.Fail(*tt.fail, -1)
			case tt.fail != nil:
				hr.FailPath(tt.path, *tt.fail, -1)
			}
			c := client(tt.base)
			for i, call := range tt.calls {
				err := call(c)
				if err == nil {
					t.Fatalf("call %d = nil; want an error", i)
				}
				for _, form := range []string{"%v", "%+v", "%#v", "%s"} {
					msg := fmt.Sprintf(form, err)
					if strings.Contains(msg, secret) || strings.Contains(msg, at) {
						t.Errorf("call %d: Sprintf(%q, err) = %q; want neither the secret nor the access_token", i, form, msg)
					}
				}
			}
		})
	}
}
