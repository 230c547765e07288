package wechat

import (
	"errors"
	"net/url"
	"strconv"
	"time"
)

// Pushes: what WeChat POSTs to the callback URL, in plaintext, compatible
// or safe mode. SealPush builds one as WeChat does; VerifyPush and
// OpenPush take one apart as the callback must.
// https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Access_Overview.html
// https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Message_encryption_and_decryption_instructions.html

// Why VerifyPush or OpenPush refused a push. Callers branch with errors.Is
// (a callback maps them to HTTP statuses); an OpenPush error that is none
// of these is a malformed envelope and matches ErrMalformedMessage.
var (
	// ErrMissingSignature: signature, timestamp or nonce is absent.
	ErrMissingSignature = errors.New("wechat: push without signature, timestamp or nonce")
	// ErrBadTimestamp: the timestamp is not a number.
	ErrBadTimestamp = errors.New("wechat: push timestamp is not a number")
	// ErrClockSkew: the timestamp is further from now than allowed, as a
	// replayed capture would be.
	ErrClockSkew = errors.New("wechat: push timestamp outside the allowed clock skew")
	// ErrBadSignature: the signature is not over our token.
	ErrBadSignature = errors.New("wechat: invalid signature")
	// ErrPlaintextRefused: plaintext where a key is configured. Only the
	// msg_signature authenticates a body; signature covers only timestamp
	// and nonce, so a captured URL would otherwise carry any body.
	ErrPlaintextRefused = errors.New("wechat: plaintext refused: a key is configured, so only encrypted messages are accepted")
	// ErrNoKey: an encrypted message, but no EncodingAESKey to open it.
	ErrNoKey = errors.New("wechat: encrypted message, but no EncodingAESKey is configured")
	// ErrMissingMsgSignature: encrypt_type=aes without msg_signature.
	ErrMissingMsgSignature = errors.New("wechat: encrypted push without msg_signature")
	// ErrBadMsgSignature: the msg_signature is not over the ciphertext.
	ErrBadMsgSignature = errors.New("wechat: invalid msg_signature")
	// ErrDecrypt: the ciphertext did not decrypt; the error also matches
	// the Crypter sentinel that says why (ErrBadBase64, ErrAppIDMismatch...).
	ErrDecrypt = errors.New("wechat: cannot decrypt")
)

// reasonError files a detailed error under one of the sentinels above. Its
// text is the detail's alone, which already says what failed.
type reasonError struct{ reason, err error }

func (e *reasonError) Error() string   { return e.err.Error() }
func (e *reasonError) Unwrap() []error { return []error{e.reason, e.err} }

// VerifyPush checks what authenticates the request line of a push or URL
// check: the signature over token, timestamp and nonce, and with maxSkew >
// 0 that the timestamp is within maxSkew of now. It reads no body, so a
// callback can call it before reading one, and it allocates nothing for
// a valid request.
func VerifyPush(token string, q PushQuery, now time.Time, maxSkew time.Duration) error {
	if q.Signature == "" || q.Timestamp == "" || q.Nonce == "" {
		return ErrMissingSignature
	}
	if err := checkTimestamp(q.Timestamp, now, maxSkew); err != nil {
		return err
	}
	if !VerifySignature(token, q.Timestamp, q.Nonce, q.Signature) {
		return ErrBadSignature
	}
	return nil
}

// checkTimestamp checks that timestamp is a number and, with maxSkew > 0,
// within maxSkew of now.
func checkTimestamp(timestamp string, now time.Time, maxSkew time.Duration) error {
	sent, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return ErrBadTimestamp
	}
	if maxSkew > 0 {
		if d := now.Sub(time.Unix(sent, 0)); d > maxSkew || d < -maxSkew {
			return ErrClockSkew
		}
	}
	return nil
}

// OpenPush returns the plaintext message XML of a push whose query passed
// VerifyPush. With c == nil only plaintext is accepted; with a Crypter only
// encrypted pushes are (ErrPlaintextRefused otherwise), whose msg_signature
// is checked before the body is decrypted. A plaintext body is returned as
// is, with no work and no allocation.
func OpenPush(token string, c *Crypter, q PushQuery, body []byte) ([]byte, error) {
	return openPush(token, c, q, body, ParseEnvelope)
}

// openPush is OpenPush with the envelope read by parse (XML or JSON).
func openPush(token string, c *Crypter, q PushQuery, body []byte, parse func([]byte) (Envelope, error)) ([]byte, error) {
	if !q.Encrypted() {
		if c != nil {
			return nil, ErrPlaintextRefused
		}
		return body, nil
	}
	if c == nil {
		return nil, ErrNoKey
	}
	if q.MsgSignature == "" {
		return nil, ErrMissingMsgSignature
	}
	env, err := parse(body)
	if err != nil {
		return nil, err
	}
	return openEnvelope(token, c, q, env.Encrypt)
}

// openEnvelope checks the msg_signature over the ciphertext, then
// decrypts it.
func openEnvelope(token string, c *Crypter, q PushQuery, encrypted string) ([]byte, error) {
	if !VerifyMsgSignature(token, q.Timestamp, q.Nonce, encrypted, q.MsgSignature) {
		return nil, ErrBadMsgSignature
	}
	plain, err := c.Decrypt(encrypted)
	if err != nil {
		return nil, &reasonError{ErrDecrypt, err}
	}
	return plain, nil
}

// SealPush builds the push WeChat would send for the plaintext message XML
// plain: the query (signature, timestamp, nonce; with c set also
// encrypt_type=aes and msg_signature) and the body (plain itself, or with
// c set the safe-mode envelope addressed to account, the account's
// original id). WeChat also puts the sender's openid in the query; add it
// if the receiver needs it.
func SealPush(token string, c *Crypter, account string, plain []byte, timestamp, nonce string) (url.Values, []byte, error) {
	return sealPush(token, c, plain, timestamp, nonce, func(enc string) []byte {
		b := make([]byte, 0, len(enc)+len(account)+96)
		b = append(b, "<xml>"...)
		b = AppendCDATAElem(b, "ToUserName", account)
		b = AppendCDATAElem(b, "Encrypt", enc)
		return append(b, "</xml>"...)
	})
}

// sealPush is SealPush with the envelope around the ciphertext built by
// envelope (XML or JSON).
func sealPush(token string, c *Crypter, plain []byte, timestamp, nonce string, envelope func(enc string) []byte) (url.Values, []byte, error) {
	q := url.Values{
		"signature": {Sign(token, timestamp, nonce)},
		"timestamp": {timestamp},
		"nonce":     {nonce},
	}
	if c == nil {
		return q, plain, nil
	}
	enc, err := c.Encrypt(plain)
	if err != nil {
		return nil, nil, err
	}
	q.Set("encrypt_type", "aes")
	q.Set("msg_signature", Sign(token, timestamp, nonce, enc))
	return q, envelope(enc), nil
}
