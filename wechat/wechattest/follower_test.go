package wechattest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"wxoa/wechat"
	"wxoa/wechat/wechattest"
)

const (
	testToken  = "followertoken"
	testAESKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	testAppID  = "wxfollower000000"
)

// echoCallback is the smallest callback there is: it opens each push,
// echoes a text message with its MsgId and CreateTime, and answers
// "success" to anything else. seen records the messages it got.
type echoCallback struct {
	crypter *wechat.Crypter
	mu      sync.Mutex
	seen    []wechat.Message
}

func (e *echoCallback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := wechat.ParsePushQuery(r.URL.RawQuery)
	if err := wechat.VerifyPush(testToken, q, time.Now(), 0); err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	body, _ := io.ReadAll(r.Body)
	plain, err := wechat.OpenPush(testToken, e.crypter, q, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	msg, err := wechat.ParseMessage(plain)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	e.mu.Lock()
	e.seen = append(e.seen, msg)
	e.mu.Unlock()
	text, ok := msg.(*wechat.Text)
	if !ok {
		io.WriteString(w, "success")
		return
	}
	h := msg.Head()
	reply, _ := wechat.MarshalReply(h.FromUserName, h.ToUserName, h.CreateTime,
		&wechat.TextReply{Content: fmt.Sprintf("%s #%d @%d", text.Content, text.MsgID, h.CreateTime)})
	if q.Encrypted() {
		reply, _ = e.crypter.SealReply(testToken, reply, q.Timestamp, q.Nonce)
	}
	w.Write(reply)
}

func newTestFollower(t *testing.T, h http.Handler, c *wechat.Crypter) *wechattest.Follower {
	t.Helper()
	ids := int64(41)
	f, err := wechattest.NewFollower(wechattest.FollowerConfig{
		URL: "http://callback.test/wechat", Token: testToken, Crypter: c, OpenID: "oUser", Account: "gh_account",
		Client: wechattest.HandlerClient(h),
		Now:    func() time.Time { return time.Unix(1700000000, 0) },
		MsgID:  func() int64 { ids++; return ids },
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFollowerConversation(t *testing.T) {
	c, err := wechat.NewCrypter(testAESKey, testAppID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		c    *wechat.Crypter
	}{{"plaintext", nil}, {"safe mode", c}} {
		t.Run(tt.name, func(t *testing.T) {
			cb := &echoCallback{crypter: tt.c}
			f := newTestFollower(t, cb, tt.c)
			ctx := context.Background()
			if _, err := f.Retry(ctx); err == nil {
				t.Errorf("Retry before any Send = nil error; want an error")
			}
			steps := []struct {
				send func() (wechattest.Result, error)
				want string // the reply's String; "" for none
			}{
				{func() (wechattest.Result, error) { return f.Send(ctx, wechattest.Text("hi")) }, "text: hi #42 @1700000000"},
				// Same clock second: the Follower moves CreateTime on, so that a second
				// tap is not taken for a retry (events dedup by sender and CreateTime).
				{func() (wechattest.Result, error) { return f.Send(ctx, wechattest.Text("again")) }, "text: again #43 @1700000001"},
				{func() (wechattest.Result, error) { return f.Retry(ctx) }, "text: again #43 @1700000001"},
				{func() (wechattest.Result, error) { return f.Send(ctx, wechattest.Click("HELP")) }, ""},
			}
			for i, s := range steps {
				res, err := s.send()
				got := ""
				if res.Reply != nil {
					got = res.Reply.String()
				}
				if err != nil || got != s.want || res.Status != http.StatusOK {
					t.Errorf("step %d = %d %q, %v; want 200 %q", i+1, res.Status, got, err, s.want)
				}
				if res.Reply != nil && (res.Header.ToUserName != "oUser" || res.Header.FromUserName != "gh_account") {
					t.Errorf("step %d header = %+v; want from gh_account to oUser", i+1, res.Header)
				}
			}
			if len(cb.seen) != 4 || wechat.EventKeyOf(cb.seen[3]) != "HELP" || cb.seen[3].Head().CreateTime != 1700000002 {
				t.Errorf("callback saw %d messages, the last %#v; want 4, a click at 1700000002", len(cb.seen), cb.seen[len(cb.seen)-1])
			}
		})
	}
}

func TestFollowerErrors(t *testing.T) {
	answer := func(status int, body string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			io.WriteString(w, body)
		})
	}
	misaddressed, _ := wechat.MarshalReply("oSomeoneElse", "gh_account", 1, &wechat.TextReply{Content: "x"})
	tests := []struct {
		name    string
		h       http.Handler
		status  int
		wantErr string
	}{
		{"refused", answer(http.StatusForbidden, "invalid signature\n"), 403, "HTTP 403 Forbidden: invalid signature"},
		{"server error", answer(http.StatusInternalServerError, ""), 500, "HTTP 500 Internal Server Error"},
		{"not a reply", answer(http.StatusOK, "<html>"), 200, "neither"},
		{"to another user", answer(http.StatusOK, string(misaddressed)), 200, `reply goes from "gh_account" to "oSomeoneElse"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := newTestFollower(t, tt.h, nil).Send(context.Background(), wechattest.Text("hi"))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Send = %v; want an error containing %q", err, tt.wantErr)
			}
			if res.Status != tt.status || res.Reply != nil {
				t.Errorf("Send result = %d, %v; want %d and no reply", res.Status, res.Reply, tt.status)
			}
			var he *wechattest.HTTPError
			if errors.As(err, &he) != (tt.status != http.StatusOK) {
				t.Errorf("Send error %v: *HTTPError = %v; want %v", err, errors.As(err, &he), tt.status != http.StatusOK)
			}
		})
	}
}

// A failed connection names the URL without its signed query.
func TestFollowerTransportErrorHidesQuery(t *testing.T) {
	f, err := wechattest.NewFollower(wechattest.FollowerConfig{URL: "http://127.0.0.1:1/wechat", Token: testToken,
		OpenID: "oUser", Account: "gh_account", Client: &http.Client{Timeout: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Send(context.Background(), wechattest.Text("hi"))
	if err == nil || !strings.HasPrefix(err.Error(), "POST http://127.0.0.1:1/wechat: ") || strings.Contains(err.Error(), "signature") {
		t.Errorf("Send to a closed port = %v; want the URL without its query", err)
	}
	for _, bad := range []string{"", "127.0.0.1:8080/wechat", "ftp://x/wechat", "http:///wechat"} {
		if _, err := wechattest.NewFollower(wechattest.FollowerConfig{URL: bad}); err == nil {
			t.Errorf("NewFollower(URL %q) = nil error; want an error", bad)
		}
	}
}

func TestHandlerClient(t *testing.T) {
	var got *http.Request
	var body string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		w.Header().Set("X-Test", "1")
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "short and stout")
	})
	resp, err := wechattest.HandlerClient(h).Post("http://any.test/p?a=1", "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusTeapot || string(b) != "short and stout" || resp.Header.Get("X-Test") != "1" {
		t.Errorf("response = %d %q %v; want the handler's", resp.StatusCode, b, resp.Header)
	}
	if got.RequestURI != "/p?a=1" || got.RemoteAddr == "" || got.Method != "POST" || body != "hello" || got.Host != "any.test" {
		t.Errorf("handler saw %s %q from %q host %q body %q; want POST /p?a=1 with the body", got.Method, got.RequestURI, got.RemoteAddr, got.Host, body)
	}
}
