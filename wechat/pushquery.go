package wechat

import (
	"net/url"
	"strings"
)

// PushQuery holds the parameters WeChat puts on a callback URL: the
// signature over timestamp and nonce, the echostr of a URL check, and for
// an encrypted push encrypt_type=aes with the msg_signature over the body.
// (WeChat adds openid too; nothing here needs it.)
// https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Access_Overview.html
type PushQuery struct {
	Signature, Timestamp, Nonce, EchoStr, EncryptType, MsgSignature string
}

// Encrypted reports whether the push says it is encrypted (compatible or
// safe mode).
func (q PushQuery) Encrypted() bool { return q.EncryptType == "aes" }

// ParsePushQuery reads the known keys of a raw query; like url.Values.Get,
// the first occurrence wins. It is written by hand because url.ParseQuery
// builds a map for every request, a measurable share of the callback's
// cost. A value that does not unescape is kept as sent: it then fails the
// signature check instead of being silently altered.
func ParsePushQuery(raw string) PushQuery {
	var q PushQuery
	var seen uint8 // one bit per key: an empty first value still wins
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		key, value, _ := strings.Cut(pair, "=")
		var dst *string
		var bit uint8
		switch key {
		case "signature":
			dst, bit = &q.Signature, 1<<0
		case "timestamp":
			dst, bit = &q.Timestamp, 1<<1
		case "nonce":
			dst, bit = &q.Nonce, 1<<2
		case "echostr":
			dst, bit = &q.EchoStr, 1<<3
		case "encrypt_type":
			dst, bit = &q.EncryptType, 1<<4
		case "msg_signature":
			dst, bit = &q.MsgSignature, 1<<5
		default:
			continue
		}
		if seen&bit != 0 {
			continue
		}
		seen |= bit
		if strings.ContainsAny(value, "%+") {
			if v, err := url.QueryUnescape(value); err == nil {
				value = v
			}
		}
		*dst = value
	}
	return q
}
