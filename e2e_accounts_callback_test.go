package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"strings"
	"testing"

	sdkutil "github.com/silenceper/wechat/v2/util"

	"wxoa/wechat"
	"wxoa/wechat/wechattest"
)

// WeCom test applications: two of one corp.
const (
	wecomCorp     = "ww7d0c4b5a1e2f3a4b"
	wecomHRAgent  = "1000002"
	wecomOpsAgent = "1000003"
	wecomToken    = "wecomcbtoken"
	wecomAESKey   = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
)

// rulesFile writes a rules file answering every text message with prefix.
func rulesFile(t *testing.T, prefix string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rules.yaml")
	body := "rules: []\ndefault:\n  reply: {type: text, content: \"" + prefix + " {{.Content}}\"}\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Callbacks of every kind on one server: two Official Accounts with their
// own tokens and rules, a Mini Program whose JSON push is answered by
// customer-service message, and two WeCom applications of one corp, whose
// URL check and encrypted messages are answered encrypted.
func TestCallbacksForEveryKind(t *testing.T) {
	fake := wechattest.NewServer(t)
	second := fake.AddApp("wxsecond000000001", "secondsecret")
	mpApp := fake.AddApp(mpAppID, mpSecret)
	hr := fake.AddWeComApp(wecomCorp, wecomHRAgent, "hrsecret")
	ops := fake.AddWeComApp(wecomCorp, wecomOpsAgent, "opssecret")
	yaml := fmt.Sprintf(`accounts:
  - name: oa
    app_id: %s
    app_secret: %s
    token: %s
    encoding_aes_key: %s
    rules_file: %s
  - name: second
    app_id: %s
    app_secret: %s
    token: secondcbtoken
    rules_file: %s
  - name: mp
    kind: mini_program
    app_id: %s
    app_secret: %s
    token: %s
    data_format: json
  - name: hr
    kind: wecom
    corp_id: %s
    corp_secret: %s
    agent_id: "%s"
    token: %s
    encoding_aes_key: %s
    rules_file: %s
  - name: ops
    kind: wecom
    corp_id: %s
    corp_secret: %s
    agent_id: "%s"
`, fake.AppID(), fake.AppSecret(), oaToken, oaAESKey, rulesFile(t, "oa says"),
		second.AppID(), second.Secret(), rulesFile(t, "second says"),
		mpAppID, mpSecret, mpToken,
		wecomCorp, hr.Secret(), wecomHRAgent, wecomToken, wecomAESKey, rulesFile(t, "hr says"),
		wecomCorp, ops.Secret(), wecomOpsAgent)
	s := startE2E(t, accountsVars(t, fake, yaml), fake)
	ctx := context.Background()
	follower := func(path string, cfg wechattest.FollowerConfig) *wechattest.Follower {
		t.Helper()
		cfg.URL, cfg.Client = s.Base+path, s.Client
		if cfg.OpenID == "" {
			cfg.OpenID = "oUser0001"
		}
		f, err := wechattest.NewFollower(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	crypter := func(key, appID string) *wechat.Crypter {
		c, err := wechat.NewCrypter(key, appID)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	t.Run("two Official Accounts", func(t *testing.T) {
		oa := follower("/wechat/oa", wechattest.FollowerConfig{Token: oaToken, Crypter: crypter(oaAESKey, fake.AppID()), Account: "gh_oa"})
		sec := follower("/wechat/second", wechattest.FollowerConfig{Token: "secondcbtoken", Account: "gh_second"})
		for _, tt := range []struct {
			f    *wechattest.Follower
			want string
		}{{oa, "oa says hello"}, {sec, "second says hello"}} {
			res, err := tt.f.Send(ctx, wechattest.Text("hello"))
			if err != nil {
				t.Fatal(err)
			}
			if r, ok := res.Reply.(*wechat.TextReply); !ok || r.Content != tt.want {
				t.Errorf("reply %#v; want %q from the account's own rules", res.Reply, tt.want)
			}
		}
		// The other account's callback token is not this account's.
		wrong := follower("/wechat/second", wechattest.FollowerConfig{Token: oaToken, Account: "gh_second"})
		var he *wechattest.HTTPError
		if _, err := wrong.Send(ctx, wechattest.Text("hi")); !errors.As(err, &he) || he.Status != 403 {
			t.Errorf("a push to second signed with oa's token = %v; want 403", err)
		}
		if echo, err := sec.VerifyURL(ctx, "echo-1"); err != nil || echo != "echo-1" {
			t.Errorf("second's URL check = %q, %v; want the echostr back", echo, err)
		}
	})

	t.Run("Mini Program, JSON, answered by customer-service message", func(t *testing.T) {
		mp := follower("/wechat/mp", wechattest.FollowerConfig{Token: mpToken, JSON: true, Account: "gh_mp", OpenID: "oMiniUser1"})
		for i := range 2 { // the second is WeChat's retry
			send := mp.Send
			if i == 1 {
				send = func(ctx context.Context, _ wechattest.Message) (wechattest.Result, error) { return mp.Retry(ctx) }
			}
			res, err := send(ctx, wechattest.Text("hello"))
			if err == nil && res.Reply == nil && strings.TrimSpace(string(res.Body)) == "success" {
				continue
			}
			t.Fatalf("Mini Program push = %+v, %v; want success at once", res, err)
		}
		waitFor(t, "the Mini Program's reply by customer-service message", func() bool { return len(mpApp.Messages()) > 0 })
		var m struct {
			ToUser  string `json:"touser"`
			MsgType string `json:"msgtype"`
			Text    struct {
				Content string `json:"content"`
			} `json:"text"`
		}
		msgs := mpApp.Messages()
		if len(msgs) != 1 || json.Unmarshal(msgs[0], &m) != nil || m.ToUser != "oMiniUser1" || m.MsgType != "text" || m.Text.Content != "hello" {
			t.Errorf("customer-service messages sent with the Mini Program's token = %s; want one echoing hello to oMiniUser1", msgs)
		}
		if len(fake.DefaultApp().Messages()) != 0 {
			t.Error("a Mini Program's reply went out with another account's token")
		}
	})

	t.Run("WeCom", func(t *testing.T) {
		wc := follower("/wechat/hr", wechattest.FollowerConfig{Token: wecomToken, Crypter: crypter(wecomAESKey, wecomCorp),
			Account: wecomCorp, AgentID: wecomHRAgent, OpenID: "zhangsan"})
		echo, err := wc.VerifyURL(ctx, "1616140317555161061")
		if err != nil || echo != "1616140317555161061" {
			t.Fatalf("WeCom URL check = %q, %v; want the decrypted echostr", echo, err)
		}
		res, err := wc.Send(ctx, wechattest.Text("hello"))
		if err != nil {
			t.Fatal(err)
		}
		if r, ok := res.Reply.(*wechat.TextReply); !ok || r.Content != "hr says hello" {
			t.Errorf("WeCom reply %#v; want the rule's text", res.Reply)
		}
		// The reply opens with an independent implementation of WeCom's
		// crypto (silenceper's), under the corp id as receiveid.
		var env struct {
			Encrypt, MsgSignature, TimeStamp, Nonce string
		}
		if err := xml.Unmarshal(res.Body, &env); err != nil || env.Encrypt == "" {
			t.Fatalf("WeCom reply body %q is not an encrypted envelope: %v", res.Body, err)
		}
		if sdkutil.Signature(wecomToken, env.TimeStamp, env.Nonce, env.Encrypt) != env.MsgSignature {
			t.Error("the reply's MsgSignature does not verify with silenceper's Signature")
		}
		_, plain, err := sdkutil.DecryptMsg(wecomCorp, env.Encrypt, wecomAESKey)
		if err != nil || !strings.Contains(string(plain), "<Content><![CDATA[hr says hello]]></Content>") ||
			!strings.Contains(string(plain), "<ToUserName><![CDATA[zhangsan]]></ToUserName>") {
			t.Errorf("silenceper opens the reply as %q, %v; want the text to zhangsan", plain, err)
		}
		// Two applications of one corp hold two tokens.
		h, o := tokenFor(t, s.do, "hr"), tokenFor(t, s.do, "ops")
		if h == o || h != hr.Current() || o != ops.Current() {
			t.Errorf("hr and ops tokens %.12s, %.12s; want each application's own", h, o)
		}
		for _, tt := range []struct{ secret, want string }{{hr.Secret(), h}, {ops.Secret(), o}} {
			code, body := s.request(t, "GET", "/cgi-bin/gettoken?corpid="+wecomCorp+"&corpsecret="+tt.secret, "", "")
			if code != 200 || tokenOfBody(body) != tt.want || !strings.HasPrefix(body, `{"errcode":0,"errmsg":"ok"`) {
				t.Errorf("gettoken drop-in = %d %s; want errcode 0 and the application's token", code, body)
			}
		}
		// ops serves no callback: its path answers 404.
		if code, _ := s.request(t, "GET", "/wechat/ops?echostr=x", "", ""); code != 404 {
			t.Errorf("GET /wechat/ops = %d; want 404 (no callback token configured)", code)
		}
	})

	// The metrics carry each account's callbacks by name.
	_, fams := scrapeMetrics(t, s)
	for _, name := range []string{"oa", "second", "mp", "hr"} {
		if v := value(fams, "wxoa_callbacks_total", map[string]string{"account": name}); v < 1 {
			t.Errorf("wxoa_callbacks_total{account=%q} = %v; want at least 1", name, v)
		}
	}
}

func tokenOfBody(body string) string {
	var r struct {
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal([]byte(body), &r)
	return r.AccessToken
}
