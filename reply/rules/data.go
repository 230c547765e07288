package rules

import (
	"strings"

	"wxoa/wechat"
)

// Data is the dot of reply templates: the incoming message flattened into
// the fields rules most often need, plus the typed message as Msg for the
// rest ({{.Msg.LocationX}}, {{.Msg.ScanCodeInfo.ScanResult}}). Fields a
// message does not have are "".
type Data struct {
	ToUserName   string // the account's original id (gh_...)
	FromUserName string // the sender's openid
	CreateTime   int64  // Unix seconds
	MsgType      string // text, image, voice, ..., event
	Content      string // text messages
	Event        string // events: subscribe, CLICK, ...
	EventKey     string // events that carry a key (menu key, qrscene_...)
	Scene        string // QR-code scene of subscribe (without qrscene_) and SCAN
	Recognition  string // voice messages, when speech recognition is on
	Label        string // location messages and location_select events
	AgentID      string // WeCom: the application the push is for
	Match        []string
	Rest         string // prefix rules: the text after the prefix, trimmed
	Msg          wechat.Message

	words string // see Data.text
}

// dataOf flattens msg. It copies string headers only, so it costs nothing
// worth measuring and keeps Data on the caller's stack.
func dataOf(msg wechat.Message, d *Data) {
	h := msg.Head()
	*d = Data{
		ToUserName:   h.ToUserName,
		FromUserName: h.FromUserName,
		CreateTime:   h.CreateTime,
		MsgType:      string(h.MsgType),
		AgentID:      h.AgentID,
		Event:        string(wechat.EventOf(msg)),
		EventKey:     wechat.EventKeyOf(msg),
		Msg:          msg,
	}
	switch m := msg.(type) {
	case *wechat.Text:
		d.Content = m.Content
		d.words = strings.TrimSpace(m.Content)
	case *wechat.Voice:
		d.Recognition = m.Recognition
		d.words = strings.TrimSpace(m.Recognition)
	case *wechat.Location:
		d.Label = m.Label
	case *wechat.LocationSelect:
		d.Label = m.SendLocationInfo.Label
	case *wechat.Subscribe:
		d.Scene = m.Scene()
	case *wechat.Scan:
		d.Scene = m.EventKey
	}
}

// text is what keyword, prefix and regex rules look at: what the user typed,
// or what WeChat recognised in a voice message, trimmed.
func (d *Data) text() string { return d.words }

// isEvent reports whether the push is an event rather than a user message.
func (d *Data) isEvent() bool { return d.MsgType == string(wechat.MsgEvent) }
