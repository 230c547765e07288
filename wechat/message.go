package wechat

// Ordinary messages a user sends to the account, pushed to the callback URL.
// https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_standard_messages.html

// MsgType is the <MsgType> of a pushed message.
type MsgType string

// The message types WeChat pushes. Anything else parses into *Unknown.
const (
	MsgText       MsgType = "text"
	MsgImage      MsgType = "image"
	MsgVoice      MsgType = "voice"
	MsgVideo      MsgType = "video"
	MsgShortVideo MsgType = "shortvideo"
	MsgLocation   MsgType = "location"
	MsgLink       MsgType = "link"
	MsgEvent      MsgType = "event"
)

// Header holds the fields every pushed message carries. ToUserName is the
// account's original id (gh_...), FromUserName the sender's openid; for
// WeCom they are the corp id and the member's userid, and AgentID names the
// application the push is for (set by ParseWeComMessage only, so that a
// forward's JSON of any other push is as it was).
type Header struct {
	ToUserName   string
	FromUserName string
	CreateTime   int64
	MsgType      MsgType
	AgentID      string `json:",omitempty"`
}

// Head returns the header; embedding Header makes a type a Message.
func (h *Header) Head() *Header { return h }

// Message is any parsed callback message: one of the concrete pointer types
// in this package (*Text, *Subscribe, ..., *Unknown). Switch on the type.
type Message interface {
	Head() *Header
}

// Text is a text message.
type Text struct {
	Header
	Content string
	MsgID   int64
}

// Image is a picture message.
type Image struct {
	Header
	PicURL  string
	MediaID string
	MsgID   int64
}

// Voice is a voice message. Recognition is set only when the account has
// speech recognition turned on.
type Voice struct {
	Header
	MediaID     string
	Format      string
	Recognition string
	MsgID       int64
}

// Video is a video or a short video message (MsgType tells them apart).
type Video struct {
	Header
	MediaID      string
	ThumbMediaID string
	MsgID        int64
}

// Location is a location message (the user shared a place), not the
// periodic LOCATION event.
type Location struct {
	Header
	LocationX float64 // latitude
	LocationY float64 // longitude
	Scale     int
	Label     string
	MsgID     int64
}

// Link is a link message.
type Link struct {
	Header
	Title       string
	Description string
	URL         string
	MsgID       int64
}

// Unknown is a message or event this package does not model. It is not an
// error: WeChat adds types over time, and the right answer is "success".
type Unknown struct {
	Header
	Event EventType
	MsgID int64 // the <MsgId>, when the message has a well-formed one
}

// Compile-time checks that every concrete type is a Message.
var (
	_ Message = (*Text)(nil)
	_ Message = (*Image)(nil)
	_ Message = (*Voice)(nil)
	_ Message = (*Video)(nil)
	_ Message = (*Location)(nil)
	_ Message = (*Link)(nil)
	_ Message = (*Unknown)(nil)
)
