package handlers

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"wxoa/reply/replytest"
	"wxoa/reply/rules"
	"wxoa/wechat"
	"wxoa/wechat/wechattest"
)

func TestVerifyURL(t *testing.T) {
	h := newTestRouter(t, routerOpts{skew: 5 * time.Minute})
	good := signedQuery(fixedNow.Unix(), "n1")
	good.Set("echostr", "echo12345")
	with := func(k, v string) string {
		q := url.Values{}
		for kk, vv := range good {
			q[kk] = vv
		}
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		return q.Encode()
	}
	stale := signedQuery(fixedNow.Add(-time.Hour).Unix(), "n1")
	stale.Set("echostr", "x")
	tests := []struct {
		name   string
		query  string
		status int
		body   string
	}{
		{"valid", good.Encode(), 200, "echo12345"},
		{"wrong signature", with("signature", strings.Repeat("0", 40)), 403, ""},
		{"wrong nonce", with("nonce", "other"), 403, ""},
		{"missing signature", with("signature", ""), 400, ""},
		{"missing timestamp", with("timestamp", ""), 400, ""},
		{"missing nonce", with("nonce", ""), 400, ""},
		{"missing echostr", with("echostr", ""), 400, ""},
		{"timestamp not a number", with("timestamp", "abc"), 400, ""},
		{"stale timestamp", stale.Encode(), 403, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(h, http.MethodGet, testPath+"?"+tt.query, nil)
			if rec.Code != tt.status {
				t.Fatalf("GET %s = %d %q; want %d", tt.query, rec.Code, rec.Body, tt.status)
			}
			if tt.body != "" {
				if got := rec.Body.String(); got != tt.body {
					t.Errorf("body = %q; want %q", got, tt.body)
				}
				if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
					t.Errorf("Content-Type = %q; want text/plain", ct)
				}
			}
		})
	}
}

func TestPostPlaintext(t *testing.T) {
	h := newTestRouter(t, routerOpts{})
	res, err := newFollower(t, h, false).Send(context.Background(), wechattest.Text("hello"))
	if res.Status != 200 {
		t.Fatalf("POST = %d %q; want 200", res.Status, res.Body)
	}
	want := "<xml><ToUserName><![CDATA[oUser0001]]></ToUserName><FromUserName><![CDATA[gh_123456789abc]]></FromUserName>" +
		"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello]]></Content></xml>"
	if got := string(res.Body); got != want {
		t.Errorf("reply = %s\nwant    %s", got, want)
	}
	if err != nil || res.Reply.String() != "text: hello" {
		t.Errorf("the follower read %v, %v; want text: hello", res.Reply, err)
	}
}

func TestPostSafeMode(t *testing.T) {
	h := newTestRouter(t, routerOpts{crypter: true})
	res, err := newFollower(t, h, true).Send(context.Background(), wechattest.Text("你好 safe"))
	if res.Status != 200 {
		t.Fatalf("POST = %d %q; want 200", res.Status, res.Body)
	}
	if err != nil || res.Reply.String() != "text: 你好 safe" {
		t.Errorf("the follower read %v, %v; want the echoed text", res.Reply, err)
	}
	body := string(res.Body)
	env, err := wechat.ParseEnvelope(res.Body)
	if err != nil {
		t.Fatalf("reply is not an envelope: %v\n%s", err, body)
	}
	for _, tag := range []string{"<Encrypt>", "<MsgSignature>", "<TimeStamp>", "<Nonce>"} {
		if !strings.Contains(body, tag) {
			t.Errorf("reply lacks %s: %s", tag, body)
		}
	}
	ts := between(body, "<TimeStamp>", "</TimeStamp>")
	nonce := between(body, "<Nonce><![CDATA[", "]]></Nonce>")
	sig := between(body, "<MsgSignature><![CDATA[", "]]></MsgSignature>")
	if !wechat.VerifyMsgSignature(testToken, ts, nonce, env.Encrypt, sig) {
		t.Errorf("reply MsgSignature %q does not verify (ts %q nonce %q)", sig, ts, nonce)
	}
	c, _ := wechat.NewCrypter(testAESKey, testAppID)
	plain, err := c.Decrypt(env.Encrypt)
	if err != nil {
		t.Fatalf("Decrypt(reply) = %v", err)
	}
	if !bytes.Contains(plain, []byte("<Content><![CDATA[你好 safe]]></Content>")) {
		t.Errorf("decrypted reply = %s; want the echoed text", plain)
	}
}

// In compatible mode WeChat sends plaintext fields and the Encrypt field
// side by side; the encrypted part is authoritative.
func TestPostCompatibleMode(t *testing.T) {
	h := newTestRouter(t, routerOpts{crypter: true})
	q, safe, err := wechat.SealPush(testToken, testCrypter(t), testAccount, textMsg(3, "compat"), strconv.FormatInt(fixedNow.Unix(), 10), "n3")
	env, err2 := wechat.ParseEnvelope(safe)
	if err != nil || err2 != nil {
		t.Fatal(err, err2)
	}
	body := bytes.Replace(textMsg(3, "compat"), []byte("</xml>"), append(wechat.AppendCDATAElem(nil, "Encrypt", env.Encrypt), "</xml>"...), 1)
	rec := serve(h, http.MethodPost, testPath+"?"+q.Encode(), body)
	if rec.Code != 200 || !bytes.Contains(rec.Body.Bytes(), []byte("<Encrypt>")) {
		t.Fatalf("POST compatible = %d %s; want 200 with an encrypted reply", rec.Code, rec.Body)
	}
}

func TestPostRejects(t *testing.T) {
	h := newTestRouter(t, routerOpts{crypter: true, skew: 5 * time.Minute})
	plainOnly := newTestRouter(t, routerOpts{})
	c, _ := wechat.NewCrypter(testAESKey, testAppID)
	foreign, _ := wechat.NewCrypter(testAESKey, "wx0000000000000000")
	foreignEnc, _ := foreign.Encrypt(textMsg(4, "x"))
	goodEnc, _ := c.Encrypt(textMsg(4, "x"))
	tests := []struct {
		name   string
		do     func() (int, string)
		status int
	}{
		{"unsigned", func() (int, string) { r := serve(h, "POST", testPath, textMsg(1, "x")); return r.Code, r.Body.String() }, 400},
		{"plaintext post with a key configured", func() (int, string) { r := postPlain(h, textMsg(1, "forged")); return r.Code, r.Body.String() }, 400},
		{"bad signature", func() (int, string) {
			q := signedQuery(fixedNow.Unix(), "n")
			q.Set("signature", strings.Repeat("a", 40))
			r := serve(h, "POST", testPath+"?"+q.Encode(), textMsg(1, "x"))
			return r.Code, r.Body.String()
		}, 403},
		{"stale timestamp", func() (int, string) {
			q := signedQuery(fixedNow.Add(-10*time.Minute).Unix(), "n")
			r := serve(h, "POST", testPath+"?"+q.Encode(), textMsg(1, "x"))
			return r.Code, r.Body.String()
		}, 403},
		{"future timestamp", func() (int, string) {
			q := signedQuery(fixedNow.Add(10*time.Minute).Unix(), "n")
			r := serve(h, "POST", testPath+"?"+q.Encode(), textMsg(1, "x"))
			return r.Code, r.Body.String()
		}, 403},
		{"body too large", func() (int, string) {
			r := postPlain(plainOnly, bytes.Repeat([]byte("x"), MaxBody+1))
			return r.Code, r.Body.String()
		}, 413},
		{"malformed xml", func() (int, string) { r := postPlain(plainOnly, []byte("<xml><oops")); return r.Code, r.Body.String() }, 400},
		{"not xml", func() (int, string) { r := postPlain(plainOnly, []byte("not xml")); return r.Code, r.Body.String() }, 400},
		{"empty body", func() (int, string) { r := postPlain(plainOnly, nil); return r.Code, r.Body.String() }, 400},
		{"bad base64", func() (int, string) { r := postEnvelope(h, "!!!notbase64!!!", ""); return r.Code, r.Body.String() }, 400},
		{"bad padding", func() (int, string) {
			r := postEnvelope(h, goodEnc[:len(goodEnc)-24]+"AAAAAAAAAAAAAAAAAAAAAA==", "")
			return r.Code, r.Body.String()
		}, 400},
		{"foreign appid", func() (int, string) { r := postEnvelope(h, foreignEnc, ""); return r.Code, r.Body.String() }, 400},
		{"bad msg_signature", func() (int, string) {
			r := postEnvelope(h, goodEnc, strings.Repeat("b", 40))
			return r.Code, r.Body.String()
		}, 403},
		{"envelope without Encrypt", func() (int, string) {
			q := signedQuery(fixedNow.Unix(), "n")
			q.Set("encrypt_type", "aes")
			q.Set("msg_signature", "x")
			r := serve(h, "POST", testPath+"?"+q.Encode(), []byte("<xml><ToUserName>a</ToUserName></xml>"))
			return r.Code, r.Body.String()
		}, 400},
		{"safe mode not configured", func() (int, string) {
			r := postEnvelope(plainOnly, goodEnc, "")
			return r.Code, r.Body.String()
		}, 400},
		{"wrong method", func() (int, string) { r := serve(h, "PUT", testPath, nil); return r.Code, r.Body.String() }, 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := tt.do()
			if code != tt.status {
				t.Errorf("status = %d (%q); want %d", code, body, tt.status)
			}
			if strings.TrimSpace(body) == "" {
				t.Errorf("empty body; want a reason")
			}
		})
	}
	// The server keeps serving after all of them.
	if rec := postSafe(t, h, textMsg(99, "still here")); rec.Code != 200 {
		t.Fatalf("after bad input: POST = %d; want 200", rec.Code)
	}
}

// Every message type in wechat/testdata parses and is answered 200.
func TestPostEveryMessageType(t *testing.T) {
	files, err := filepath.Glob("../wechat/testdata/messages/*.xml")
	if err != nil || len(files) < 20 {
		t.Fatalf("message samples: %v (%d files)", err, len(files))
	}
	stub := &replytest.Matcher{MatchFn: func(msg wechat.Message) (rules.Result, error) {
		return rules.Result{Rule: "all", Reply: &wechat.TextReply{Content: "got " + string(msg.Head().MsgType)}}, nil
	}}
	h := newTestRouter(t, routerOpts{rules: stub})
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			before := stub.Calls()
			rec := postPlain(h, body)
			if rec.Code != 200 {
				t.Fatalf("POST %s = %d %q; want 200", f, rec.Code, rec.Body)
			}
			unknown := strings.HasPrefix(filepath.Base(f), "unknown")
			if unknown {
				if rec.Body.String() != "success" || stub.Calls() != before {
					t.Errorf("unknown type: reply %q, rules called %d times; want success and no rule", rec.Body, stub.Calls()-before)
				}
				return
			}
			if !strings.Contains(rec.Body.String(), "<Content><![CDATA[got ") {
				t.Errorf("reply = %q; want the rule's text", rec.Body)
			}
		})
	}
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	j := strings.Index(s, b)
	if j < 0 {
		return ""
	}
	return s[:j]
}

// Bad input leaves nothing running behind it.
func TestBadInputLeaksNoGoroutines(t *testing.T) {
	h := newTestRouter(t, routerOpts{crypter: true, skew: time.Minute})
	postPlain(h, textMsg(1, "warm up"))
	before := runtime.NumGoroutine()
	for i := 0; i < 100; i++ {
		postPlain(h, []byte("<xml><oops"))
		postPlain(h, bytes.Repeat([]byte("<"), MaxBody+10))
		postEnvelope(h, "!!!", "")
		serve(h, "POST", testPath+"?signature=x&timestamp=1&nonce=n", textMsg(2, "x"))
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("goroutines: %d before, %d after 400 bad requests", before, after)
	}
}
