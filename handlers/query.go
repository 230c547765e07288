package handlers

import (
	"net/url"
	"strings"
)

// callbackQuery holds the parameters WeChat puts on a callback URL. It is
// parsed by hand: url.ParseQuery builds a map for every request, which was a
// measurable share of the callback's cost.
type callbackQuery struct {
	signature, timestamp, nonce, echostr, encryptType, msgSignature string
}

// parseCallbackQuery reads the known keys; like url.Values.Get, the first
// occurrence wins. A value that does not unescape is kept as sent: it then
// fails the signature check instead of being silently altered.
func parseCallbackQuery(raw string) callbackQuery {
	var q callbackQuery
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		key, value, _ := strings.Cut(pair, "=")
		var dst *string
		switch key {
		case "signature":
			dst = &q.signature
		case "timestamp":
			dst = &q.timestamp
		case "nonce":
			dst = &q.nonce
		case "echostr":
			dst = &q.echostr
		case "encrypt_type":
			dst = &q.encryptType
		case "msg_signature":
			dst = &q.msgSignature
		default:
			continue
		}
		if *dst != "" {
			continue
		}
		if strings.ContainsAny(value, "%+") {
			if v, err := url.QueryUnescape(value); err == nil {
				value = v
			}
		}
		*dst = value
	}
	return q
}
