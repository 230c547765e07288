package silenceper_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	_ "wxoa/internal/soak" // accepts -soak (see package soak)

	sdkutil "github.com/silenceper/wechat/v2/util"

	"wxoa/wechat"
	"wxoa/wechat/api"
	"wxoa/wechat/silenceper"
	"wxoa/wechat/token"
	"wxoa/wechat/wechattest"
)

// wired is the SDK pointed at a fake WeChat through the Transport, with a
// token manager as its token handle.
type wired struct {
	fake   *wechattest.Server
	tokens *token.Manager
	d      silenceper.Deliverer
}

func newWired(t *testing.T) *wired {
	t.Helper()
	fake := wechattest.NewServer(t)
	cfg := api.Config{BaseURL: fake.URL, AppID: fake.AppID(), AppSecret: wechat.Secret(fake.AppSecret()), HTTP: fake.Client()}
	plain, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m, err := token.NewManager(token.Config{Name: "access_token", Store: token.NewMemoryStore(), Fetcher: plain.AccessTokenFetcher()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	cfg.Tokens, cfg.Refresher = m, m
	calls, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The SDK reads only its package-level client; these tests run one at a
	// time and put it back.
	old := sdkutil.DefaultHTTPClient
	silenceper.Use(calls.HTTPClient())
	t.Cleanup(func() { sdkutil.DefaultHTTPClient = old })
	oa := silenceper.NewOfficialAccount(fake.AppID(), wechat.Secret(fake.AppSecret()))
	return &wired{fake: fake, tokens: m, d: silenceper.Deliverer{OA: oa}}
}

func TestSDKUsesManagedToken(t *testing.T) {
	w := newWired(t)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if err := w.d.Deliver(ctx, "oUser1", &wechat.TextReply{Content: "hi"}); err != nil {
			t.Fatalf("Deliver = %v", err)
		}
	}
	if got := w.fake.TokenCalls(); got != 1 {
		t.Errorf("token fetches = %d; want 1 (the SDK must not fetch its own)", got)
	}
	msgs := w.fake.CustomMessages()
	if len(msgs) != 3 || !strings.Contains(string(msgs[0]), `"content":"hi"`) {
		t.Errorf("custom messages = %s; want 3 texts", msgs)
	}
}

// Late answers are delivered from many goroutines at once: Deliver must
// be safe for that (the race detector is the assertion; the count makes
// sure every call went out).
func TestDeliverConcurrently(t *testing.T) {
	w := newWired(t)
	const n = 8
	errs := make(chan error, n)
	for range n {
		go func() { errs <- w.d.Deliver(context.Background(), "oUser1", &wechat.TextReply{Content: "late"}) }()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("Deliver = %v", err)
		}
	}
	if got := len(w.fake.CustomMessages()); got != n {
		t.Errorf("custom messages = %d; want %d", got, n)
	}
}

// A token invalidated upstream (someone else fetched one): the call gets
// 40001, the Transport compares-and-refreshes with the token it used and
// retries once.
func TestSDKRetriesOnceAfterInvalidToken(t *testing.T) {
	w := newWired(t)
	ctx := context.Background()
	old, err := w.tokens.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.fake.Invalidate(old)
	if err := w.d.Deliver(ctx, "oUser1", &wechat.TextReply{Content: "after 40001"}); err != nil {
		t.Fatalf("Deliver after invalidation = %v", err)
	}
	if got := w.fake.TokenCalls(); got != 2 {
		t.Errorf("token fetches = %d; want 2 (the first, one refresh)", got)
	}
	if got := w.fake.Calls("/cgi-bin/message/custom/send"); got != 2 {
		t.Errorf("custom/send calls = %d; want 2 (rejected, retried)", got)
	}
	now, _ := w.tokens.Token(ctx)
	if now == old || !w.fake.Valid(now) {
		t.Errorf("manager token was not replaced by a valid one")
	}
}

func TestSDKRetriesNeverMoreThanOnce(t *testing.T) {
	w := newWired(t)
	w.fake.FailPath("/cgi-bin/message/custom/send", wechattest.FailCode(40001), -1)
	err := w.d.Deliver(context.Background(), "oUser1", &wechat.TextReply{Content: "x"})
	if !errors.Is(err, wechat.ErrTokenInvalid) {
		t.Fatalf("Deliver = %v; want ErrTokenInvalid", err)
	}
	if got := w.fake.Calls("/cgi-bin/message/custom/send"); got != 2 {
		t.Errorf("custom/send calls = %d; want exactly 2", got)
	}
	if got := w.fake.TokenCalls(); got != 2 {
		t.Errorf("token fetches = %d; want 2", got)
	}
}

func TestSDKErrorsAreTypedAndRedacted(t *testing.T) {
	w := newWired(t)
	w.fake.RejectCustomFor("oGone", 45015)
	err := w.d.Deliver(context.Background(), "oGone", &wechat.TextReply{Content: "x"})
	var apiErr *wechat.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 45015 {
		t.Fatalf("Deliver = %v; want *APIError 45015", err)
	}

	// A transport failure: Go's *url.Error prints the URL the SDK built,
	// which never holds the token (the Transport adds it to its own copy).
	tok, _ := w.tokens.Token(context.Background())
	w.fake.Close()
	err = w.d.Deliver(context.Background(), "oUser1", &wechat.TextReply{Content: "x"})
	if err == nil || strings.Contains(err.Error(), tok) || !strings.Contains(err.Error(), "/cgi-bin/message/custom/send") {
		t.Errorf("Deliver to a dead upstream = %v; want an error naming the endpoint, without the token", err)
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{`Get "https://api.weixin.qq.com/cgi-bin/menu/get?access_token=ABC123": timeout`, `Get "https://api.weixin.qq.com/cgi-bin/menu/get?access_token=[REDACTED]": timeout`},
		{"uri=https://x/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=S3CR3T , statusCode=500", "uri=https://x/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=[REDACTED] , statusCode=500"},
		{"ticket=T&x=1", "ticket=[REDACTED]&x=1"},
		{"nothing here", "nothing here"},
	}
	for _, tt := range tests {
		if got := silenceper.Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestCustomMessage(t *testing.T) {
	tests := []struct {
		reply   wechat.Reply
		want    string
		wantErr bool
	}{
		{&wechat.TextReply{Content: "t"}, `"msgtype":"text"`, false},
		{&wechat.ImageReply{MediaID: "m"}, `"image":{"media_id":"m"}`, false},
		{&wechat.NewsReply{Articles: []wechat.Article{{Title: "a", URL: "https://x"}}}, `"msgtype":"news"`, false},
		{&wechat.TransferCustomerServiceReply{}, "", true},
	}
	for _, tt := range tests {
		m, err := silenceper.CustomerMessage("o1", tt.reply)
		if (err != nil) != tt.wantErr {
			t.Errorf("CustomerMessage(%T) error = %v; want error %v", tt.reply, err, tt.wantErr)
			continue
		}
		if err == nil {
			b, _ := json.Marshal(m)
			if !strings.Contains(string(b), tt.want) || !strings.Contains(string(b), `"touser":"o1"`) {
				t.Errorf("CustomerMessage(%T) = %s; want %s", tt.reply, b, tt.want)
			}
		}
	}
}
