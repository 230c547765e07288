package wechat

import (
	"fmt"
	"slices"
	"strings"
)

// Replies that exist only as customer-service messages: a Mini Program
// takes no passive reply, and answers through
// POST /cgi-bin/message/custom/send, whose link and miniprogrampage
// messages have no passive form. MarshalReply refuses them (ErrInvalidReply);
// CustomMessage sends them.
// https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/kf-mgnt/kf-message/sendCustomMessage.html

// LinkReply is a link card (图文链接) of a Mini Program's customer-service
// chat; Title and URL are required, ThumbURL is the card's picture.
type LinkReply struct{ Title, Description, URL, ThumbURL string }

// MiniProgramPageReply is a Mini Program card (小程序卡片): Title, PagePath
// (as in app.json, query allowed) and ThumbMediaID (an uploaded image) are
// required; AppID names the Mini Program where the API asks for one (an
// Official Account sending a card of a linked Mini Program).
type MiniProgramPageReply struct{ Title, AppID, PagePath, ThumbMediaID string }

var (
	_ Reply = (*LinkReply)(nil)
	_ Reply = (*MiniProgramPageReply)(nil)
)

// notPassive is the error of a reply that has no passive form.
func notPassive(t string) error {
	return fmt.Errorf("%w: a %s reply cannot be a passive reply; send it as a customer-service message", ErrInvalidReply, t)
}

func (*LinkReply) sizeHint() int                       { return 0 }
func (*LinkReply) appendBody(b []byte) ([]byte, error) { return b, notPassive("link") }

func (*MiniProgramPageReply) sizeHint() int { return 0 }
func (*MiniProgramPageReply) appendBody(b []byte) ([]byte, error) {
	return b, notPassive("miniprogrampage")
}

// checkCustom reports a customer-service message the API would refuse.
func (r *LinkReply) checkCustom() error {
	if r == nil || r.Title == "" || r.URL == "" {
		return missing("link", "title or url")
	}
	return nil
}

func (r *MiniProgramPageReply) checkCustom() error {
	if r == nil || r.Title == "" || r.PagePath == "" || r.ThumbMediaID == "" {
		return missing("miniprogrampage", "title, pagepath or thumb_media_id")
	}
	return nil
}

// Data returns the reply as ReplyData.
func (r *LinkReply) Data() ReplyData {
	if r == nil {
		return ReplyData{Type: "link"}
	}
	return ReplyData{Type: "link", Title: r.Title, Description: r.Description, URL: r.URL, ThumbURL: r.ThumbURL}
}

// String returns e.g. `link: "Title" https://example.com/`.
func (r *LinkReply) String() string {
	d := r.Data()
	return fmt.Sprintf("link: %q %s", d.Title, d.URL)
}

// Kind implements Reply.
func (*LinkReply) Kind() string { return "link" }

// Data returns the reply as ReplyData.
func (r *MiniProgramPageReply) Data() ReplyData {
	if r == nil {
		return ReplyData{Type: "miniprogrampage"}
	}
	return ReplyData{Type: "miniprogrampage", Title: r.Title, AppID: r.AppID, PagePath: r.PagePath, ThumbMediaID: r.ThumbMediaID}
}

// String returns e.g. `miniprogrampage: "Title" pages/index/index`.
func (r *MiniProgramPageReply) String() string {
	d := r.Data()
	return fmt.Sprintf("miniprogrampage: %q %s", d.Title, d.PagePath)
}

// Kind implements Reply.
func (*MiniProgramPageReply) Kind() string { return "miniprogrampage" }

// Channel is a way a reply reaches the user; which reply types each one
// carries differs.
type Channel uint8

// The channels of the three account kinds.
const (
	// PassiveReply: an Official Account's passive reply (MarshalReply).
	PassiveReply Channel = iota
	// WeComPassiveReply: a WeCom application's passive reply, which has no
	// music and no transfer to customer service.
	// https://developer.work.weixin.qq.com/document/path/90241
	WeComPassiveReply
	// MiniProgramCustomMessage: a Mini Program's customer-service message,
	// its only way to answer.
	MiniProgramCustomMessage
)

// channelTypes lists the reply types each Channel carries.
var channelTypes = [...][]string{
	PassiveReply:             {"text", "image", "voice", "video", "music", "news", "transfer_customer_service"},
	WeComPassiveReply:        {"text", "image", "voice", "video", "news"},
	MiniProgramCustomMessage: {"text", "image", "link", "miniprogrampage"},
}

// CheckReplyType returns nil when ch carries replies of type typ (a
// ReplyData type; "success", no reply, always passes), and otherwise an
// error wrapping ErrInvalidReply that lists what ch carries. Start-up uses
// it to refuse a rules file that answers with what the account cannot send.
func CheckReplyType(ch Channel, typ string) error {
	if int(ch) >= len(channelTypes) {
		return fmt.Errorf("wechat: unknown reply channel %d", ch)
	}
	if typ == "success" || slices.Contains(channelTypes[ch], typ) {
		return nil
	}
	return fmt.Errorf("%w: %s carries %s, not %s", ErrInvalidReply, ch, strings.Join(channelTypes[ch], ", "), typ)
}

// String names the channel.
func (ch Channel) String() string {
	switch ch {
	case PassiveReply:
		return "an Official Account's passive reply"
	case WeComPassiveReply:
		return "a WeCom passive reply"
	case MiniProgramCustomMessage:
		return "a Mini Program's customer-service message"
	}
	return fmt.Sprintf("Channel(%d)", uint8(ch))
}
