package wechat

import "strconv"

// Event pushes: MsgType "event" with an <Event> naming what happened.
// https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_event_pushes.html
// https://developers.weixin.qq.com/doc/offiaccount/Custom_Menus/Custom_Menu_Push_Events.html

// EventType is the <Event> of an event push. WeChat mixes cases; the
// constants are spelled exactly as it sends them.
type EventType string

// The events this package models. Anything else parses into *Unknown.
const (
	EventSubscribe             EventType = "subscribe"
	EventUnsubscribe           EventType = "unsubscribe"
	EventScan                  EventType = "SCAN"
	EventLocation              EventType = "LOCATION"
	EventClick                 EventType = "CLICK"
	EventView                  EventType = "VIEW"
	EventScancodePush          EventType = "scancode_push"
	EventScancodeWaitmsg       EventType = "scancode_waitmsg"
	EventPicSysphoto           EventType = "pic_sysphoto"
	EventPicPhotoOrAlbum       EventType = "pic_photo_or_album"
	EventPicWeixin             EventType = "pic_weixin"
	EventLocationSelect        EventType = "location_select"
	EventTemplateSendJobFinish EventType = "TEMPLATESENDJOBFINISH"
)

// EventHeader is the header of every event push.
type EventHeader struct {
	Header
	Event EventType
}

// EventHead returns the event header; embedding EventHeader makes a type an
// EventMessage.
func (e *EventHeader) EventHead() *EventHeader { return e }

// EventMessage is a modelled event (every type embedding EventHeader).
type EventMessage interface {
	Message
	EventHead() *EventHeader
}

// qrScenePrefix marks the EventKey of a follow that came through a
// parametric QR code.
const qrScenePrefix = "qrscene_"

// Subscribe is a follow. Through a parametric QR code EventKey is
// "qrscene_<scene>" and Ticket is set; a plain follow has neither.
type Subscribe struct {
	EventHeader
	EventKey string
	Ticket   string
}

// Scene returns the QR-code scene of the follow, or "" for a plain follow.
func (s *Subscribe) Scene() string {
	if len(s.EventKey) > len(qrScenePrefix) && s.EventKey[:len(qrScenePrefix)] == qrScenePrefix {
		return s.EventKey[len(qrScenePrefix):]
	}
	return ""
}

// Unsubscribe is an unfollow. Nothing can be sent to the user afterwards.
type Unsubscribe struct {
	EventHeader
}

// Scan is a scan of a parametric QR code by a user who already follows;
// EventKey is the scene without any prefix.
type Scan struct {
	EventHeader
	EventKey string
	Ticket   string
}

// LocationEvent is the periodic location report (LOCATION), sent when the
// user allowed it; not the location message a user shares.
type LocationEvent struct {
	EventHeader
	Latitude  float64
	Longitude float64
	Precision float64
}

// Click is a click on a menu button of type "click"; EventKey is its key.
type Click struct {
	EventHeader
	EventKey string
}

// View is a click on a menu button of type "view"; EventKey is the URL.
type View struct {
	EventHeader
	EventKey string
	MenuID   string
}

// ScanCodeInfo is what a scan-code menu button scanned.
type ScanCodeInfo struct {
	ScanType   string
	ScanResult string
}

// ScanCode is a scancode_push or scancode_waitmsg menu event.
type ScanCode struct {
	EventHeader
	EventKey     string
	ScanCodeInfo ScanCodeInfo
}

// PicItem is one picture sent through a picture menu button.
type PicItem struct {
	PicMd5Sum string
}

// SendPicsInfo lists the pictures sent through a picture menu button.
type SendPicsInfo struct {
	Count   int
	PicList []PicItem
}

// PicEvent is a pic_sysphoto, pic_photo_or_album or pic_weixin menu event.
type PicEvent struct {
	EventHeader
	EventKey     string
	SendPicsInfo SendPicsInfo
}

// SendLocationInfo is the place picked through a location_select button.
type SendLocationInfo struct {
	LocationX float64
	LocationY float64
	Scale     int
	Label     string
	Poiname   string
}

// LocationSelect is a location_select menu event.
type LocationSelect struct {
	EventHeader
	EventKey         string
	SendLocationInfo SendLocationInfo
}

// TemplateSendJobFinish reports the delivery of a template message. Status
// is "success", "failed:user block" or "failed: system failed".
// https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Template_Message_Interface.html
type TemplateSendJobFinish struct {
	EventHeader
	MsgID  int64 // from <MsgID>, spelled differently from the <MsgId> of messages
	Status string
}

var (
	_ EventMessage = (*Subscribe)(nil)
	_ EventMessage = (*Unsubscribe)(nil)
	_ EventMessage = (*Scan)(nil)
	_ EventMessage = (*LocationEvent)(nil)
	_ EventMessage = (*Click)(nil)
	_ EventMessage = (*View)(nil)
	_ EventMessage = (*ScanCode)(nil)
	_ EventMessage = (*PicEvent)(nil)
	_ EventMessage = (*LocationSelect)(nil)
	_ EventMessage = (*TemplateSendJobFinish)(nil)
)

// EventOf returns the event of m, or "" when m is not an event.
func EventOf(m Message) EventType {
	switch v := m.(type) {
	case EventMessage:
		return v.EventHead().Event
	case *Unknown:
		return v.Event
	}
	return ""
}

// EventKeyOf returns the EventKey of an event that carries one (subscribe,
// SCAN, CLICK, VIEW, scan-code, picture and location_select events), or "".
func EventKeyOf(m Message) string {
	switch v := m.(type) {
	case *Subscribe:
		return v.EventKey
	case *Scan:
		return v.EventKey
	case *Click:
		return v.EventKey
	case *View:
		return v.EventKey
	case *ScanCode:
		return v.EventKey
	case *PicEvent:
		return v.EventKey
	case *LocationSelect:
		return v.EventKey
	}
	return ""
}

// MsgIDOf returns the <MsgId> of an ordinary message, or 0 for events and
// for messages without one.
func MsgIDOf(m Message) int64 {
	switch v := m.(type) {
	case *Text:
		return v.MsgID
	case *Image:
		return v.MsgID
	case *Voice:
		return v.MsgID
	case *Video:
		return v.MsgID
	case *Location:
		return v.MsgID
	case *Link:
		return v.MsgID
	case *Unknown:
		if v.MsgType != MsgEvent {
			return v.MsgID
		}
	}
	return 0
}

// DedupKey identifies a push across WeChat's retries (it retries three times
// when no answer comes within five seconds). WeChat recommends MsgId for
// messages and FromUserName+CreateTime for events; the event and its
// EventKey are added so that two menu taps in one second stay two events.
// https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_standard_messages.html
func DedupKey(m Message) string {
	var buf [64]byte
	return string(AppendDedupKey(buf[:0], m))
}

// AppendDedupKey appends DedupKey(m) to dst: a caller that prefixes the
// key builds it in one allocation (it is made for every message).
func AppendDedupKey(dst []byte, m Message) []byte {
	if id := MsgIDOf(m); id != 0 {
		return strconv.AppendInt(append(dst, "msg:"...), id, 10)
	}
	h := m.Head()
	kind := string(EventOf(m))
	if h.MsgType != MsgEvent {
		kind = string(h.MsgType)
	}
	dst = append(append(dst, "evt:"...), h.FromUserName...)
	dst = strconv.AppendInt(append(dst, ':'), h.CreateTime, 10)
	dst = append(append(append(dst, ':'), kind...), ':')
	return append(dst, EventKeyOf(m)...)
}
