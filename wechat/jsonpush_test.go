package wechat

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The Mini Program message-push guide's JSON samples (data format JSON).
// https://developers.weixin.qq.com/miniprogram/dev/framework/server-ability/message-push.html
const (
	mpDocToken = "AAAAA"
	mpDocKey   = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	mpDocAppID = "wxba5fad812f8e6fb9"

	// Plaintext mode: the signature of the push.
	mpDocPlainTimestamp = "1714037059"
	mpDocPlainNonce     = "486452656"
	mpDocPlainSignature = "899cf89e464efb63f54ddac96b0a0a235f53aa78"

	// Safe mode: the query, the body, and the plaintext it decrypts to.
	mpDocQuery   = "signature=6c5c811b55cc85e0e1b54100749188c20beb3f5d&timestamp=1714112445&nonce=415670741&openid=o9AgO5Kd5ggOC-bXrbNODIiE3bGY&encrypt_type=aes&msg_signature=046e02f8204d34f8ba5fa3b1db94908f3df2e9b3"
	mpDocEncrypt = "+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04="
	mpDocBody    = "{\n    \"ToUserName\": \"gh_97417a04a28d\",\n    \"Encrypt\": \"" + mpDocEncrypt + "\"\n}"
	mpDocPlain   = `{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714112445,"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}`

	// The encrypted answer: its random bytes, plaintext, ciphertext and
	// signature.
	mpDocReplyTimestamp = "1713424427"
	mpDocReplyNonce     = "415670741"
	mpDocReplyRandom    = "707722b803182950"
	mpDocReplyPlain     = `{"demo_resp":"good luck"}`
	mpDocReplyEncrypt   = "ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ=="
	mpDocReplySignature = "1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1"
)

func TestJSONPushOfficialSamples(t *testing.T) {
	plainQ := PushQuery{Signature: mpDocPlainSignature, Timestamp: mpDocPlainTimestamp, Nonce: mpDocPlainNonce}
	if err := VerifyPush(mpDocToken, plainQ, time.Unix(1714037059, 0), time.Minute); err != nil {
		t.Errorf("VerifyPush(plaintext sample) = %v; want nil", err)
	}

	c := mustCrypter(t, mpDocKey, mpDocAppID)
	q := ParsePushQuery(mpDocQuery)
	if err := VerifyPush(mpDocToken, q, time.Unix(1714112445, 0), time.Minute); err != nil {
		t.Errorf("VerifyPush(safe-mode sample) = %v; want nil", err)
	}
	plain, err := OpenJSONPush(mpDocToken, c, q, []byte(mpDocBody))
	if err != nil || string(plain) != mpDocPlain {
		t.Fatalf("OpenJSONPush(sample) = %q, %v; want %q", plain, err, mpDocPlain)
	}
	m, err := ParseJSONMessage(plain)
	want := &Unknown{Header: Header{ToUserName: "gh_97417a04a28d", FromUserName: "o9AgO5Kd5ggOC-bXrbNODIiE3bGY",
		CreateTime: 1714112445, MsgType: MsgEvent}, Event: "debug_demo"}
	if err != nil || !reflect.DeepEqual(m, want) {
		t.Errorf("ParseJSONMessage(sample) = %#v, %v; want %#v", m, err, want)
	}

	enc, err := c.EncryptWithRandom([]byte(mpDocReplyRandom), []byte(mpDocReplyPlain))
	if err != nil || enc != mpDocReplyEncrypt {
		t.Errorf("EncryptWithRandom(answer sample) = %q, %v; want %q", enc, err, mpDocReplyEncrypt)
	}
	if sig := Sign(mpDocToken, mpDocReplyTimestamp, mpDocReplyNonce, mpDocReplyEncrypt); sig != mpDocReplySignature {
		t.Errorf("Sign(answer sample) = %s; want %s", sig, mpDocReplySignature)
	}
}

func TestOpenJSONPushOfSealJSONPush(t *testing.T) {
	c := mustCrypter(t, sampleKey, sampleAppID)
	msg := `{"ToUserName":"gh_1","FromUserName":"oUser","CreateTime":1409304348,"MsgType":"text","Content":"a\"</xml>]]>b","MsgId":7}`
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
			q, body, err := SealJSONPush(sampleToken, tt.c, `gh_"1"`, []byte(msg), sampleTimestamp, sampleNonce)
			if err != nil {
				t.Fatalf("SealJSONPush = %v", err)
			}
			if tt.c != nil {
				var env struct{ ToUserName, Encrypt string }
				if err := json.Unmarshal(body, &env); err != nil || env.ToUserName != `gh_"1"` || env.Encrypt == "" {
					t.Fatalf("SealJSONPush body %s = %+v, %v; want a JSON envelope", body, env, err)
				}
				if tt.compat { // the plaintext fields beside the ciphertext
					body = []byte(strings.TrimSuffix(msg, "}") + `,"Encrypt":"` + env.Encrypt + `"}`)
				}
			}
			pq := pushQuery(q)
			if err := VerifyPush(sampleToken, pq, time.Unix(1409304348, 0), time.Minute); err != nil {
				t.Errorf("VerifyPush(SealJSONPush query) = %v; want nil", err)
			}
			got, err := OpenJSONPush(sampleToken, tt.c, pq, body)
			if err != nil || string(got) != msg {
				t.Fatalf("OpenJSONPush(SealJSONPush(...)) = %q, %v; want the message", got, err)
			}
			if m, err := ParseJSONMessage(got); err != nil || m.(*Text).Content != `a"</xml>]]>b` || m.(*Text).MsgID != 7 {
				t.Errorf("ParseJSONMessage(OpenJSONPush(...)) = %#v, %v", m, err)
			}
		})
	}
}

// TestOpenJSONPushRefuses: the same refusals, in the same order, as OpenPush.
func TestOpenJSONPushRefuses(t *testing.T) {
	c := mustCrypter(t, sampleKey, sampleAppID)
	other := mustCrypter(t, sampleKey, "wx0000000000000000")
	msg := []byte(`{"ToUserName":"gh_1","FromUserName":"o","CreateTime":1,"MsgType":"text"}`)
	seal := func(c *Crypter) (PushQuery, []byte) {
		q, body, err := SealJSONPush(sampleToken, c, "gh_1", msg, sampleTimestamp, sampleNonce)
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
	xmlQ, xmlBody, err := SealPush(sampleToken, c, "gh_1", msg, sampleTimestamp, sampleNonce)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		c    *Crypter
		q    PushQuery
		body []byte
		want []error
	}{
		{"plaintext with a key", c, plainQ, plainBody, []error{ErrPlaintextRefused}},
		{"encrypted without a key", nil, safeQ, safeBody, []error{ErrNoKey}},
		{"no msg_signature", c, noSig, safeBody, []error{ErrMissingMsgSignature}},
		{"no envelope", c, safeQ, []byte(`{"ToUserName":"a"}`), []error{ErrMalformedMessage}},
		{"an XML envelope", c, pushQuery(xmlQ), xmlBody, []error{ErrMalformedMessage}},
		{"bad msg_signature", c, badSig, safeBody, []error{ErrBadMsgSignature}},
		{"another appid", c, foreignQ, foreignBody, []error{ErrDecrypt, ErrAppIDMismatch}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := OpenJSONPush(sampleToken, tt.c, tt.q, tt.body)
			for _, want := range tt.want {
				if !errors.Is(err, want) {
					t.Errorf("OpenJSONPush = %q, %v; want an error matching %v", got, err, want)
				}
			}
		})
	}
}
