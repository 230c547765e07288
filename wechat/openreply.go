package wechat

import (
	"bytes"
	"fmt"
)

// ReplyHeader is the addressing of a passive reply: ToUserName is the
// user's openid (the push's FromUserName), FromUserName the account's
// original id.
type ReplyHeader struct {
	ToUserName, FromUserName string
	CreateTime               int64
}

// OpenReply reads a callback's answer as WeChat does, so that a simulated
// user can check what the server sent: the inverse of MarshalReply and,
// with c set, of SealReply. An empty body or "success" is no reply (nil
// Reply). With c set the answer must be an envelope whose MsgSignature
// verifies and whose ciphertext is sealed for c's appid; a plaintext
// answer to a safe-mode push is an error, and so is an envelope with c ==
// nil. A reply WeChat would refuse to show (MarshalReply's checks) is an
// error wrapping ErrInvalidReply.
// https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Passive_user_reply_message.html
// https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Message_encryption_and_decryption_instructions.html
func OpenReply(token string, c *Crypter, body []byte) (ReplyHeader, Reply, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || string(body) == "success" {
		return ReplyHeader{}, nil, nil
	}
	nodes, err := scanXML(string(body), nil)
	if err != nil {
		return ReplyHeader{}, nil, fmt.Errorf("wechat: reply is neither \"success\" nor XML: %w (body %.80q)", err, body)
	}
	enc, encrypted := topLeaf(nodes, "Encrypt")
	switch {
	case c == nil && encrypted:
		return ReplyHeader{}, nil, fmt.Errorf("%w (an encrypted reply to a plaintext push)", ErrNoKey)
	case c != nil && !encrypted:
		return ReplyHeader{}, nil, fmt.Errorf("%w (a plaintext reply to a safe-mode push: WeChat expects it encrypted)", ErrPlaintextRefused)
	case c != nil:
		sig, _ := topLeaf(nodes, "MsgSignature")
		ts, _ := topLeaf(nodes, "TimeStamp")
		nonce, _ := topLeaf(nodes, "Nonce")
		if !VerifyMsgSignature(token, ts, nonce, enc, sig) {
			return ReplyHeader{}, nil, fmt.Errorf("%w: the reply's MsgSignature does not verify", ErrBadMsgSignature)
		}
		plain, err := c.Decrypt(enc)
		if err != nil {
			return ReplyHeader{}, nil, fmt.Errorf("%w: reply: %w", ErrDecrypt, err)
		}
		if nodes, err = scanXML(string(plain), nil); err != nil {
			return ReplyHeader{}, nil, fmt.Errorf("wechat: decrypted reply is not XML: %w", err)
		}
	}
	return readReply(nodes)
}

// readReply turns the scanned XML of a passive reply into its header and
// typed reply. Field elements are found by their name in replyFields,
// wherever the type's container puts them (<Content> at the top,
// <Image><MediaId>, <Music><Title>, ...), so no type is spelt out here.
func readReply(nodes []node) (ReplyHeader, Reply, error) {
	var (
		h    ReplyHeader
		d    ReplyData
		ferr error
	)
	f := fieldReader{nodes: nodes, err: &ferr}
	set := func(i int32, name string) {
		if p := d.Field(jsonKey(replyFields[:], formXML, name)); p != nil {
			*p = f.leaf(i)
		}
	}
	for i := int32(1); int(i) < len(nodes); i++ {
		if nodes[i].parent != 0 {
			continue
		}
		switch name := nodes[i].name; name {
		case "ToUserName":
			h.ToUserName = f.leaf(i)
		case "FromUserName":
			h.FromUserName = f.leaf(i)
		case "CreateTime":
			h.CreateTime = f.parseInt(i, 64)
		case "MsgType":
			d.Type = f.leaf(i)
		case "Articles":
			f.each(i, func(item int32, name string) {
				if name != "item" {
					return
				}
				var a ArticleData
				f.each(item, func(j int32, name string) {
					if p := a.Field(jsonKey(articleFields[:], formXML, name)); p != nil {
						*p = f.leaf(j)
					}
				})
				d.Articles = append(d.Articles, a)
			})
		default:
			if nodes[i].kids {
				f.each(i, set)
			} else {
				set(i, name)
			}
		}
	}
	if ferr != nil {
		return h, nil, ferr
	}
	if d.Type == "" || d.Type == "success" {
		return h, nil, fmt.Errorf("%w: reply XML with MsgType %q", ErrInvalidReply, d.Type)
	}
	r, err := d.Reply()
	if err != nil {
		return h, nil, err
	}
	if _, err := r.appendBody(nil); err != nil {
		return h, nil, err
	}
	return h, r, nil
}

// topLeaf returns the text of the top-level element called name, and
// whether there is one.
func topLeaf(nodes []node, name string) (string, bool) {
	for _, n := range nodes[1:] {
		if n.parent == 0 && n.name == name {
			return n.val, true
		}
	}
	return "", false
}
