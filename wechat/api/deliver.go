package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"wxoa/wechat"
)

const (
	pathCustomSend  = "/cgi-bin/message/custom/send"
	pathMessageSend = "/cgi-bin/message/send"
)

// weComMaxArticles is how many articles a WeCom news message takes (45008
// beyond); a passive news reply holds no more.
const weComMaxArticles = 8

// Deliver sends r to toUser as a message from the account, with the
// account's token (Config.Tokens; a rejected one is refreshed and the send
// retried once): an answer that missed the passive reply's window, or a
// Mini Program's, which takes none. Like every POST it is not retried after
// a network error or a 5xx, which might have delivered it: a user would
// rather miss a late answer than get it twice. It implements the reply
// package's Deliverer.
//
// Official Accounts and Mini Programs: POST /cgi-bin/message/custom/send with
// wechat.CustomMessage's body; toUser is an openid.
// https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Service_Center_messages.html
// https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/kf-mgnt/kf-message/sendCustomMessage.html
//
// WeCom: POST /cgi-bin/message/send as the application (Config.AgentID);
// toUser is a userid. Text, image, voice, video and news (up to 8 articles)
// have WeCom forms; music and transfer_customer_service do not and are
// refused with wechat.ErrInvalidReply.
// https://developer.work.weixin.qq.com/document/path/90236
func (c *Client) Deliver(ctx context.Context, toUser string, r wechat.Reply) error {
	if toUser == "" {
		return fmt.Errorf("%w: no recipient", wechat.ErrInvalidReply)
	}
	if c.cfg.Platform != wechat.PlatformWeCom {
		body, err := wechat.CustomMessage(toUser, r)
		if err != nil {
			return err
		}
		return c.Do(ctx, http.MethodPost, pathCustomSend, json.RawMessage(body), nil)
	}
	msg, err := weComMessage(toUser, c.agentID, r)
	if err != nil {
		return err
	}
	var out struct {
		InvalidUser    string `json:"invaliduser"`
		UnlicensedUser string `json:"unlicenseduser"`
	}
	if err := c.Do(ctx, http.MethodPost, pathMessageSend, msg, &out); err != nil {
		return err
	}
	// WeCom sends what it can and names the recipients it skipped; with one
	// recipient, a skipped one is an undelivered message. The userid is not
	// repeated: it is the caller's to log.
	switch {
	case out.InvalidUser != "":
		return fmt.Errorf("wecom %s: not delivered: the recipient is not a member the application can reach (invaliduser)", pathMessageSend)
	case out.UnlicensedUser != "":
		return fmt.Errorf("wecom %s: not delivered: the recipient has no interface licence (unlicenseduser)", pathMessageSend)
	}
	return nil
}

// weComSend is the body of WeCom's message/send for one recipient.
type weComSend struct {
	ToUser  string         `json:"touser"`
	MsgType string         `json:"msgtype"`
	AgentID int64          `json:"agentid"`
	Text    *weComText     `json:"text,omitempty"`
	Image   *weComMedia    `json:"image,omitempty"`
	Voice   *weComMedia    `json:"voice,omitempty"`
	Video   *weComVideo    `json:"video,omitempty"`
	News    *weComNewsBody `json:"news,omitempty"`
}

type weComText struct {
	Content string `json:"content"`
}

type weComMedia struct {
	MediaID string `json:"media_id"`
}

type weComVideo struct {
	MediaID     string `json:"media_id"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
}

type weComNewsBody struct {
	Articles []weComArticle `json:"articles"`
}

type weComArticle struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	URL         string `json:"url,omitempty"`
	PicURL      string `json:"picurl,omitempty"`
}

// weComMessage renders r as WeCom's message/send body, from r's neutral
// form so that it knows no reply type's struct.
func weComMessage(toUser string, agentID int64, r wechat.Reply) (*weComSend, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: nil reply", wechat.ErrInvalidReply)
	}
	d := r.Data()
	m := &weComSend{ToUser: toUser, MsgType: d.Type, AgentID: agentID}
	switch d.Type {
	case "text":
		m.Text = &weComText{Content: d.Content}
	case "image":
		m.Image = &weComMedia{MediaID: d.MediaID}
	case "voice":
		m.Voice = &weComMedia{MediaID: d.MediaID}
	case "video":
		m.Video = &weComVideo{MediaID: d.MediaID, Title: d.Title, Description: d.Description}
	case "news":
		if len(d.Articles) == 0 {
			return nil, fmt.Errorf("%w: news needs an article", wechat.ErrInvalidReply)
		}
		n := &weComNewsBody{}
		for _, a := range d.Articles[:min(len(d.Articles), weComMaxArticles)] {
			n.Articles = append(n.Articles, weComArticle{Title: a.Title, Description: a.Description, URL: a.URL, PicURL: a.PicURL})
		}
		m.News = n
	default:
		return nil, fmt.Errorf("%w: a %s reply has no WeCom application-message form", wechat.ErrInvalidReply, d.Type)
	}
	return m, nil
}
