package wechat

import (
	"errors"
	"fmt"
	"strconv"
)

// Passive replies: the XML answered in the body of the callback response.
// https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Passive_user_reply_message.html

// SuccessReply is the body that acknowledges a push without replying; an
// empty body does the same.
var SuccessReply = []byte("success")

// ErrInvalidReply is returned by MarshalReply for a reply WeChat would
// reject (the user would see "该公众号暂时无法提供服务").
var ErrInvalidReply = errors.New("wechat: invalid reply")

// maxArticles is the most news articles a passive reply may carry.
const maxArticles = 8

// Reply is a passive reply: *TextReply, *ImageReply, *VoiceReply,
// *VideoReply, *MusicReply, *NewsReply or *TransferCustomerServiceReply;
// or a reply that only a customer-service message carries, *LinkReply or
// *MiniProgramPageReply (MarshalReply refuses those).
type Reply interface {
	// Data returns the reply in neutral form; ReplyData.Reply is its
	// inverse.
	Data() ReplyData
	// String returns the reply as a user would read it, e.g. `text: Hello`.
	String() string
	// Kind is the reply's MsgType ("text", "news", ...), for counting
	// replies without a type switch or a copy.
	Kind() string
	// appendBody appends <MsgType> and the type's elements.
	appendBody(b []byte) ([]byte, error)
	sizeHint() int
}

// TextReply answers with text.
type TextReply struct{ Content string }

// ImageReply answers with an uploaded image.
type ImageReply struct{ MediaID string }

// VoiceReply answers with an uploaded voice clip.
type VoiceReply struct{ MediaID string }

// VideoReply answers with an uploaded video.
type VideoReply struct{ MediaID, Title, Description string }

// MusicReply answers with music; ThumbMediaID (an uploaded thumbnail) is
// required, the rest optional.
type MusicReply struct{ Title, Description, MusicURL, HQMusicURL, ThumbMediaID string }

// Article is one entry of a news reply.
type Article struct{ Title, Description, PicURL, URL string }

// NewsReply answers with 1 to 8 articles. (After a user's message WeChat
// shows only one; 8 are possible for replies to events.)
type NewsReply struct{ Articles []Article }

// TransferCustomerServiceReply hands the conversation to the customer
// service system, to KfAccount if set.
// https://developers.weixin.qq.com/doc/offiaccount/Customer_Service/Forwarding_of_messages_to_service_center.html
type TransferCustomerServiceReply struct{ KfAccount string }

var (
	_ Reply = (*TextReply)(nil)
	_ Reply = (*ImageReply)(nil)
	_ Reply = (*VoiceReply)(nil)
	_ Reply = (*VideoReply)(nil)
	_ Reply = (*MusicReply)(nil)
	_ Reply = (*NewsReply)(nil)
	_ Reply = (*TransferCustomerServiceReply)(nil)
)

// MarshalReply renders r as the reply XML. toUser is the openid the push
// came from, fromUser the account's original id (the push's ToUserName).
func MarshalReply(toUser, fromUser string, createTime int64, r Reply) ([]byte, error) {
	// The header's markup is about 150 bytes; each type adds its own.
	n := 180 + len(toUser) + len(fromUser)
	if r != nil {
		n += r.sizeHint()
	}
	return AppendReply(make([]byte, 0, n), toUser, fromUser, createTime, r)
}

// AppendReply is MarshalReply appending to dst.
func AppendReply(dst []byte, toUser, fromUser string, createTime int64, r Reply) ([]byte, error) {
	if toUser == "" || fromUser == "" {
		return dst, fmt.Errorf("%w: empty ToUserName or FromUserName", ErrInvalidReply)
	}
	if r == nil {
		return dst, fmt.Errorf("%w: nil reply", ErrInvalidReply)
	}
	b := append(dst, "<xml>"...)
	b = AppendCDATAElem(b, "ToUserName", toUser)
	b = AppendCDATAElem(b, "FromUserName", fromUser)
	b = append(b, "<CreateTime>"...)
	b = strconv.AppendInt(b, createTime, 10)
	b = append(b, "</CreateTime>"...)
	b, err := r.appendBody(b)
	if err != nil {
		return dst, err
	}
	return append(b, "</xml>"...), nil
}

func appendMsgType(b []byte, t string) []byte {
	return AppendCDATAElem(b, "MsgType", t)
}

func missing(t, field string) error {
	return fmt.Errorf("%w: %s reply without %s", ErrInvalidReply, t, field)
}

func (r *TextReply) sizeHint() int {
	if r == nil {
		return 0
	}
	return 40 + len(r.Content)
}
func (r *TextReply) appendBody(b []byte) ([]byte, error) {
	if r == nil || r.Content == "" {
		return b, missing("text", "Content") // WeChat shows an error for an empty text
	}
	b = appendMsgType(b, "text")
	return AppendCDATAElem(b, "Content", r.Content), nil
}

func (r *ImageReply) sizeHint() int {
	if r == nil {
		return 0
	}
	return 64 + len(r.MediaID)
}
func (r *ImageReply) appendBody(b []byte) ([]byte, error) {
	if r == nil || r.MediaID == "" {
		return b, missing("image", "MediaId")
	}
	b = appendMsgType(b, "image")
	b = append(b, "<Image>"...)
	b = AppendCDATAElem(b, "MediaId", r.MediaID)
	return append(b, "</Image>"...), nil
}

func (r *VoiceReply) sizeHint() int {
	if r == nil {
		return 0
	}
	return 64 + len(r.MediaID)
}
func (r *VoiceReply) appendBody(b []byte) ([]byte, error) {
	if r == nil || r.MediaID == "" {
		return b, missing("voice", "MediaId")
	}
	b = appendMsgType(b, "voice")
	b = append(b, "<Voice>"...)
	b = AppendCDATAElem(b, "MediaId", r.MediaID)
	return append(b, "</Voice>"...), nil
}

func (r *VideoReply) sizeHint() int {
	if r == nil {
		return 0
	}
	return 128 + len(r.MediaID) + len(r.Title) + len(r.Description)
}
func (r *VideoReply) appendBody(b []byte) ([]byte, error) {
	if r == nil || r.MediaID == "" {
		return b, missing("video", "MediaId")
	}
	b = appendMsgType(b, "video")
	b = append(b, "<Video>"...)
	b = AppendCDATAElem(b, "MediaId", r.MediaID)
	b = AppendCDATAElem(b, "Title", r.Title)
	b = AppendCDATAElem(b, "Description", r.Description)
	return append(b, "</Video>"...), nil
}

func (r *MusicReply) sizeHint() int {
	if r == nil {
		return 0
	}
	return 200 + len(r.Title) + len(r.Description) + len(r.MusicURL) + len(r.HQMusicURL) + len(r.ThumbMediaID)
}
func (r *MusicReply) appendBody(b []byte) ([]byte, error) {
	if r == nil || r.ThumbMediaID == "" {
		return b, missing("music", "ThumbMediaId")
	}
	b = appendMsgType(b, "music")
	b = append(b, "<Music>"...)
	b = AppendCDATAElem(b, "Title", r.Title)
	b = AppendCDATAElem(b, "Description", r.Description)
	b = AppendCDATAElem(b, "MusicUrl", r.MusicURL)
	b = AppendCDATAElem(b, "HQMusicUrl", r.HQMusicURL)
	b = AppendCDATAElem(b, "ThumbMediaId", r.ThumbMediaID)
	return append(b, "</Music>"...), nil
}

func (r *NewsReply) sizeHint() int {
	n := 64
	if r != nil {
		for _, a := range r.Articles {
			n += 160 + len(a.Title) + len(a.Description) + len(a.PicURL) + len(a.URL)
		}
	}
	return n
}
func (r *NewsReply) appendBody(b []byte) ([]byte, error) {
	if r == nil || len(r.Articles) == 0 || len(r.Articles) > maxArticles {
		n := 0
		if r != nil {
			n = len(r.Articles)
		}
		return b, fmt.Errorf("%w: news reply with %d articles, want 1 to %d", ErrInvalidReply, n, maxArticles)
	}
	for i, a := range r.Articles {
		if a.Title == "" || a.URL == "" {
			return b, fmt.Errorf("%w: news article %d without Title or Url", ErrInvalidReply, i)
		}
	}
	b = appendMsgType(b, "news")
	b = append(b, "<ArticleCount>"...)
	b = strconv.AppendInt(b, int64(len(r.Articles)), 10)
	b = append(b, "</ArticleCount><Articles>"...)
	for _, a := range r.Articles {
		b = append(b, "<item>"...)
		b = AppendCDATAElem(b, "Title", a.Title)
		b = AppendCDATAElem(b, "Description", a.Description)
		b = AppendCDATAElem(b, "PicUrl", a.PicURL)
		b = AppendCDATAElem(b, "Url", a.URL)
		b = append(b, "</item>"...)
	}
	return append(b, "</Articles>"...), nil
}

func (r *TransferCustomerServiceReply) sizeHint() int { return 96 }
func (r *TransferCustomerServiceReply) appendBody(b []byte) ([]byte, error) {
	if r == nil {
		return b, fmt.Errorf("%w: nil transfer_customer_service reply", ErrInvalidReply)
	}
	b = appendMsgType(b, "transfer_customer_service")
	if r.KfAccount != "" {
		b = append(b, "<TransInfo>"...)
		b = AppendCDATAElem(b, "KfAccount", r.KfAccount)
		b = append(b, "</TransInfo>"...)
	}
	return b, nil
}
