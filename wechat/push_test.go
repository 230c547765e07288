package wechat

import (
	"bytes"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

const pushPlain = `<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oUser]]></FromUserName>` +
	`<CreateTime>1409304348</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[a]]]]><![CDATA[>b]]></Content><MsgId>7</MsgId></xml>`

// pushQuery turns SealPush's url.Values into what a callback parses.
func pushQuery(q url.Values) PushQuery { return ParsePushQuery(q.Encode()) }

// compatible turns a safe-mode envelope into the compatible-mode body: the
// plaintext fields and the ciphertext side by side.
func compatible(t *testing.T, plain, envelope []byte) []byte {
	t.Helper()
	env, err := ParseEnvelope(envelope)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Replace(plain, []byte("</xml>"), append(AppendCDATAElem(nil, "Encrypt", env.Encrypt), "</xml>"...), 1)
}

func TestOpenPushOfSealPush(t *testing.T) {
	c := mustCrypter(t, sampleKey, sampleAppID)
	tests := []struct {
		name   string
		c      *Crypter
		compat bool
	}{
		{"plaintext", nil, false},
		{"compatible", c, true},
		{"safe", c, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, body, err := SealPush(sampleToken, tt.c, "gh_1", []byte(pushPlain), sampleTimestamp, sampleNonce)
			if err != nil {
				t.Fatalf("SealPush = %v", err)
			}
			if tt.compat {
				body = compatible(t, []byte(pushPlain), body)
			}
			pq := pushQuery(q)
			if err := VerifyPush(sampleToken, pq, time.Unix(1409304348, 0), time.Minute); err != nil {
				t.Errorf("VerifyPush(SealPush query) = %v; want nil", err)
			}
			if pq.Encrypted() != (tt.c != nil) {
				t.Errorf("SealPush query %v: encrypted = %v; want %v", q, pq.Encrypted(), tt.c != nil)
			}
			got, err := OpenPush(sampleToken, tt.c, pq, body)
			if err != nil || string(got) != pushPlain {
				t.Errorf("OpenPush(SealPush(...)) = %q, %v; want the message", got, err)
			}
			if m, err := ParseMessage(got); err != nil || m.(*Text).Content != "a]]>b" {
				t.Errorf("ParseMessage(OpenPush(...)) = %#v, %v", m, err)
			}
		})
	}
}

func TestSealPushWire(t *testing.T) {
	q, body, err := SealPush(sampleToken, nil, "gh_1", []byte(pushPlain), sampleTimestamp, sampleNonce)
	if err != nil || q.Get("signature") != sampleSignature || len(q) != 3 || string(body) != pushPlain {
		t.Errorf("SealPush(plaintext) = %v, %q, %v; want signature %s and the body as is", q, body, err, sampleSignature)
	}
	c := mustCrypter(t, sampleKey, sampleAppID)
	q, body, err = SealPush(sampleToken, c, "gh_1", []byte(pushPlain), sampleTimestamp, sampleNonce)
	if err != nil {
		t.Fatal(err)
	}
	env, err := ParseEnvelope(body)
	if err != nil || env.ToUserName != "gh_1" || !strings.HasPrefix(string(body), "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Encrypt><![CDATA[") {
		t.Errorf("SealPush(safe) body = %s, %v; want the envelope to gh_1", body, err)
	}
	if q.Get("encrypt_type") != "aes" || !VerifyMsgSignature(sampleToken, sampleTimestamp, sampleNonce, env.Encrypt, q.Get("msg_signature")) {
		t.Errorf("SealPush(safe) query = %v; want encrypt_type=aes and a msg_signature over the ciphertext", q)
	}
}

func TestVerifyPush(t *testing.T) {
	now := time.Unix(1409304348, 0)
	good := PushQuery{Signature: sampleSignature, Timestamp: sampleTimestamp, Nonce: sampleNonce}
	with := func(f func(*PushQuery)) PushQuery { q := good; f(&q); return q }
	tests := []struct {
		name string
		q    PushQuery
		now  time.Time
		skew time.Duration
		want error
	}{
		{"valid", good, now, time.Minute, nil},
		{"no skew check", good, now.Add(time.Hour), 0, nil},
		{"no signature", with(func(q *PushQuery) { q.Signature = "" }), now, 0, ErrMissingSignature},
		{"no timestamp", with(func(q *PushQuery) { q.Timestamp = "" }), now, 0, ErrMissingSignature},
		{"no nonce", with(func(q *PushQuery) { q.Nonce = "" }), now, 0, ErrMissingSignature},
		{"timestamp not a number", with(func(q *PushQuery) { q.Timestamp = "x1" }), now, 0, ErrBadTimestamp},
		{"old", good, now.Add(2 * time.Minute), time.Minute, ErrClockSkew},
		{"from the future", good, now.Add(-2 * time.Minute), time.Minute, ErrClockSkew},
		{"wrong nonce", with(func(q *PushQuery) { q.Nonce = "yyyyyy" }), now, 0, ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := VerifyPush(sampleToken, tt.q, tt.now, tt.skew); err != tt.want {
				t.Errorf("VerifyPush(%+v) = %v; want %v", tt.q, err, tt.want)
			}
		})
	}
}

func TestOpenPushRefuses(t *testing.T) {
	c := mustCrypter(t, sampleKey, sampleAppID)
	other := mustCrypter(t, sampleKey, "wx0000000000000000")
	seal := func(c *Crypter) (PushQuery, []byte) {
		q, body, err := SealPush(sampleToken, c, "gh_1", []byte(pushPlain), sampleTimestamp, sampleNonce)
		if err != nil {
			t.Fatal(err)
		}
		return pushQuery(q), body
	}
	safeQ, safeBody := seal(c)
	foreignQ, foreignBody := seal(other)
	plainQ, plainBody := seal(nil)
	noSig := safeQ
	noSig.MsgSignature = ""
	badSig := safeQ
	badSig.MsgSignature = strings.Repeat("0", 40)
	tests := []struct {
		name string
		c    *Crypter
		q    PushQuery
		body []byte
		want []error // each must match
	}{
		{"plaintext with a key", c, plainQ, plainBody, []error{ErrPlaintextRefused}},
		{"encrypted without a key", nil, safeQ, safeBody, []error{ErrNoKey}},
		{"no msg_signature", c, noSig, safeBody, []error{ErrMissingMsgSignature}},
		{"no envelope", c, safeQ, []byte("<xml><ToUserName>a</ToUserName></xml>"), []error{ErrMalformedMessage}},
		{"bad msg_signature", c, badSig, safeBody, []error{ErrBadMsgSignature}},
		{"another appid", c, foreignQ, foreignBody, []error{ErrDecrypt, ErrAppIDMismatch}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := OpenPush(sampleToken, tt.c, tt.q, tt.body)
			for _, want := range tt.want {
				if !errors.Is(err, want) {
					t.Errorf("OpenPush = %q, %v; want an error matching %v", got, err, want)
				}
			}
		})
	}
	// The detail's text alone: the caller says what failed around it.
	if _, err := OpenPush(sampleToken, c, foreignQ, foreignBody); err == nil || err.Error() != ErrAppIDMismatch.Error() {
		t.Errorf("OpenPush(another appid) error text = %v; want %q", err, ErrAppIDMismatch)
	}
}

func TestOpenPushPlaintextAllocatesNothing(t *testing.T) {
	q := PushQuery{Signature: sampleSignature, Timestamp: sampleTimestamp, Nonce: sampleNonce}
	body := []byte(pushPlain)
	now := time.Unix(1409304348, 0)
	allocs := testing.AllocsPerRun(100, func() {
		if VerifyPush(sampleToken, q, now, time.Minute) != nil {
			t.Fatal("VerifyPush failed")
		}
		if _, err := OpenPush(sampleToken, nil, q, body); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("VerifyPush + OpenPush(plaintext) = %v allocations; want 0", allocs)
	}
}
