package metrics

import (
	"strings"

	"wxoa/wechat"
)

// Callback modes: how the message reached us.
const (
	ModePlain  = "plain"  // plaintext: no encrypt_type
	ModeCompat = "compat" // encrypt_type=aes with the plaintext fields alongside <Encrypt>
	ModeSafe   = "safe"   // encrypt_type=aes, <Encrypt> only
)

// Reasons a callback is refused (wxoa_callback_rejections_total).
const (
	RejectBadSignature     = "bad_signature"     // signature or msg_signature does not match, or a plaintext query came back with another body (403)
	RejectStaleTimestamp   = "stale_timestamp"   // outside MaxClockSkew (403): a replay, or a clock off
	RejectBadXML           = "bad_xml"           // malformed message or envelope (400)
	RejectDecrypt          = "decrypt"           // the ciphertext does not open with our key (400)
	RejectTooLarge         = "too_large"         // body over MaxBody (413)
	RejectPlaintextRefused = "plaintext_refused" // plaintext while an AES key is set (400)
	RejectNoKey            = "no_key"            // encrypted while no AES key is set (400)
	RejectMissingParams    = "missing_params"    // no signature, timestamp, nonce, echostr or msg_signature (400)
)

// Reply kinds (wxoa_replies_total): the passive reply types, and
// "success" for an acknowledgement without a reply.
const (
	KindText     = "text"
	KindImage    = "image"
	KindVoice    = "voice"
	KindVideo    = "video"
	KindMusic    = "music"
	KindNews     = "news"
	KindTransfer = "transfer_customer_service"
	KindLink     = "link"            // a Mini Program's customer-service message
	KindMiniPage = "miniprogrampage" // ... and its Mini Program card
	KindSuccess  = "success"
)

// Forward outcomes (wxoa_forwards_total), as reply.ForwardStats counts them.
const (
	ForwardInTime         = "in_time"         // answered within the deadline
	ForwardLate           = "late"            // answered "success", delivery pending
	ForwardDelivered      = "delivered"       // a late answer sent by customer-service message
	ForwardDeliveryFailed = "delivery_failed" // a late answer that could not be sent
	ForwardFailed         = "failed"          // the endpoint failed or answered nonsense
)

// Read-only label tables. Each a caller's string is looked up in ends
// with its "other"; forwardLabels has none, its values coming from
// ForwardCounts' fields.
var (
	modeLabels   = [...]string{ModePlain, ModeCompat, ModeSafe, Other}
	reasonLabels = [...]string{RejectBadSignature, RejectStaleTimestamp, RejectBadXML, RejectDecrypt,
		RejectTooLarge, RejectPlaintextRefused, RejectNoKey, RejectMissingParams, Other}
	kindLabels    = [...]string{KindText, KindImage, KindVoice, KindVideo, KindMusic, KindNews, KindTransfer, KindLink, KindMiniPage, KindSuccess, Other}
	forwardLabels = [...]string{ForwardInTime, ForwardLate, ForwardDelivered, ForwardDeliveryFailed, ForwardFailed}

	// typeLabels are WeChat's message types and, as "event:<Event>", the
	// events it pushes to an official account.
	// https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_event_pushes.html
	typeLabels = [...]string{
		"text", "image", "voice", "video", "shortvideo", "location", "link",
		"event:subscribe", "event:unsubscribe", "event:SCAN", "event:LOCATION", "event:CLICK", "event:VIEW",
		"event:scancode_push", "event:scancode_waitmsg", "event:pic_sysphoto", "event:pic_photo_or_album",
		"event:pic_weixin", "event:location_select", "event:view_miniprogram",
		"event:TEMPLATESENDJOBFINISH", "event:MASSSENDJOBFINISH",
		"event:subscribe_msg_popup_event", "event:subscribe_msg_change_event", "event:subscribe_msg_sent_event",
		eventOther, Other,
	}
	typeIndex  = indexOf(typeLabels[:], "")
	eventIndex = indexOf(typeLabels[:numTypes-2], eventPrefix) // by bare <Event>
)

const (
	numModes   = len(modeLabels)
	numReasons = len(reasonLabels)
	numKinds   = len(kindLabels)
	numTypes   = len(typeLabels)

	eventPrefix = "event:"
	eventOther  = "event:other" // an event outside typeLabels
)

// indexOf maps the labels starting with prefix, without it, to their index.
func indexOf(labels []string, prefix string) map[string]int {
	idx := make(map[string]int, len(labels))
	for i, l := range labels {
		if rest, ok := strings.CutPrefix(l, prefix); ok {
			idx[rest] = i
		}
	}
	return idx
}

// find returns the index of v in labels, or of the last ("other").
func find(labels []string, v string) int {
	for i, l := range labels[:len(labels)-1] {
		if l == v {
			return i
		}
	}
	return len(labels) - 1
}

// typeIndexOf returns the index of a Callback type: "text", "event:CLICK";
// "event" or an unknown "event:..." is eventOther.
func typeIndexOf(t string) int {
	if i, ok := typeIndex[t]; ok {
		return i
	}
	if t == "event" || strings.HasPrefix(t, eventPrefix) {
		return numTypes - 2
	}
	return numTypes - 1
}

// TypeOf returns the Callback type of a parsed message: its MsgType, or
// "event:<Event>" for an event push. The string comes from a table: no
// allocation.
func TypeOf(msg wechat.Message) string {
	if msg == nil {
		return Other
	}
	h := msg.Head()
	if h.MsgType != wechat.MsgEvent {
		if i, ok := typeIndex[string(h.MsgType)]; ok && !strings.HasPrefix(typeLabels[i], eventPrefix) {
			return typeLabels[i]
		}
		return Other
	}
	var ev wechat.EventType
	switch e := msg.(type) {
	case wechat.EventMessage:
		ev = e.EventHead().Event
	case *wechat.Unknown:
		ev = e.Event
	}
	if i, ok := eventIndex[string(ev)]; ok {
		return typeLabels[i]
	}
	return eventOther
}

// ReplyKind returns the Reply kind of a passive reply; nil is "success".
func ReplyKind(r wechat.Reply) string {
	if r == nil {
		return KindSuccess
	}
	return r.Kind()
}
