package wechat

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
)

// Mini Program pushes in JSON: the console's data format (数据格式) set to
// JSON instead of XML. The fields, their names and the signatures are those
// of the XML form; plaintext bodies are a JSON object of the message's
// fields, safe-mode bodies {"ToUserName":"gh_...","Encrypt":"..."} whose
// ciphertext decrypts to that object.
// https://developers.weixin.qq.com/miniprogram/dev/framework/server-ability/message-push.html
// https://developers.weixin.qq.com/miniprogram/dev/framework/open-ability/customer-message/receive.html

// ParseJSONMessage is ParseMessage for a JSON body: the same types, the
// same required fields, and errors that wrap ErrMalformedMessage. Numbers
// may be JSON numbers or strings. Mini Program types this package does not
// model (miniprogrampage, the user_enter_tempsession event, ...) give
// *Unknown with the header, as any unknown type does.
//
// The returned strings share one copy of body, so body may be reused.
func ParseJSONMessage(body []byte) (Message, error) {
	var buf [32]node
	nodes, err := scanJSON(string(body), buf[:0])
	if err == nil {
		var m Message
		if m, err = messageOf(nodes, false); err == nil {
			return m, nil
		}
	}
	return nil, jsonError(err)
}

// ParseJSONEnvelope is ParseEnvelope for a JSON body, the safe-mode body
// {"ToUserName":"gh_...","Encrypt":"..."}. Check the msg_signature over
// Encrypt with VerifyMsgSignature before decrypting it.
func ParseJSONEnvelope(body []byte) (Envelope, error) {
	var buf [8]node
	nodes, err := scanJSON(string(body), buf[:0])
	if err == nil {
		var env Envelope
		if env, err = envelopeOf(nodes); err == nil {
			return env, nil
		}
	}
	return Envelope{}, jsonError(err)
}

// OpenJSONPush is OpenPush for a Mini Program whose data format is JSON:
// the same checks in the same order, with the envelope read from JSON. It
// returns the plaintext message JSON, for ParseJSONMessage.
func OpenJSONPush(token string, c *Crypter, q PushQuery, body []byte) ([]byte, error) {
	return openPush(token, c, q, body, ParseJSONEnvelope)
}

// SealJSONPush is SealPush for a Mini Program whose data format is JSON:
// plain is the message JSON, and with c set the body is the JSON envelope
// addressed to account.
func SealJSONPush(token string, c *Crypter, account string, plain []byte, timestamp, nonce string) (url.Values, []byte, error) {
	return sealPush(token, c, plain, timestamp, nonce, func(enc string) []byte {
		b, _ := json.Marshal(struct{ ToUserName, Encrypt string }{account, enc}) // strings cannot fail
		return b
	})
}

// jsonError restates a scanner or field error about a JSON body: the
// sentinel's own text says XML. It still matches ErrMalformedMessage.
func jsonError(err error) error {
	detail, ok := strings.CutPrefix(err.Error(), ErrMalformedMessage.Error())
	if !ok {
		return err
	}
	return &reasonError{err, errors.New("wechat: malformed message JSON" + detail)}
}
