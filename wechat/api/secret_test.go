package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wxoa/wechat/api"
	"wxoa/wechat/wechattest"
)

// TestErrorsNeverShowSecrets fails every way we know and checks that no
// error string carries the app secret or the access_token.
func TestErrorsNeverShowSecrets(t *testing.T) {
	const secret = "S3CRET-never-print-me"
	s := wechattest.NewServer(t, func(o *wechattest.Options) { o.AppSecret = secret })
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close() // connection refused
	redirects := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.String(), http.StatusFound) // loops, with the query
	}))
	defer redirects.Close()

	var at string // the access_token the clients carry, once fetched
	client := func(base string, mode api.Mode) *api.Client {
		c, err := api.New(api.Config{
			BaseURL: base, AppID: s.AppID(), AppSecret: secret, Mode: mode, Tokens: sourceOf(&at),
			HTTP: &http.Client{Timeout: 50 * time.Millisecond}, MaxAttempts: 2, Backoff: time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	good := client(s.URL, api.ModeClassic)
	tok, err := good.FetchAccessToken(t.Context(), false)
	if err != nil {
		t.Fatalf("FetchAccessToken() = %v", err)
	}
	at = tok.Value.Reveal()

	type call func(c *api.Client) error
	fetch := func(c *api.Client) error { _, err := c.FetchAccessToken(t.Context(), false); return err }
	ticket := func(c *api.Client) error { _, err := c.FetchJSAPITicket(t.Context()); return err }
	menu := func(c *api.Client) error { return c.DoWith(t.Context(), "GET", "/cgi-bin/menu/get", at, nil, nil) }
	check := func(c *api.Client) error { return c.CheckAccessToken(t.Context(), at) }
	tests := []struct {
		name  string
		base  string
		fail  *wechattest.Failure
		path  string // FailPath target; "" means the token endpoints
		calls []call
	}{
		{"busy", s.URL, &wechattest.FailBusy, "", []call{fetch}},
		{"quota", s.URL, &wechattest.FailQuota, "", []call{fetch}},
		{"ip whitelist", s.URL, &wechattest.FailIPWhitelist, "", []call{fetch}},
		{"502", s.URL, &wechattest.FailServerError, "", []call{fetch}},
		{"hang", s.URL, &wechattest.FailHang, "", []call{fetch}},
		{"ticket hang", s.URL, &wechattest.FailHang, "/cgi-bin/ticket/getticket", []call{ticket}},
		{"ticket 502", s.URL, &wechattest.FailServerError, "/cgi-bin/ticket/getticket", []call{ticket}},
		{"menu busy", s.URL, &wechattest.FailBusy, "/cgi-bin/menu/get", []call{menu}},
		{"menu hang", s.URL, &wechattest.FailHang, "/cgi-bin/menu/get", []call{menu}},
		{"check busy", s.URL, &wechattest.FailBusy, "/cgi-bin/get_api_domain_ip", []call{check}},
		{"check hang", s.URL, &wechattest.FailHang, "/cgi-bin/get_api_domain_ip", []call{check}},
		{"refused", closed.URL, nil, "", []call{fetch, ticket, menu, check}},
		{"redirect loop", redirects.URL, nil, "", []call{fetch, ticket, menu, check}},
		{"not found", s.URL + "/nowhere", nil, "", []call{fetch, ticket, menu, check}},
	}
	for _, tt := range tests {
		for _, mode := range []api.Mode{api.ModeClassic, api.ModeStable} {
			t.Run(tt.name+"/"+string(mode), func(t *testing.T) {
				defer s.Heal()
				switch {
				case tt.fail != nil && tt.path == "":
					s.Fail(*tt.fail, -1)
				case tt.fail != nil:
					s.FailPath(tt.path, *tt.fail, -1)
				}
				c := client(tt.base, mode)
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
	if _, err := good.FetchAccessToken(t.Context(), false); err != nil {
		t.Errorf("FetchAccessToken() after the failures = %v; want success", err)
	}
}

// sourceOf is a TokenSource handing out *tok.
func sourceOf(tok *string) api.TokenSource {
	return tokenFunc(func(context.Context) (string, error) { return *tok, nil })
}

type tokenFunc func(context.Context) (string, error)

func (f tokenFunc) Token(ctx context.Context) (string, error) { return f(ctx) }
