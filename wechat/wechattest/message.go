package wechattest

import (
	"encoding/json"
	"strconv"

	"wxoa/wechat"
)

// Message is a push a simulated user sends: the type-specific elements, in
// the order WeChat writes them. The header (ToUserName, FromUserName,
// CreateTime, MsgType, Event) and MsgId are added by XML, so one Message
// can be sent by any user at any time.
// https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_standard_messages.html
// https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_event_pushes.html
type Message struct {
	MsgType string
	Event   string      // events only
	Fields  [][2]string // element name, text
}

// Text is a text message.
func Text(content string) Message {
	return Message{MsgType: "text", Fields: [][2]string{{"Content", content}}}
}

// Event is an event push with the given elements after <Event>, e.g.
// Event("CLICK", [2]string{"EventKey", "HELP"}).
func Event(event string, fields ...[2]string) Message {
	return Message{MsgType: "event", Event: event, Fields: fields}
}

// Click is a press of a menu button of type click.
func Click(key string) Message { return Event("CLICK", [2]string{"EventKey", key}) }

// HasMsgID reports whether WeChat gives the push a MsgId: ordinary
// messages have one, events do not (WeChat tells their retries apart by
// sender and CreateTime).
func (m Message) HasMsgID() bool { return m.MsgType != "event" }

// XML renders the plaintext body of the push from openID to the account
// (its original id); msgID is left out for events.
func (m Message) XML(account, openID string, createTime, msgID int64) []byte {
	b := make([]byte, 0, 256)
	b = append(b, "<xml>"...)
	b = wechat.AppendCDATAElem(b, "ToUserName", account)
	b = wechat.AppendCDATAElem(b, "FromUserName", openID)
	b = appendElem(b, "CreateTime", strconv.FormatInt(createTime, 10))
	b = wechat.AppendCDATAElem(b, "MsgType", m.MsgType)
	if m.Event != "" {
		b = wechat.AppendCDATAElem(b, "Event", m.Event)
	}
	for _, f := range m.Fields {
		if isNumberField(f[0]) {
			b = appendElem(b, f[0], f[1])
			continue
		}
		b = wechat.AppendCDATAElem(b, f[0], f[1])
	}
	if m.HasMsgID() {
		b = appendElem(b, "MsgId", strconv.FormatInt(msgID, 10))
	}
	return append(b, "</xml>"...)
}

// JSON renders the push as a Mini Program whose data format is JSON gets
// it: the same fields, numbers as JSON numbers.
// https://developers.weixin.qq.com/miniprogram/dev/framework/server-ability/message-push.html
func (m Message) JSON(account, openID string, createTime, msgID int64) []byte {
	b := make([]byte, 0, 256)
	b = append(b, '{')
	field := func(k, v string, number bool) {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, k)
		b = append(b, ':')
		if number {
			b = append(b, v...)
		} else {
			q, _ := json.Marshal(v)
			b = append(b, q...)
		}
	}
	field("ToUserName", account, false)
	field("FromUserName", openID, false)
	field("CreateTime", strconv.FormatInt(createTime, 10), true)
	field("MsgType", m.MsgType, false)
	if m.Event != "" {
		field("Event", m.Event, false)
	}
	for _, f := range m.Fields {
		field(f[0], f[1], isNumberField(f[0]))
	}
	if m.HasMsgID() {
		field("MsgId", strconv.FormatInt(msgID, 10), true)
	}
	return append(b, '}')
}

// appendElem appends <tag>v</tag> for a number, which WeChat writes
// without CDATA.
func appendElem(b []byte, tag, v string) []byte {
	b = append(b, '<')
	b = append(b, tag...)
	b = append(b, '>')
	b = append(b, v...)
	b = append(b, "</"...)
	b = append(b, tag...)
	return append(b, '>')
}

func isNumberField(name string) bool {
	switch name {
	case "Location_X", "Location_Y", "Scale", "Latitude", "Longitude", "Precision":
		return true
	}
	return false
}
