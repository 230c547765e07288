package rules

import (
	"strings"

	"wxoa/wechat"
)

// msgTypes are the user message types msg_type: accepts.
var msgTypes = []string{
	string(wechat.MsgText), string(wechat.MsgImage), string(wechat.MsgVoice), string(wechat.MsgVideo),
	string(wechat.MsgShortVideo), string(wechat.MsgLocation), string(wechat.MsgLink),
}

// eventNames are the events event: accepts, spelled as WeChat sends them.
var eventNames = []string{
	string(wechat.EventSubscribe), string(wechat.EventUnsubscribe), string(wechat.EventScan),
	string(wechat.EventLocation), string(wechat.EventClick), string(wechat.EventView),
	string(wechat.EventScancodePush), string(wechat.EventScancodeWaitmsg),
	string(wechat.EventPicSysphoto), string(wechat.EventPicPhotoOrAlbum), string(wechat.EventPicWeixin),
	string(wechat.EventLocationSelect), string(wechat.EventTemplateSendJobFinish),
}

// keyEvents carry a menu key that key: and key_prefix: match.
var keyEvents = map[string]bool{
	string(wechat.EventClick):           true,
	string(wechat.EventView):            true,
	string(wechat.EventScancodePush):    true,
	string(wechat.EventScancodeWaitmsg): true,
	string(wechat.EventPicSysphoto):     true,
	string(wechat.EventPicPhotoOrAlbum): true,
	string(wechat.EventPicWeixin):       true,
	string(wechat.EventLocationSelect):  true,
}

// sceneEvents carry a QR-code scene that scene: matches.
var sceneEvents = map[string]bool{
	string(wechat.EventSubscribe): true,
	string(wechat.EventScan):      true,
}

// noReplyEvents are events whose answer nobody sees: the user has gone, or
// the push reports on a job.
var noReplyEvents = map[string]bool{
	string(wechat.EventUnsubscribe):           true,
	string(wechat.EventTemplateSendJobFinish): true,
}

// canonicalEvent returns WeChat's spelling of an event name written in any
// case (admins write click for CLICK).
func canonicalEvent(s string) (string, bool) {
	s = strings.TrimSpace(s)
	for _, e := range eventNames {
		if strings.EqualFold(s, e) {
			return e, true
		}
	}
	return "", false
}
