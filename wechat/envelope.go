package wechat

import (
	"fmt"
	"strconv"
)

// Envelope is the body WeChat POSTs in safe and compatible mode: the
// account's original id and the ciphertext (compatible mode also carries
// the plaintext fields, which ParseEnvelope ignores).
type Envelope struct {
	ToUserName string
	Encrypt    string
}

// ParseEnvelope reads an encrypted callback body. Check the msg_signature
// over Encrypt with VerifyMsgSignature before decrypting it.
func ParseEnvelope(body []byte) (Envelope, error) {
	var buf [32]node
	nodes, err := scanXML(string(body), buf[:0])
	if err != nil {
		return Envelope{}, err
	}
	return envelopeOf(nodes)
}

// envelopeOf reads the envelope from the scanned nodes of a body (XML or
// JSON alike).
func envelopeOf(nodes []node) (Envelope, error) {
	var env Envelope
	var to, enc int32
	var ferr error
	f := fieldReader{nodes: nodes, err: &ferr}
	for i := int32(1); int(i) < len(nodes); i++ {
		if nodes[i].parent != 0 {
			continue
		}
		switch nodes[i].name {
		case "ToUserName":
			f.once(&to, i)
		case "Encrypt":
			f.once(&enc, i)
		}
	}
	env.ToUserName, env.Encrypt = f.leaf(to), f.leaf(enc)
	if ferr != nil {
		return Envelope{}, ferr
	}
	if env.Encrypt == "" {
		return Envelope{}, fmt.Errorf("%w: no <Encrypt>", ErrMalformedMessage)
	}
	return env, nil
}

// SealReply encrypts a reply (the XML from MarshalReply) for safe mode and
// wraps it with its msg_signature. timestamp and nonce are those of the
// request being answered.
func (c *Crypter) SealReply(token string, reply []byte, timestamp, nonce string) ([]byte, error) {
	if _, err := strconv.ParseUint(timestamp, 10, 64); err != nil {
		return nil, fmt.Errorf("wechat: seal reply: timestamp %q is not a number", timestamp)
	}
	enc, err := c.Encrypt(reply)
	if err != nil {
		return nil, err
	}
	sig := Sign(token, timestamp, nonce, enc)
	b := make([]byte, 0, len(enc)+len(nonce)+200)
	b = append(b, "<xml>"...)
	b = AppendCDATAElem(b, "Encrypt", enc)
	b = AppendCDATAElem(b, "MsgSignature", sig)
	b = append(b, "<TimeStamp>"...)
	b = append(b, timestamp...)
	b = append(b, "</TimeStamp>"...)
	b = AppendCDATAElem(b, "Nonce", nonce)
	return append(b, "</xml>"...), nil
}
