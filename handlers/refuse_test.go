package handlers

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"wxoa/internal/metrics"
)

// Every way a push is refused answers its own status and reason, word for
// word: operators read these in WeChat's console and in their logs; and
// counts it under its own metrics label, none of them "other".
func TestPushRefusalReasons(t *testing.T) {
	seen := &rejections{}
	safe := newTestRouter(t, routerOpts{crypter: true, skew: 5 * time.Minute, obs: seen})
	plain := newTestRouter(t, routerOpts{skew: 5 * time.Minute, obs: seen})
	goodEnc, err := testCrypter(t).Encrypt(textMsg(1, "x"))
	if err != nil {
		t.Fatal(err)
	}
	withQuery := func(h http.Handler, edit func(q url.Values), body string) func() (int, string) {
		return func() (int, string) {
			q := signedQuery(fixedNow.Unix(), "n")
			edit(q)
			r := serve(h, http.MethodPost, testPath+"?"+q.Encode(), []byte(body))
			return r.Code, r.Body.String()
		}
	}
	recorded := func(f func() *httptest.ResponseRecorder) func() (int, string) {
		return func() (int, string) { r := f(); return r.Code, r.Body.String() }
	}
	aes := func(q url.Values) { q["encrypt_type"] = []string{"aes"} }
	tests := []struct {
		name   string
		do     func() (int, string)
		status int
		reason string
		label  string
	}{
		{"no signature", withQuery(plain, func(q url.Values) { delete(q, "signature") }, ""), 400,
			"missing signature, timestamp or nonce", metrics.RejectMissingParams},
		{"timestamp not a number", withQuery(plain, func(q url.Values) { q["timestamp"] = []string{"soon"} }, ""), 400,
			"timestamp is not a number", metrics.RejectMissingParams},
		{"stale", recorded(func() *httptest.ResponseRecorder {
			return serve(plain, http.MethodPost, testPath+"?"+signedQuery(fixedNow.Add(-time.Hour).Unix(), "n").Encode(), nil)
		}), 403, "timestamp outside the allowed clock skew", metrics.RejectStaleTimestamp},
		{"bad signature", withQuery(plain, func(q url.Values) { q["nonce"] = []string{"other"} }, ""), 403,
			"invalid signature", metrics.RejectBadSignature},
		{"plaintext with a key", recorded(func() *httptest.ResponseRecorder { return postPlain(safe, textMsg(1, "x")) }), 400,
			"plaintext message refused: WECHAT_ENCODING_AES_KEY is set, so only compatible/safe-mode (encrypt_type=aes) posts are accepted", metrics.RejectPlaintextRefused},
		{"encrypted without a key", recorded(func() *httptest.ResponseRecorder { return postEnvelope(plain, goodEnc, "") }), 400,
			"encrypted message but no WECHAT_ENCODING_AES_KEY is configured", metrics.RejectNoKey},
		{"no msg_signature", withQuery(safe, aes, "<xml><Encrypt>abc=</Encrypt></xml>"), 400, "missing msg_signature", metrics.RejectMissingParams},
		{"malformed envelope", withQuery(safe, func(q url.Values) { aes(q); q["msg_signature"] = []string{"x"} },
			"<xml><ToUserName>a</ToUserName></xml>"), 400, "malformed envelope: wechat: malformed message XML: no <Encrypt>", metrics.RejectBadXML},
		{"bad msg_signature", recorded(func() *httptest.ResponseRecorder { return postEnvelope(safe, goodEnc, strings.Repeat("b", 40)) }), 403,
			"invalid msg_signature", metrics.RejectBadSignature},
		{"not base64", recorded(func() *httptest.ResponseRecorder { return postEnvelope(safe, "!!!", "") }), 400,
			"cannot decrypt: wechat: ciphertext is not base64", metrics.RejectDecrypt},
		{"malformed message", recorded(func() *httptest.ResponseRecorder { return postPlain(plain, []byte("<xml><oops")) }), 400,
			"malformed message: wechat: malformed message XML: bad start tag (attributes are not supported) at byte 10", metrics.RejectBadXML},
		{"too large", recorded(func() *httptest.ResponseRecorder { return postPlain(plain, bytes.Repeat([]byte("x"), MaxBody+1)) }), 413,
			"body larger than 65536 bytes", metrics.RejectTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(seen.reasons)
			code, body := tt.do()
			if code != tt.status || body != tt.reason+"\n" {
				t.Errorf("POST = %d %q; want %d %q", code, body, tt.status, tt.reason+"\n")
			}
			if got := seen.reasons[before:]; len(got) != 1 || got[0] != tt.label {
				t.Errorf("POST counted as rejected for %q; want once for %q", got, tt.label)
			}
		})
	}
}
