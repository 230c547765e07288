package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wxoa/reply"
	"wxoa/wechat"
	"wxoa/wechat/api"
	"wxoa/wechat/wechattest"
)

// The server hands each account's Client to the forwarder as its Deliverer.
var _ reply.Deliverer = (*api.Client)(nil)

// Deliver sends a reply as the account, with the account's token: a
// customer-service message for Official Accounts and Mini Programs, an
// application message for WeCom.
func TestDeliver(t *testing.T) {
	news := &wechat.NewsReply{Articles: []wechat.Article{
		{Title: "A & B", Description: "d", PicURL: "https://example.com/p.png", URL: "https://example.com/a?x=1&y=2"},
		{Title: "second", URL: "https://example.com/b"},
	}}
	tests := []struct {
		name  string
		wecom bool
		reply wechat.Reply
		want  string // the message as the fake received it; "": an error
	}{
		{"text", false, &wechat.TextReply{Content: "hi <b>&</b>"},
			`{"msgtype":"text","text":{"content":"hi <b>&</b>"},"touser":"oUser"}`},
		{"wecom text", true, &wechat.TextReply{Content: "hi <b>&</b>"},
			`{"touser":"zhangsan","msgtype":"text","agentid":1000002,"text":{"content":"hi <b>&</b>"}}`},
		{"wecom image", true, &wechat.ImageReply{MediaID: "M1"},
			`{"touser":"zhangsan","msgtype":"image","agentid":1000002,"image":{"media_id":"M1"}}`},
		{"wecom voice", true, &wechat.VoiceReply{MediaID: "M2"},
			`{"touser":"zhangsan","msgtype":"voice","agentid":1000002,"voice":{"media_id":"M2"}}`},
		{"wecom video", true, &wechat.VideoReply{MediaID: "M3", Title: "t", Description: "d"},
			`{"touser":"zhangsan","msgtype":"video","agentid":1000002,"video":{"media_id":"M3","title":"t","description":"d"}}`},
		{"wecom news", true, news,
			`{"touser":"zhangsan","msgtype":"news","agentid":1000002,"news":{"articles":[` +
				`{"title":"A & B","description":"d","url":"https://example.com/a?x=1&y=2","picurl":"https://example.com/p.png"},` +
				`{"title":"second","url":"https://example.com/b"}]}}`},
		{"wecom music", true, &wechat.MusicReply{Title: "t", MusicURL: "https://example.com/m.mp3"}, ""},
		{"wecom nil", true, nil, ""},
		{"transfer", false, &wechat.TransferCustomerServiceReply{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := wechattest.NewServer(t)
			a, to := s.AddApp("wxmini000000001", "minisecret"), "oUser"
			if tt.wecom {
				a, to = s.AddWeComApp("wwcorp0001", "1000002", "hrsecret"), "zhangsan"
			}
			c, _ := managed(t, s, a)
			err := c.Deliver(t.Context(), to, tt.reply)
			msgs := a.Messages()
			if tt.want == "" {
				if !errors.Is(err, wechat.ErrInvalidReply) || len(msgs) != 0 {
					t.Fatalf("Deliver() = %v with %d messages sent; want wechat.ErrInvalidReply and none", err, len(msgs))
				}
				return
			}
			if err != nil || len(msgs) != 1 {
				t.Fatalf("Deliver() = %v with %d messages; want nil and 1", err, len(msgs))
			}
			if string(msgs[0]) != tt.want {
				t.Errorf("message sent = %s\nwant %s", msgs[0], tt.want)
			}
			if len(s.DefaultApp().Messages()) != 0 {
				t.Errorf("the default app got a message; want only the account's")
			}
		})
	}
}

// A token rejected on the send is refreshed and the send made once more;
// a send that may have gone out (a 5xx, a timeout) is never repeated.
func TestDeliverRetries(t *testing.T) {
	tests := []struct {
		name      string
		wecom     bool
		breakIt   func(s *wechattest.Server, a *wechattest.App, tok string, path string)
		wantErr   bool
		wantSends int64 // calls to the send endpoint
		wantMsgs  int
		wantFetch int64
	}{
		{"token retired", false, func(_ *wechattest.Server, a *wechattest.App, _, _ string) { a.FetchElsewhere() }, false, 2, 1, 2},
		{"wecom token revoked", true, func(s *wechattest.Server, _ *wechattest.App, tok, _ string) { s.Invalidate(tok) }, false, 2, 1, 2},
		{"busy once", true, func(_ *wechattest.Server, a *wechattest.App, _, path string) {
			a.FailPath(path, wechattest.FailBusy, 1)
		}, false, 2, 1, 1},
		{"502", false, func(_ *wechattest.Server, a *wechattest.App, _, path string) {
			a.FailPath(path, wechattest.FailServerError, -1)
		}, true, 1, 0, 1},
		{"hang", true, func(_ *wechattest.Server, a *wechattest.App, _, path string) {
			a.FailPath(path, wechattest.FailHang, -1)
		}, true, 1, 0, 1},
		{"wecom recipient refused", true, func(_ *wechattest.Server, a *wechattest.App, _, _ string) { a.RejectCustomFor("zhangsan", 81013) }, true, 1, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := wechattest.NewServer(t)
			a, to, path := s.AddApp("wxoa0000000001", "oasecret"), "oUser", "/cgi-bin/message/custom/send"
			if tt.wecom {
				a, to, path = s.AddWeComApp("wwcorp0001", "1000002", "hrsecret"), "zhangsan", "/cgi-bin/message/send"
			}
			c, m := managed(t, s, a)
			tok, err := m.Token(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			tt.breakIt(s, a, tok, path)
			ctx := t.Context()
			if tt.name == "hang" {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, 300*time.Millisecond)
				defer cancel()
			}
			err = c.Deliver(ctx, to, &wechat.TextReply{Content: "late answer"})
			if (err != nil) != tt.wantErr {
				t.Fatalf("Deliver() = %v; want error %t", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), tok) {
				t.Errorf("Deliver() = %q; want no access_token in it", err)
			}
			if got := a.Calls(path); got != tt.wantSends {
				t.Errorf("Calls(%s) = %d; want %d", path, got, tt.wantSends)
			}
			if got := len(a.Messages()); got != tt.wantMsgs {
				t.Errorf("messages = %d; want %d", got, tt.wantMsgs)
			}
			if got := a.TokenCalls(); got != tt.wantFetch {
				t.Errorf("TokenCalls() = %d; want %d", got, tt.wantFetch)
			}
		})
	}
}

// WeCom answers errcode 0 and names the recipients it skipped: for one
// recipient that is a message not delivered.
func TestDeliverWeComSkippedRecipient(t *testing.T) {
	hs := newJSONServer(t, map[string]any{"errcode": 0, "errmsg": "ok", "invaliduser": "zhangsan"})
	c, err := api.New(api.Config{BaseURL: hs, Platform: wechat.PlatformWeCom, AgentID: "1000002",
		HTTP: &http.Client{Timeout: time.Second}, Tokens: sourceOf(ptr("T0K3N"))})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Deliver(t.Context(), "zhangsan", &wechat.TextReply{Content: "x"})
	if err == nil || !strings.Contains(err.Error(), "invaliduser") || strings.Contains(err.Error(), "zhangsan") {
		t.Errorf("Deliver() = %v; want an error naming invaliduser, not the user", err)
	}
}

// newJSONServer answers every request with v, as JSON.
func newJSONServer(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	}))
	t.Cleanup(hs.Close)
	return hs.URL
}
