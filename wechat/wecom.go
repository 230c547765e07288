package wechat

import (
	"fmt"
	"net/url"
	"time"
)

// WeCom (企业微信) application callbacks. They are always encrypted, with
// the corp id as the receiveid sealed into every ciphertext: build the
// Crypter with NewCrypter(encodingAESKey, corpID). There is no plain
// signature: msg_signature covers the token, timestamp, nonce and the
// ciphertext, which is the echostr of a URL check and the <Encrypt> of a
// push. Passive replies are sealed exactly as Official Account safe-mode
// replies are (Crypter.SealReply; OpenReply reads them), and the error
// sentinels are VerifyPush's and OpenPush's, so a callback maps them to
// statuses the same way.
// https://developer.work.weixin.qq.com/document/path/90968
// https://developer.work.weixin.qq.com/document/path/90930
// https://developer.work.weixin.qq.com/document/path/90238

// VerifyWeComURL answers WeCom's URL check, a GET with msg_signature,
// timestamp, nonce and an encrypted echostr: it checks the query (as
// VerifyPush does, with maxSkew > 0 the clock skew), the msg_signature over
// echostr in constant time, and returns the decrypted echostr, which the
// callback answers as is. (ParsePushQuery has already unescaped echostr, as
// WeCom asks.)
func VerifyWeComURL(token string, c *Crypter, q PushQuery, now time.Time, maxSkew time.Duration) ([]byte, error) {
	if err := checkWeComQuery(q, now, maxSkew); err != nil {
		return nil, err
	}
	if q.EchoStr == "" {
		return nil, fmt.Errorf("%w (no echostr)", ErrMissingSignature)
	}
	if c == nil {
		return nil, ErrNoKey
	}
	return openEnvelope(token, c, q, q.EchoStr)
}

// OpenWeComPush returns the plaintext message XML of a WeCom push: a POST
// whose query carries msg_signature, timestamp and nonce and whose body is
// <xml><ToUserName>corp</ToUserName><AgentID>..</AgentID><Encrypt>..</Encrypt></xml>.
// It checks the query (with maxSkew > 0 the clock skew) and the
// msg_signature over <Encrypt> before decrypting it. Parse the result with
// ParseWeComMessage.
func OpenWeComPush(token string, c *Crypter, q PushQuery, body []byte, now time.Time, maxSkew time.Duration) ([]byte, error) {
	if err := checkWeComQuery(q, now, maxSkew); err != nil {
		return nil, err
	}
	if c == nil {
		return nil, ErrNoKey
	}
	env, err := ParseEnvelope(body)
	if err != nil {
		return nil, err
	}
	return openEnvelope(token, c, q, env.Encrypt)
}

// checkWeComQuery is VerifyPush for a WeCom query, whose only signature
// covers the ciphertext too and is checked with it.
func checkWeComQuery(q PushQuery, now time.Time, maxSkew time.Duration) error {
	if q.MsgSignature == "" {
		return ErrMissingMsgSignature
	}
	if q.Timestamp == "" || q.Nonce == "" {
		return ErrMissingSignature
	}
	return checkTimestamp(q.Timestamp, now, maxSkew)
}

// ParseWeComMessage is ParseMessage for the plaintext of a WeCom push: it
// also reads <AgentID> into Header.AgentID, and reads the menu events WeCom
// spells click and view as CLICK and VIEW, so rules, metrics and dedup
// treat them as the Official Account's. WeCom's own events (enter_agent,
// change_contact, ...) give *Unknown.
// https://developer.work.weixin.qq.com/document/path/90239
// https://developer.work.weixin.qq.com/document/path/90240
func ParseWeComMessage(body []byte) (Message, error) {
	var buf [32]node
	nodes, err := scanXML(string(body), buf[:0])
	if err != nil {
		return nil, err
	}
	return messageOf(nodes, true)
}

// weComEvent maps WeCom's spelling of an event to this package's.
func weComEvent(e EventType) EventType {
	switch e {
	case "click":
		return EventClick
	case "view":
		return EventView
	}
	return e
}

// SealWeComPush builds the push WeCom would send for the plaintext message
// XML plain, to the application agentID of the Crypter's corp: the query
// (msg_signature, timestamp, nonce) and the body with ToUserName (the corp
// id), AgentID and Encrypt. It is for tests and simulators.
func SealWeComPush(token string, c *Crypter, agentID string, plain []byte, timestamp, nonce string) (url.Values, []byte, error) {
	if c == nil {
		return nil, nil, ErrNoKey
	}
	enc, err := c.Encrypt(plain)
	if err != nil {
		return nil, nil, err
	}
	q := url.Values{
		"msg_signature": {Sign(token, timestamp, nonce, enc)},
		"timestamp":     {timestamp},
		"nonce":         {nonce},
	}
	b := make([]byte, 0, len(enc)+len(c.appID)+len(agentID)+128)
	b = append(b, "<xml>"...)
	b = AppendCDATAElem(b, "ToUserName", c.appID)
	b = AppendCDATAElem(b, "AgentID", agentID)
	b = AppendCDATAElem(b, "Encrypt", enc)
	return q, append(b, "</xml>"...), nil
}

// SealWeComURLCheck builds the query of WeCom's URL check for the plaintext
// echo: msg_signature, timestamp, nonce and the encrypted echostr. It is
// for tests and simulators.
func SealWeComURLCheck(token string, c *Crypter, echo, timestamp, nonce string) (url.Values, error) {
	if c == nil {
		return nil, ErrNoKey
	}
	enc, err := c.Encrypt([]byte(echo))
	if err != nil {
		return nil, err
	}
	return url.Values{
		"msg_signature": {Sign(token, timestamp, nonce, enc)},
		"timestamp":     {timestamp},
		"nonce":         {nonce},
		"echostr":       {enc},
	}, nil
}
