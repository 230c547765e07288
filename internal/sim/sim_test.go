package sim

import (
	"wxoa/config"
	_ "wxoa/internal/soak" // accepts -soak (see package soak)

	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"wxoa/wechat"
	"wxoa/wechat/wechattest"
)

const (
	simTestToken  = "simtoken2026"
	simTestAESKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG" // WeChat's documented sample key
	simTestAppID  = "wxsim00000000000a"
)

// simTestFollower is the simulator's user, in plaintext or safe mode, whose
// pushes h answers in-process.
func simTestFollower(t *testing.T, crypter *wechat.Crypter, h http.Handler, opts ...func(*wechattest.FollowerConfig)) *wechattest.Follower {
	t.Helper()
	cfg := wechattest.FollowerConfig{URL: "http://127.0.0.1:8080/wechat", Token: simTestToken, Crypter: crypter,
		OpenID: "oUser", Account: "gh_account", Client: wechattest.HandlerClient(h)}
	for _, o := range opts {
		o(&cfg)
	}
	f, err := wechattest.NewFollower(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func simTestCrypter(t *testing.T) *wechat.Crypter {
	t.Helper()
	c, err := wechat.NewCrypter(simTestAESKey, simTestAppID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// answering is a callback that answers every push with body.
func answering(body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
}

func TestSimBuildPushSignatures(t *testing.T) {
	for _, safe := range []bool{false, true} {
		t.Run(map[bool]string{false: "plaintext", true: "safe"}[safe], func(t *testing.T) {
			var crypter *wechat.Crypter
			if safe {
				crypter = simTestCrypter(t)
			}
			var req *http.Request
			var body []byte
			capture := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				req = r
				body, _ = io.ReadAll(r.Body)
				io.WriteString(w, "success")
			})
			f := simTestFollower(t, crypter, capture, func(c *wechattest.FollowerConfig) {
				c.Now = func() time.Time { return time.Unix(1700000001, 0) }
				c.Nonce = func() string { return "123456789" }
				c.MsgID = func() int64 { return 42 }
			})
			if _, err := f.Send(context.Background(), wechattest.Text("hi ]]> there")); err != nil {
				t.Fatalf("Send = %v", err)
			}
			q := req.URL.Query()
			if !wechat.VerifySignature(simTestToken, q.Get("timestamp"), q.Get("nonce"), q.Get("signature")) {
				t.Errorf("VerifySignature(%q) = false; want true", q.Get("signature"))
			}
			if q.Get("openid") != "oUser" || req.Method != "POST" || req.URL.Path != "/wechat" {
				t.Errorf("push = %s %s openid %q; want POST /wechat openid oUser", req.Method, req.URL.Path, q.Get("openid"))
			}
			if safe {
				if q.Get("encrypt_type") != "aes" {
					t.Errorf("encrypt_type = %q; want aes", q.Get("encrypt_type"))
				}
				envl, err := wechat.ParseEnvelope(body)
				if err != nil {
					t.Fatalf("ParseEnvelope(%q) = %v", body, err)
				}
				if !wechat.VerifyMsgSignature(simTestToken, "1700000001", "123456789", envl.Encrypt, q.Get("msg_signature")) {
					t.Errorf("VerifyMsgSignature(%q) = false; want true", q.Get("msg_signature"))
				}
				if envl.ToUserName != "gh_account" {
					t.Errorf("envelope ToUserName = %q; want gh_account", envl.ToUserName)
				}
				if body, err = crypter.Decrypt(envl.Encrypt); err != nil {
					t.Fatalf("Decrypt = %v", err)
				}
			} else if q.Has("encrypt_type") || q.Has("msg_signature") {
				t.Errorf("plaintext push has encrypt_type/msg_signature: %v", q)
			}
			msg, err := wechat.ParseMessage(body)
			if err != nil {
				t.Fatalf("ParseMessage(%q) = %v", body, err)
			}
			if txt, ok := msg.(*wechat.Text); !ok || txt.Content != "hi ]]> there" || txt.MsgID != 42 || txt.FromUserName != "oUser" {
				t.Errorf("ParseMessage(push) = %#v; want text %q MsgId 42 from oUser", msg, "hi ]]> there")
			}
		})
	}
	if _, err := wechattest.NewFollower(wechattest.FollowerConfig{URL: "127.0.0.1:8080/wechat"}); err == nil {
		t.Errorf("NewFollower(URL without scheme) = nil error; want error")
	}
}

func TestSimParseLine(t *testing.T) {
	tests := []struct {
		line  string
		check func(m wechat.Message) bool
	}{
		{"hello", func(m wechat.Message) bool {
			x, ok := m.(*wechat.Text)
			return ok && x.Content == "hello" && x.MsgID == 7
		}},
		{"//not a command", func(m wechat.Message) bool { x, ok := m.(*wechat.Text); return ok && x.Content == "/not a command" }},
		{"/subscribe", func(m wechat.Message) bool { x, ok := m.(*wechat.Subscribe); return ok && x.Scene() == "" }},
		{"/subscribe promo", func(m wechat.Message) bool { x, ok := m.(*wechat.Subscribe); return ok && x.Scene() == "promo" }},
		{"/unsubscribe", func(m wechat.Message) bool { _, ok := m.(*wechat.Unsubscribe); return ok }},
		{"/click HELP", func(m wechat.Message) bool { x, ok := m.(*wechat.Click); return ok && x.EventKey == "HELP" }},
		{"/view https://a.example/", func(m wechat.Message) bool {
			x, ok := m.(*wechat.View)
			return ok && x.EventKey == "https://a.example/"
		}},
		{"/scan promo", func(m wechat.Message) bool { x, ok := m.(*wechat.Scan); return ok && x.EventKey == "promo" }},
		{"/location 39.9 116.4 The Square", func(m wechat.Message) bool {
			x, ok := m.(*wechat.Location)
			return ok && x.LocationX == 39.9 && x.LocationY == 116.4 && x.Label == "The Square"
		}},
		{"/image https://a.example/p.jpg", func(m wechat.Message) bool {
			x, ok := m.(*wechat.Image)
			return ok && x.PicURL == "https://a.example/p.jpg"
		}},
		{"/voice how are you", func(m wechat.Message) bool { x, ok := m.(*wechat.Voice); return ok && x.Recognition == "how are you" }},
		{"/link A good read https://a.example/", func(m wechat.Message) bool {
			x, ok := m.(*wechat.Link)
			return ok && x.Title == "A good read" && x.URL == "https://a.example/"
		}},
		{"/event LOCATION", func(m wechat.Message) bool { return wechat.EventOf(m) == wechat.EventLocation }},
		{"/event scancode_push SCAN_QR", func(m wechat.Message) bool { return wechat.EventKeyOf(m) == "SCAN_QR" }},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			cmd, err := parseSimLine(tt.line)
			if err != nil || cmd.Kind != simSend {
				t.Fatalf("parseSimLine(%q) = %v, %v; want a message", tt.line, cmd.Kind, err)
			}
			body := cmd.Msg.XML("gh_account", "oUser", 1700000000, 7)
			m, err := wechat.ParseMessage(body)
			if err != nil {
				t.Fatalf("ParseMessage(%s) = %v", body, err)
			}
			if !tt.check(m) {
				t.Errorf("parseSimLine(%q) sent %#v", tt.line, m)
			}
		})
	}
	for _, bad := range []string{"", "/nope", "/click", "/click A B", "/location 1", "/location a b", "/location 91 0", "/voice", "/link onlytitle", "/event"} {
		if _, err := parseSimLine(bad); err == nil {
			t.Errorf("parseSimLine(%q) = nil error; want error", bad)
		}
	}
}

func TestSimDecodeReply(t *testing.T) {
	textXML := func(to, from, content string) []byte {
		b, err := wechat.MarshalReply(to, from, 1700000000, &wechat.TextReply{Content: content})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	news := func(n int) []byte {
		var arts []wechat.Article
		for i := range n {
			arts = append(arts, wechat.Article{Title: "T" + string(rune('1'+i)), URL: "https://a.example/" + string(rune('1'+i))})
		}
		b, err := wechat.MarshalReply("oUser", "gh_account", 1700000000, &wechat.NewsReply{Articles: arts})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	safe := simTestCrypter(t)
	seal := func(c *wechat.Crypter, plain []byte) []byte {
		b, err := c.SealReply(simTestToken, plain, "1700000002", "987654")
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	sealed := seal(safe, textXML("oUser", "gh_account", "secret hello"))
	otherApp, _ := wechat.NewCrypter(simTestAESKey, "wxsomeoneelse0000")

	tests := []struct {
		name    string
		safe    bool
		body    []byte
		want    string
		wantErr string
	}{
		{"success", false, []byte("success"), "← (success: no reply)", ""},
		{"empty body", true, nil, "← (success: no reply)", ""},
		{"text", false, textXML("oUser", "gh_account", "Hello"), "← text: Hello", ""},
		{"news, one article", false, news(1), `← news: 1 article: "T1" https://a.example/1`, ""},
		{"news, three articles", false, news(3), "← news: 3 articles:\n1. \"T1\" https://a.example/1\n2. \"T2\" https://a.example/2\n3. \"T3\" https://a.example/3", ""},
		{"encrypted text", true, sealed, "← text: secret hello", ""},
		{"bad MsgSignature", true, []byte(strings.Replace(string(sealed), "<MsgSignature><![CDATA[", "<MsgSignature><![CDATA[0", 1)), "", "MsgSignature"},
		{"sealed for another appid", true, seal(otherApp, textXML("oUser", "gh_account", "x")), "", "another appid"},
		{"plaintext reply in safe mode", true, textXML("oUser", "gh_account", "Hello"), "", "plaintext reply"},
		{"encrypted reply in plaintext mode", false, sealed, "", "encrypted reply"},
		{"wrong addressee", false, textXML("oSomeoneElse", "gh_account", "Hello"), "", "want from"},
		{"not XML", false, []byte("<html>oops"), "", "neither"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			crypter := map[bool]*wechat.Crypter{false: nil, true: safe}[tt.safe]
			res, err := simTestFollower(t, crypter, answering(tt.body)).Send(context.Background(), wechattest.Text("hi"))
			got := Show(res.Reply)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("reading reply %.40q = %v, %v; want error containing %q", tt.body, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("reading reply %.40q = %q, %v; want %q", tt.body, got, err, tt.want)
			}
		})
	}
	f := simTestFollower(t, safe, answering(seal(otherApp, textXML("oUser", "gh_account", "x"))))
	if _, err := f.Send(context.Background(), wechattest.Text("hi")); !errors.Is(err, wechat.ErrAppIDMismatch) {
		t.Errorf("reading a reply for another appid = %v; want ErrAppIDMismatch", err)
	}
}

func TestSimParseScript(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"expectation first", "< hi\n> hi\n", "s.txt:1:"},
		{"unknown line", "> hi\nhello\n", "s.txt:2:"},
		{"bad command", "> hi\n> /teleport\n", "s.txt:2: unknown command"},
		{"interactive only", "> /quit\n", "s.txt:1:"},
		{"retry first", "> /retry\n", "/retry before"},
		{"empty expectation", "> hi\n<!\n", "s.txt:2: empty"},
		{"nothing to send", "# only a comment\n", "no \"> message\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseScript("s.txt", tt.src)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseScript(%q) = %v; want error containing %q", tt.src, err, tt.want)
			}
		})
	}
	steps, err := ParseScript("s.txt", "# hi\n> hello\n< text: hello\n<! bye\n\n> /unsubscribe\n< success\n")
	if err != nil || len(steps) != 2 || len(steps[0].Expect) != 2 || !steps[1].Expect[0].Success || steps[1].Line != 6 {
		t.Errorf("ParseScript(valid) = %+v, %v; want 2 steps (2 and 1 expectations, second on line 6)", steps, err)
	}
}

func TestSimTargetFromConfig(t *testing.T) {
	tests := []struct {
		name    string
		vars    map[string]string
		url     string
		plain   bool
		wantURL string
		wantAES bool
		wantErr bool
	}{
		{"default url", map[string]string{"LISTEN_ADDR": ":8080"}, "", false, "http://127.0.0.1:8080/wechat", false, false},
		{"callback path", map[string]string{"LISTEN_ADDR": "0.0.0.0:9000", "WECHAT_CALLBACK_PATH": "/wx/cb"}, "", false, "http://127.0.0.1:9000/wx/cb", false, false},
		{"flag wins", nil, "http://127.0.0.1:1234/x", false, "http://127.0.0.1:1234/x", false, false},
		{"safe mode", map[string]string{"WECHAT_ENCODING_AES_KEY": simTestAESKey, "WECHAT_APP_ID": simTestAppID}, "", false, "http://127.0.0.1:8080/wechat", true, false},
		{"--plain", map[string]string{"WECHAT_ENCODING_AES_KEY": simTestAESKey, "WECHAT_APP_ID": simTestAppID}, "", true, "http://127.0.0.1:8080/wechat", false, false},
		{"port 0", map[string]string{"LISTEN_ADDR": "127.0.0.1:0"}, "", false, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{"ENV_FILE": config.NoEnvFile, "WECHAT_TOKEN": simTestToken}
			for k, v := range tt.vars {
				vars[k] = v
			}
			cfg, err := config.Load(func(k string) string { return vars[k] }, config.NoEnvFile)
			if err != nil {
				t.Fatal(err)
			}
			got, err := TargetFrom(cfg.ListenAddr, cfg.Accounts[0], tt.url, tt.plain)
			if (err != nil) != tt.wantErr {
				t.Fatalf("TargetFrom(%v) error = %v; want error %v", tt.vars, err, tt.wantErr)
			}
			if got.URL != tt.wantURL || (got.Crypter != nil) != tt.wantAES {
				t.Errorf("TargetFrom(%v) = %q, safe mode %v; want %q, %v", tt.vars, got.URL, got.Crypter != nil, tt.wantURL, tt.wantAES)
			}
		})
	}
}
