package wechat

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
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
// *VideoReply, *MusicReply, *NewsReply or *TransferCustomerServiceReply.
type Reply interface {
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
	b = appendCDATAElem(b, "ToUserName", toUser)
	b = appendCDATAElem(b, "FromUserName", fromUser)
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
	return appendCDATAElem(b, "MsgType", t)
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
	return appendCDATAElem(b, "Content", r.Content), nil
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
	b = appendCDATAElem(b, "MediaId", r.MediaID)
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
	b = appendCDATAElem(b, "MediaId", r.MediaID)
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
	b = appendCDATAElem(b, "MediaId", r.MediaID)
	b = appendCDATAElem(b, "Title", r.Title)
	b = appendCDATAElem(b, "Description", r.Description)
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
	b = appendCDATAElem(b, "Title", r.Title)
	b = appendCDATAElem(b, "Description", r.Description)
	b = appendCDATAElem(b, "MusicUrl", r.MusicURL)
	b = appendCDATAElem(b, "HQMusicUrl", r.HQMusicURL)
	b = appendCDATAElem(b, "ThumbMediaId", r.ThumbMediaID)
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
		b = appendCDATAElem(b, "Title", a.Title)
		b = appendCDATAElem(b, "Description", a.Description)
		b = appendCDATAElem(b, "PicUrl", a.PicURL)
		b = appendCDATAElem(b, "Url", a.URL)
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
		b = appendCDATAElem(b, "KfAccount", r.KfAccount)
		b = append(b, "</TransInfo>"...)
	}
	return b, nil
}

// appendCDATAElem appends <tag><![CDATA[v]]></tag>.
func appendCDATAElem(b []byte, tag, v string) []byte {
	b = append(b, '<')
	b = append(b, tag...)
	b = append(b, '>')
	b = appendCDATA(b, v)
	b = append(b, "</"...)
	b = append(b, tag...)
	return append(b, '>')
}

// appendCDATA appends v as CDATA. A CDATA section cannot contain "]]>", so
// each one is split across two sections: "]]" ends the first, ">" starts
// the next.
func appendCDATA(b []byte, v string) []byte {
	b = append(b, "<![CDATA["...)
	for {
		i := strings.Index(v, "]]>")
		if i < 0 {
			break
		}
		b = append(b, v[:i+2]...)
		b = append(b, "]]><![CDATA["...)
		v = v[i+2:]
	}
	b = append(b, v...)
	return append(b, "]]>"...)
}
