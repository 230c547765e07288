package rules

import (
	"testing"

	"wxoa/wechat"
)

// Message constructors: the fields a real push carries, from one openid to
// one account.

func head(t wechat.MsgType) wechat.Header {
	return wechat.Header{ToUserName: "gh_account", FromUserName: "o_user", CreateTime: 1700000000, MsgType: t}
}

func evHead(e wechat.EventType) wechat.EventHeader {
	return wechat.EventHeader{Header: head(wechat.MsgEvent), Event: e}
}

func textMsg(s string) *wechat.Text {
	return &wechat.Text{Header: head(wechat.MsgText), Content: s, MsgID: 1}
}

func voiceMsg(recognition string) *wechat.Voice {
	return &wechat.Voice{Header: head(wechat.MsgVoice), MediaID: "m", Format: "amr", Recognition: recognition}
}

func subscribe(scene string) *wechat.Subscribe {
	s := &wechat.Subscribe{EventHeader: evHead(wechat.EventSubscribe)}
	if scene != "" {
		s.EventKey, s.Ticket = "qrscene_"+scene, "ticket"
	}
	return s
}

func click(key string) *wechat.Click {
	return &wechat.Click{EventHeader: evHead(wechat.EventClick), EventKey: key}
}

// mustParse parses src or fails the test.
func mustParse(tb testing.TB, src string) *Engine {
	tb.Helper()
	e, err := Parse("test.yaml", []byte(src))
	if err != nil {
		tb.Fatalf("Parse: %v", err)
	}
	return e
}

// describe renders a Result compactly for comparisons.
func describe(r Result) string {
	s := r.Rule + " "
	switch v := r.Reply.(type) {
	case nil:
		if r.Forward != nil {
			return s + "forward " + r.Forward.Name + " " + r.Forward.URL + " " + r.Forward.Timeout.String()
		}
		return s + "success"
	case *wechat.TextReply:
		return s + "text " + v.Content
	case *wechat.ImageReply:
		return s + "image " + v.MediaID
	case *wechat.VoiceReply:
		return s + "voice " + v.MediaID
	case *wechat.VideoReply:
		return s + "video " + v.MediaID + "|" + v.Title + "|" + v.Description
	case *wechat.MusicReply:
		return s + "music " + v.Title + "|" + v.Description + "|" + v.MusicURL + "|" + v.HQMusicURL + "|" + v.ThumbMediaID
	case *wechat.NewsReply:
		s += "news"
		for _, a := range v.Articles {
			s += " [" + a.Title + "|" + a.Description + "|" + a.PicURL + "|" + a.URL + "]"
		}
		return s
	case *wechat.TransferCustomerServiceReply:
		return s + "transfer " + v.KfAccount
	}
	return s + "unexpected reply type"
}
