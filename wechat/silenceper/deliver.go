package silenceper

import (
	"context"
	"fmt"

	"github.com/silenceper/wechat/v2/officialaccount"
	"github.com/silenceper/wechat/v2/officialaccount/message"

	"wxoa/wechat"
)

// Deliverer sends a reply as a customer-service message through the SDK,
// and so with the managed token and the Transport's retry.
// https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Service_Center_messages.html
type Deliverer struct {
	OA *officialaccount.OfficialAccount
}

// Deliver sends reply to openID. The SDK's Send takes no context; the HTTP
// client's timeout bounds it, and ctx is checked before sending.
func (d Deliverer) Deliver(ctx context.Context, openID string, reply wechat.Reply) error {
	msg, err := CustomerMessage(openID, reply)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return Error("/cgi-bin/message/custom/send", d.OA.GetCustomerMessageManager().Send(msg))
}

// CustomerMessage converts a passive reply into its customer-service form.
func CustomerMessage(openID string, reply wechat.Reply) (*message.CustomerMessage, error) {
	m := &message.CustomerMessage{ToUser: openID}
	switch r := reply.(type) {
	case *wechat.TextReply:
		m.Msgtype, m.Text = message.MsgTypeText, &message.MediaText{Content: r.Content}
	case *wechat.ImageReply:
		m.Msgtype, m.Image = message.MsgTypeImage, &message.MediaResource{MediaID: r.MediaID}
	case *wechat.VoiceReply:
		m.Msgtype, m.Voice = message.MsgTypeVoice, &message.MediaResource{MediaID: r.MediaID}
	case *wechat.VideoReply:
		m.Msgtype = message.MsgTypeVideo
		m.Video = &message.MediaVideo{MediaID: r.MediaID, Title: r.Title, Description: r.Description}
	case *wechat.MusicReply:
		m.Msgtype = message.MsgTypeMusic
		m.Music = &message.MediaMusic{Title: r.Title, Description: r.Description, Musicurl: r.MusicURL,
			Hqmusicurl: r.HQMusicURL, ThumbMediaID: r.ThumbMediaID}
	case *wechat.NewsReply:
		if len(r.Articles) == 0 {
			return nil, fmt.Errorf("customer-service news needs an article")
		}
		a := r.Articles[0] // the customer-service API takes one external article
		m.Msgtype = message.MsgTypeNews
		m.News = &message.MediaNews{Articles: []message.MediaArticles{{Title: a.Title, Description: a.Description, URL: a.URL, Picurl: a.PicURL}}}
	default:
		return nil, fmt.Errorf("a %T reply cannot be sent as a customer-service message", reply)
	}
	return m, nil
}
