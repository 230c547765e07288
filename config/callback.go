package config

import (
	"fmt"

	"wxoa/wechat"
)

// callbackToken checks WECHAT_TOKEN against WeChat's own rule for the
// console's Token field, so a value the console would refuse (or one with a
// stray quote or space) fails here, not as a signature mismatch later. The
// value is never echoed: it signs callbacks.
func (l *loader) callbackToken(key string) wechat.Secret {
	v := l.required(key, "the Token set in the WeChat admin console, 3-32 letters or digits")
	if v == "" {
		return ""
	}
	if !validCallbackToken(v) {
		l.fail(key, "%s", badCallbackToken(v))
	}
	return wechat.Secret(v)
}

// validCallbackToken is the console's rule for the Token field, the same in
// WeCom's: 3 to 32 letters or digits.
func validCallbackToken(v string) bool {
	ok := len(v) >= 3 && len(v) <= 32
	for i := 0; ok && i < len(v); i++ {
		c := v[i]
		ok = c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	return ok
}

func badCallbackToken(v string) string {
	return fmt.Sprintf("must be 3-32 letters or digits, as WeChat's console requires (got %d characters; value not shown)", len(v))
}

// aesKey validates the safe-mode key, which only works together with the
// appid: every decrypted message is checked against it.
func (l *loader) aesKey(key, appIDKey string) wechat.Secret {
	v := l.str(key, "")
	if v == "" {
		return ""
	}
	_, err := wechat.DecodeAESKey(v)
	if err != nil {
		l.fail(key, "must be the 43-character base64 EncodingAESKey from the admin console (got %d characters; value not shown)", len(v))
		return ""
	}
	if l.str(appIDKey, "") == "" {
		l.fail(key, "is set but %s is empty: compatible/safe mode checks the appid of every message", appIDKey)
	}
	return wechat.Secret(v)
}
