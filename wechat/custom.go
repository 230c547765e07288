package wechat

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// CustomMessage returns the JSON body of POST /cgi-bin/message/custom/send
// that sends r to openID, e.g.
//
//	{"msgtype":"text","text":{"content":"Hello"},"touser":"oUser"}
//
// so that an answer too late for the passive reply still reaches the user.
// It is r's neutral form under the API's field names (music_url becomes
// musicurl, pic_url picurl, ...). A news reply sends its first article
// only: the API takes one external article. transfer_customer_service
// exists only as a passive reply, so it is an error. A Mini Program's link
// and miniprogrampage replies exist only here (a link without title or
// url, or a card without title, pagepath or thumb_media_id, is an error):
//
//	{"msgtype":"link","link":{"description":"...","thumb_url":"...","title":"...","url":"..."},"touser":"oUser"}
//	{"msgtype":"miniprogrampage","miniprogrampage":{"pagepath":"pages/index/index","thumb_media_id":"...","title":"..."},"touser":"oUser"}
//
// https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Service_Center_messages.html
// https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/kf-mgnt/kf-message/sendCustomMessage.html
func CustomMessage(openID string, r Reply) ([]byte, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: nil reply", ErrInvalidReply)
	}
	d := r.Data()
	if d.Type == "transfer_customer_service" {
		return nil, fmt.Errorf("%w: a %s reply cannot be sent as a customer-service message", ErrInvalidReply, d.Type)
	}
	if c, ok := r.(interface{ checkCustom() error }); ok {
		if err := c.checkCustom(); err != nil {
			return nil, err
		}
	}
	var body any = customFields(replyFields[:], d.Field)
	if d.Type == "news" {
		if len(d.Articles) == 0 {
			return nil, fmt.Errorf("%w: customer-service news needs an article", ErrInvalidReply)
		}
		body = map[string]any{"articles": []map[string]string{customFields(articleFields[:], d.Articles[0].Field)}}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // URLs keep their & as is
	if err := enc.Encode(map[string]any{"touser": openID, "msgtype": d.Type, d.Type: body}); err != nil {
		return nil, fmt.Errorf("wechat: custom message: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
