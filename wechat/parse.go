package wechat

import (
	"fmt"
	"strconv"
	"strings"
)

// Field tags ParseMessage reads at the top level of <xml>.
const (
	fTo = iota
	fFrom
	fCreateTime
	fMsgType
	fEvent
	fContent
	fMsgId // messages spell it MsgId ...
	fMsgID // ... and TEMPLATESENDJOBFINISH spells it MsgID
	fPicURL
	fMediaID
	fFormat
	fRecognition
	fThumbMediaID
	fLocationX
	fLocationY
	fScale
	fLabel
	fTitle
	fDescription
	fURL
	fEventKey
	fTicket
	fLatitude
	fLongitude
	fPrecision
	fMenuID
	fStatus
	fScanCodeInfo
	fSendPicsInfo
	fSendLocationInfo
	fAgentID
	numFields
)

var fieldTags = [numFields]string{
	"ToUserName", "FromUserName", "CreateTime", "MsgType", "Event", "Content", "MsgId", "MsgID",
	"PicUrl", "MediaId", "Format", "Recognition", "ThumbMediaId", "Location_X", "Location_Y",
	"Scale", "Label", "Title", "Description", "Url", "EventKey", "Ticket", "Latitude",
	"Longitude", "Precision", "MenuId", "Status", "ScanCodeInfo", "SendPicsInfo", "SendLocationInfo",
	"AgentID",
}

func topField(name string) int {
	switch name {
	case "ToUserName":
		return fTo
	case "FromUserName":
		return fFrom
	case "CreateTime":
		return fCreateTime
	case "MsgType":
		return fMsgType
	case "Event":
		return fEvent
	case "Content":
		return fContent
	case "MsgId":
		return fMsgId
	case "MsgID":
		return fMsgID
	case "PicUrl":
		return fPicURL
	case "MediaId":
		return fMediaID
	case "Format":
		return fFormat
	case "Recognition":
		return fRecognition
	case "ThumbMediaId":
		return fThumbMediaID
	case "Location_X":
		return fLocationX
	case "Location_Y":
		return fLocationY
	case "Scale":
		return fScale
	case "Label":
		return fLabel
	case "Title":
		return fTitle
	case "Description":
		return fDescription
	case "Url":
		return fURL
	case "EventKey":
		return fEventKey
	case "Ticket":
		return fTicket
	case "Latitude":
		return fLatitude
	case "Longitude":
		return fLongitude
	case "Precision":
		return fPrecision
	case "MenuId":
		return fMenuID
	case "Status":
		return fStatus
	case "ScanCodeInfo":
		return fScanCodeInfo
	case "SendPicsInfo":
		return fSendPicsInfo
	case "SendLocationInfo":
		return fSendLocationInfo
	case "AgentID":
		return fAgentID
	}
	return -1
}

// ParseMessage parses a plaintext callback body (or a decrypted one) into
// one of the concrete message types. Unknown message and event types give
// *Unknown, not an error; errors (wrapping ErrMalformedMessage) mean the
// body is not well-formed WeChat XML or lacks ToUserName, FromUserName,
// CreateTime or MsgType. A repeated field that the message type reads is
// rejected rather than guessed at.
//
// The returned strings share one copy of body, so body may be reused.
func ParseMessage(body []byte) (Message, error) {
	var buf [32]node
	nodes, err := scanXML(string(body), buf[:0])
	if err != nil {
		return nil, err
	}
	return messageOf(nodes, false)
}

// messageOf builds the message the scanned nodes of a push describe (XML or
// JSON alike). wecom reads WeCom's AgentID and its spelling of menu events.
func messageOf(nodes []node, wecom bool) (Message, error) {
	var ferr error
	f := fieldReader{nodes: nodes, err: &ferr, wecom: wecom}
	for i := 1; i < len(nodes); i++ {
		if nodes[i].parent != 0 {
			continue
		}
		k := topField(nodes[i].name)
		if k < 0 {
			continue
		}
		if f.idx[k] != 0 {
			f.dup |= 1 << k // an error only if the message type reads it
			continue
		}
		f.idx[k] = int32(i)
	}
	h := Header{
		ToUserName:   f.str(fTo),
		FromUserName: f.str(fFrom),
		CreateTime:   f.int64(fCreateTime),
		MsgType:      MsgType(f.str(fMsgType)),
	}
	if wecom {
		h.AgentID = f.str(fAgentID)
	}
	for _, k := range [...]int{fTo, fFrom, fCreateTime, fMsgType} {
		if f.idx[k] == 0 || nodes[f.idx[k]].val == "" {
			f.fail(fmt.Errorf("%w: missing <%s>", ErrMalformedMessage, fieldTags[k]))
		}
	}
	m := f.build(h)
	if ferr != nil {
		return nil, ferr
	}
	return m, nil
}

func (f *fieldReader) build(h Header) Message {
	switch h.MsgType {
	case MsgText:
		return &Text{Header: h, Content: f.str(fContent), MsgID: f.int64(fMsgId)}
	case MsgImage:
		return &Image{Header: h, PicURL: f.str(fPicURL), MediaID: f.str(fMediaID), MsgID: f.int64(fMsgId)}
	case MsgVoice:
		return &Voice{Header: h, MediaID: f.str(fMediaID), Format: f.str(fFormat),
			Recognition: f.str(fRecognition), MsgID: f.int64(fMsgId)}
	case MsgVideo, MsgShortVideo:
		return &Video{Header: h, MediaID: f.str(fMediaID), ThumbMediaID: f.str(fThumbMediaID), MsgID: f.int64(fMsgId)}
	case MsgLocation:
		return &Location{Header: h, LocationX: f.float(fLocationX), LocationY: f.float(fLocationY),
			Scale: f.int(fScale), Label: f.str(fLabel), MsgID: f.int64(fMsgId)}
	case MsgLink:
		return &Link{Header: h, Title: f.str(fTitle), Description: f.str(fDescription),
			URL: f.str(fURL), MsgID: f.int64(fMsgId)}
	case MsgEvent:
		return f.buildEvent(EventHeader{Header: h, Event: EventType(f.str(fEvent))})
	}
	u := &Unknown{Header: h}
	// Best effort: an unknown type must not fail on a field it may use differently.
	if i := f.idx[fMsgId]; i != 0 && f.dup&(1<<fMsgId) == 0 && !f.nodes[i].kids {
		u.MsgID, _ = strconv.ParseInt(strings.TrimSpace(f.nodes[i].val), 10, 64)
	}
	return u
}

func (f *fieldReader) buildEvent(e EventHeader) Message {
	if f.wecom {
		e.Event = weComEvent(e.Event)
	}
	switch e.Event {
	case EventSubscribe:
		return &Subscribe{EventHeader: e, EventKey: f.str(fEventKey), Ticket: f.str(fTicket)}
	case EventUnsubscribe:
		return &Unsubscribe{EventHeader: e}
	case EventScan:
		return &Scan{EventHeader: e, EventKey: f.str(fEventKey), Ticket: f.str(fTicket)}
	case EventLocation:
		return &LocationEvent{EventHeader: e, Latitude: f.float(fLatitude),
			Longitude: f.float(fLongitude), Precision: f.float(fPrecision)}
	case EventClick:
		return &Click{EventHeader: e, EventKey: f.str(fEventKey)}
	case EventView:
		return &View{EventHeader: e, EventKey: f.str(fEventKey), MenuID: f.str(fMenuID)}
	case EventScancodePush, EventScancodeWaitmsg:
		return &ScanCode{EventHeader: e, EventKey: f.str(fEventKey), ScanCodeInfo: f.scanCodeInfo()}
	case EventPicSysphoto, EventPicPhotoOrAlbum, EventPicWeixin:
		return &PicEvent{EventHeader: e, EventKey: f.str(fEventKey), SendPicsInfo: f.sendPicsInfo()}
	case EventLocationSelect:
		return &LocationSelect{EventHeader: e, EventKey: f.str(fEventKey), SendLocationInfo: f.sendLocationInfo()}
	case EventTemplateSendJobFinish:
		return &TemplateSendJobFinish{EventHeader: e, MsgID: f.int64(fMsgID), Status: f.str(fStatus)}
	}
	return &Unknown{Header: e.Header, Event: e.Event}
}
