package wechat

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

var customOnly = []struct {
	name  string
	reply Reply
	json  string // CustomMessage("oUser", reply)
}{
	{"link", &LinkReply{Title: "Happy Day", Description: "Is Really A Happy Day", URL: "https://a.example/?x=1&y=2", ThumbURL: "https://a.example/t.jpg"},
		`{"link":{"description":"Is Really A Happy Day","thumb_url":"https://a.example/t.jpg","title":"Happy Day","url":"https://a.example/?x=1&y=2"},"msgtype":"link","touser":"oUser"}`},
	{"link_minimal", &LinkReply{Title: "T", URL: "https://a.example/"},
		`{"link":{"title":"T","url":"https://a.example/"},"msgtype":"link","touser":"oUser"}`},
	{"miniprogrampage", &MiniProgramPageReply{Title: "title", PagePath: "pages/index/index?foo=bar", ThumbMediaID: "thumb"},
		`{"miniprogrampage":{"pagepath":"pages/index/index?foo=bar","thumb_media_id":"thumb","title":"title"},"msgtype":"miniprogrampage","touser":"oUser"}`},
	{"miniprogrampage_appid", &MiniProgramPageReply{Title: "t", AppID: "wx0123456789abcdef", PagePath: "p", ThumbMediaID: "m"},
		`{"miniprogrampage":{"appid":"wx0123456789abcdef","pagepath":"p","thumb_media_id":"m","title":"t"},"msgtype":"miniprogrampage","touser":"oUser"}`},
}

func TestCustomOnlyReplies(t *testing.T) {
	for _, tt := range customOnly {
		t.Run(tt.name, func(t *testing.T) {
			if b, err := MarshalReply("oUser", "gh_1", 1, tt.reply); !errors.Is(err, ErrInvalidReply) || !strings.Contains(err.Error(), "customer-service message") {
				t.Errorf("MarshalReply(%#v) = %s, %v; want ErrInvalidReply pointing to customer-service messages", tt.reply, b, err)
			}
			b, err := CustomMessage("oUser", tt.reply)
			if err != nil || string(b) != tt.json {
				t.Errorf("CustomMessage(%#v) =\n%s, %v; want\n%s", tt.reply, b, err, tt.json)
			}
			d := tt.reply.Data()
			if back, err := d.Reply(); err != nil || !reflect.DeepEqual(back, tt.reply) {
				t.Errorf("%#v.Data().Reply() = %#v, %v; want it back", tt.reply, back, err)
			}
			j, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			var fromJSON ReplyData
			if err := json.Unmarshal(j, &fromJSON); err != nil || !reflect.DeepEqual(fromJSON, d) {
				t.Errorf("json round trip of %s = %+v, %v; want %+v", j, fromJSON, err, d)
			}
			if tt.reply.Kind() != d.Type {
				t.Errorf("Kind() = %q; Data().Type = %q", tt.reply.Kind(), d.Type)
			}
		})
	}
}

func TestCustomOnlyRepliesInvalid(t *testing.T) {
	for _, r := range []Reply{
		&LinkReply{Title: "T"}, &LinkReply{URL: "https://a.example/"}, (*LinkReply)(nil),
		&MiniProgramPageReply{Title: "t", PagePath: "p"}, &MiniProgramPageReply{PagePath: "p", ThumbMediaID: "m"},
		&MiniProgramPageReply{Title: "t", ThumbMediaID: "m"}, (*MiniProgramPageReply)(nil),
	} {
		if b, err := CustomMessage("oUser", r); !errors.Is(err, ErrInvalidReply) {
			t.Errorf("CustomMessage(%#v) = %s, %v; want ErrInvalidReply", r, b, err)
		}
	}
	// WeChat never sends one as a passive reply, so OpenReply refuses it.
	body := "<xml><ToUserName><![CDATA[o]]></ToUserName><FromUserName><![CDATA[gh]]></FromUserName><CreateTime>1</CreateTime>" +
		"<MsgType><![CDATA[link]]></MsgType><Title><![CDATA[T]]></Title><Url><![CDATA[https://a.example/]]></Url></xml>"
	if _, r, err := OpenReply("", nil, []byte(body)); !errors.Is(err, ErrInvalidReply) {
		t.Errorf("OpenReply(link XML) = %#v, %v; want ErrInvalidReply", r, err)
	}
}

func TestCustomOnlyReplyString(t *testing.T) {
	tests := []struct {
		reply Reply
		want  string
	}{
		{&LinkReply{Title: "T", URL: "https://a.example/"}, `link: "T" https://a.example/`},
		{&MiniProgramPageReply{Title: "T", PagePath: "pages/a?x=1"}, `miniprogrampage: "T" pages/a?x=1`},
		{(*LinkReply)(nil), `link: "" `},
	}
	for _, tt := range tests {
		if got := tt.reply.String(); got != tt.want {
			t.Errorf("%#v.String() = %q; want %q", tt.reply, got, tt.want)
		}
	}
}

func TestCheckReplyType(t *testing.T) {
	all := []string{"text", "image", "voice", "video", "music", "news", "transfer_customer_service", "link", "miniprogrampage"}
	carries := map[Channel][]string{
		PassiveReply:             {"text", "image", "voice", "video", "music", "news", "transfer_customer_service"},
		WeComPassiveReply:        {"text", "image", "voice", "video", "news"},
		MiniProgramCustomMessage: {"text", "image", "link", "miniprogrampage"},
	}
	for ch, ok := range carries {
		for _, typ := range append(all, "success") {
			want := typ == "success" || strings.Contains(" "+strings.Join(ok, " ")+" ", " "+typ+" ")
			err := CheckReplyType(ch, typ)
			if (err == nil) != want || err != nil && (!errors.Is(err, ErrInvalidReply) || !strings.Contains(err.Error(), ch.String())) {
				t.Errorf("CheckReplyType(%v, %q) = %v; want accepted %v", ch, typ, err, want)
			}
		}
	}
	if err := CheckReplyType(Channel(9), "text"); err == nil {
		t.Errorf("CheckReplyType(Channel(9)) = nil; want an error")
	}
}
