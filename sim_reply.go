package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"wxoa/wechat"
)

// simReply is a callback's answer as WeChat would show it to the user.
type simReply struct {
	Type string // "success" (no reply), "text", "news", "image", ...
	Text string // readable form, e.g. `text: Hello`; may span lines
}

// String is the reply as the simulator prints it.
func (r simReply) String() string { return "← " + r.Text }

// successReply is what an empty body or "success" means.
var successReply = simReply{Type: "success", Text: "(success: no reply)"}

// replyXML holds what a passive reply or a safe-mode envelope can carry.
// It is the simulator's reading aid, not a model of the protocol: the
// library's reply types only render.
// https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Passive_user_reply_message.html
type replyXML struct {
	XMLName      xml.Name `xml:"xml"`
	ToUserName   string
	FromUserName string
	MsgType      string
	Content      string
	Image        struct {
		MediaID string `xml:"MediaId"`
	}
	Voice struct {
		MediaID string `xml:"MediaId"`
	}
	Video struct {
		MediaID string `xml:"MediaId"`
		Title   string
	}
	Music struct {
		Title    string
		MusicURL string `xml:"MusicUrl"`
	}
	Articles []struct {
		Title string
		URL   string `xml:"Url"`
	} `xml:"Articles>item"`
	TransInfo struct{ KfAccount string }

	Encrypt, MsgSignature, TimeStamp, Nonce string
}

// decodeReply checks and decodes a 200 response the way WeChat does: in
// safe mode the msg_signature must verify and the ciphertext must be sealed
// for our appid; the reply must be addressed to the user who sent the push.
// https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Message_encryption_and_decryption_instructions.html
func decodeReply(t simTarget, body []byte) (simReply, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || string(body) == "success" {
		return successReply, nil
	}
	var x replyXML
	if err := xml.Unmarshal(body, &x); err != nil {
		return simReply{}, fmt.Errorf("reply is neither \"success\" nor XML: %w (body %.80q)", err, body)
	}
	switch {
	case t.Crypter == nil && x.Encrypt != "":
		return simReply{}, errors.New("encrypted reply to a plaintext push")
	case t.Crypter != nil && x.Encrypt == "":
		return simReply{}, errors.New("plaintext reply to a safe-mode push: WeChat expects it encrypted")
	case t.Crypter != nil:
		if !wechat.VerifyMsgSignature(t.Token, x.TimeStamp, x.Nonce, x.Encrypt, x.MsgSignature) {
			return simReply{}, errors.New("reply's MsgSignature does not verify")
		}
		plain, err := t.Crypter.Decrypt(x.Encrypt)
		if err != nil {
			return simReply{}, fmt.Errorf("decrypt reply: %w", err)
		}
		x = replyXML{}
		if err := xml.Unmarshal(plain, &x); err != nil {
			return simReply{}, fmt.Errorf("decrypted reply is not XML: %w", err)
		}
	}
	if x.ToUserName != t.OpenID || x.FromUserName != t.Account {
		return simReply{}, fmt.Errorf("reply goes from %q to %q; want from %q to %q",
			x.FromUserName, x.ToUserName, t.Account, t.OpenID)
	}
	return readable(x)
}

func readable(x replyXML) (simReply, error) {
	r := simReply{Type: x.MsgType}
	switch x.MsgType {
	case "text":
		r.Text = "text: " + x.Content
	case "image":
		r.Text = "image: media_id " + x.Image.MediaID
	case "voice":
		r.Text = "voice: media_id " + x.Voice.MediaID
	case "video":
		r.Text = fmt.Sprintf("video: %q media_id %s", x.Video.Title, x.Video.MediaID)
	case "music":
		r.Text = fmt.Sprintf("music: %q %s", x.Music.Title, x.Music.MusicURL)
	case "news":
		a := x.Articles
		if len(a) == 0 {
			return simReply{}, errors.New("news reply without articles")
		}
		if len(a) == 1 {
			r.Text = fmt.Sprintf("news: 1 article: %q %s", a[0].Title, a[0].URL)
			break
		}
		var b strings.Builder
		fmt.Fprintf(&b, "news: %d articles:", len(a))
		for i, art := range a {
			fmt.Fprintf(&b, "\n%d. %q %s", i+1, art.Title, art.URL)
		}
		r.Text = b.String()
	case "transfer_customer_service":
		r.Text = "transfer_customer_service: handed to the customer service desk"
		if k := x.TransInfo.KfAccount; k != "" {
			r.Text += " (agent " + k + ")"
		}
	case "":
		return simReply{}, errors.New("reply XML without MsgType")
	default:
		r.Text = x.MsgType + ": (a reply type the simulator does not know)"
	}
	return r, nil
}

// indent prefixes every line after the first, so multi-line replies line
// up under their arrow.
func indent(s, prefix string) string {
	return strings.ReplaceAll(s, "\n", "\n"+prefix)
}
