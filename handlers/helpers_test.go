package handlers

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"
	"wxoa/internal/accesslog"

	"wxoa/reply"
	"wxoa/reply/replytest"
	"wxoa/wechat"
	"wxoa/wechat/wechattest"
)

const (
	testToken  = "testtoken"
	testAESKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	testAppID  = "wxb11529c136998cb6"
	testPath   = "/wechat"

	testAccount = "gh_123456789abc" // the account's original id
	testOpenID  = "oUser0001"       // the user who writes
)

// fixedNow is the clock of every router under test.
var fixedNow = time.Unix(1700000000, 0)

// silent is the Answerer of routers whose tests post no callbacks.
type silent struct{}

func (silent) Answer(context.Context, wechat.Message) []byte { return wechat.SuccessReply }

type routerOpts struct {
	rules     reply.Matcher // nil: echo text messages
	crypter   bool
	skew      time.Duration
	forwarder *reply.HTTPForwarder
	logs      io.Writer
	obs       testObserver // nil: none
}

// testObserver counts requests and the account's callbacks.
type testObserver interface {
	Observer
	CallbackObserver
}

// testAcct is the account of most router tests: an Official Account with
// appid wxapp and secret appsecret, whose callback at testPath is signed
// with testToken and answered by silent; edit adjusts it.
func testAcct(edit ...func(*Account)) *Account {
	a := &Account{Name: "oa", Kind: OfficialAccount, AppID: "wxapp", Secret: "appsecret",
		Callback: &Callback{Path: testPath, Token: testToken, Answerer: silent{}}}
	for _, f := range edit {
		f(a)
	}
	return a
}

// accounts is the set of as, or the test fails.
func accounts(tb testing.TB, as ...*Account) *Accounts {
	tb.Helper()
	s, err := NewAccounts(as...)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func newTestRouter(tb testing.TB, o routerOpts) http.Handler {
	tb.Helper()
	if o.rules == nil {
		o.rules = &replytest.Matcher{}
	}
	fast := o.logs == nil
	if fast {
		o.logs = io.Discard
	}
	log := slog.New(slog.NewTextHandler(o.logs, nil))
	now := func() time.Time { return fixedNow }
	acct := testAcct()
	d := Deps{Logger: log, Now: now, MaxClockSkew: o.skew}
	if fast {
		// As serve writes it; a test reading the lines has them from the
		// handler, whose mutex makes its writer safe to share.
		d.AccessLog = accesslog.New(log.Handler(), o.logs, accesslog.Text)
	}
	if o.obs != nil {
		d.Observer, acct.Callback.Observer = o.obs, o.obs
	}
	if o.crypter {
		acct.Callback.Crypter = testCrypter(tb)
	}
	cfg := reply.Config{Rules: o.rules, MaxClockSkew: o.skew, Now: now, Logger: log}
	if o.forwarder != nil { // a nil *HTTPForwarder in an interface would not be nil
		cfg.Forwarder, d.Forwards = o.forwarder, o.forwarder
	}
	p, err := reply.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	acct.Callback.Answerer = p
	d.Accounts = accounts(tb, acct)
	h, err := NewRouter(d)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// signedQuery returns the query WeChat sends for a plaintext POST.
func signedQuery(ts int64, nonce string) url.Values {
	q, _, _ := wechat.SealPush(testToken, nil, testAccount, nil, strconv.FormatInt(ts, 10), nonce)
	q.Set("openid", testOpenID)
	return q
}

func serve(h http.Handler, method, target string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	req.Header.Set("Content-Type", "text/xml")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// push posts body as WeChat would at fixedNow: signed and, with c set,
// encrypted in safe mode.
func push(h http.Handler, c *wechat.Crypter, nonce string, body []byte) *httptest.ResponseRecorder {
	q, sealed, err := wechat.SealPush(testToken, c, testAccount, body, strconv.FormatInt(fixedNow.Unix(), 10), nonce)
	if err != nil {
		panic(err) // only a failing crypto/rand makes SealPush fail
	}
	q.Set("openid", testOpenID)
	return serve(h, http.MethodPost, testPath+"?"+q.Encode(), sealed)
}

func postPlain(h http.Handler, body []byte) *httptest.ResponseRecorder {
	return push(h, nil, "nonce1", body)
}

// postSafe encrypts body and posts it in safe mode, as WeChat does.
func postSafe(tb testing.TB, h http.Handler, body []byte) *httptest.ResponseRecorder {
	tb.Helper()
	return push(h, testCrypter(tb), "nonce2", body)
}

func testCrypter(tb testing.TB) *wechat.Crypter {
	tb.Helper()
	c, err := wechat.NewCrypter(testAESKey, testAppID)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// postEnvelope posts a hand-made safe-mode envelope around enc, with
// msgSig as its msg_signature ("": the right one): for ciphertexts and
// signatures WeChat would never send.
func postEnvelope(h http.Handler, enc, msgSig string) *httptest.ResponseRecorder {
	q := signedQuery(fixedNow.Unix(), "nonce2")
	if msgSig == "" {
		msgSig = wechat.Sign(testToken, q.Get("timestamp"), q.Get("nonce"), enc)
	}
	q.Set("encrypt_type", "aes")
	q.Set("msg_signature", msgSig)
	env := []byte("<xml><ToUserName><![CDATA[gh_123456789abc]]></ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>")
	return serve(h, http.MethodPost, testPath+"?"+q.Encode(), env)
}

// textMsg is a text message from testOpenID at fixedNow.
func textMsg(msgID int64, content string) []byte {
	return wechattest.Text(content).XML(testAccount, testOpenID, fixedNow.Unix(), msgID)
}

// newFollower is a simulated user talking to h in-process at fixedNow, in
// safe mode when safe is set.
func newFollower(tb testing.TB, h http.Handler, safe bool) *wechattest.Follower {
	tb.Helper()
	cfg := wechattest.FollowerConfig{URL: "http://wxoa.test" + testPath, Token: testToken, OpenID: testOpenID,
		Account: testAccount, Client: wechattest.HandlerClient(h), Now: func() time.Time { return fixedNow }}
	if safe {
		cfg.Crypter = testCrypter(tb)
	}
	f, err := wechattest.NewFollower(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// rejections is an Observer that keeps the reasons of refused pushes, for
// tests that serve one request at a time.
type rejections struct{ reasons []string }

func (*rejections) Request(string, string, int, time.Duration) {}
func (*rejections) CallbackMessage(wechat.Message, string)     {}
func (r *rejections) CallbackRejected(reason string)           { r.reasons = append(r.reasons, reason) }
