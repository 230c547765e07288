package wechattest_test

import (
	"strings"
	"testing"

	"wxoa/wechat"
	"wxoa/wechat/wechattest"
)

func TestMessageXML(t *testing.T) {
	tests := []struct {
		name  string
		msg   wechattest.Message
		check func(m wechat.Message) bool
	}{
		{"text", wechattest.Text("a]]>b <&>"), func(m wechat.Message) bool {
			x, ok := m.(*wechat.Text)
			return ok && x.Content == "a]]>b <&>" && x.MsgID == 9
		}},
		{"click", wechattest.Click("HELP"), func(m wechat.Message) bool { x, ok := m.(*wechat.Click); return ok && x.EventKey == "HELP" }},
		{"location event", wechattest.Event("LOCATION", [2]string{"Latitude", "23.1"}, [2]string{"Longitude", "113.3"}, [2]string{"Precision", "119.4"}),
			func(m wechat.Message) bool {
				x, ok := m.(*wechat.LocationEvent)
				return ok && x.Latitude == 23.1 && x.Precision == 119.4
			}},
		{"location", wechattest.Message{MsgType: "location", Fields: [][2]string{{"Location_X", "39.9"}, {"Location_Y", "116.4"}, {"Scale", "15"}, {"Label", "L"}}},
			func(m wechat.Message) bool {
				x, ok := m.(*wechat.Location)
				return ok && x.LocationX == 39.9 && x.Scale == 15 && x.MsgID == 9
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.msg.XML("gh_account", "oUser", 1700000000, 9)
			m, err := wechat.ParseMessage(b)
			if err != nil {
				t.Fatalf("ParseMessage(%s) = %v", b, err)
			}
			h := m.Head()
			if !tt.check(m) || h.ToUserName != "gh_account" || h.FromUserName != "oUser" || h.CreateTime != 1700000000 {
				t.Errorf("ParseMessage(%s) = %#v", b, m)
			}
			if strings.Contains(string(b), "<MsgId>") != tt.msg.HasMsgID() {
				t.Errorf("%s: MsgId present = %v; want %v (events have none)", b, !tt.msg.HasMsgID(), tt.msg.HasMsgID())
			}
		})
	}
	want := "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oUser0001]]></FromUserName>" +
		"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello]]></Content><MsgId>1</MsgId></xml>"
	if got := string(wechattest.Text("hello").XML("gh_1", "oUser0001", 1700000000, 1)); got != want {
		t.Errorf("Text(hello).XML() =\n%s\nwant\n%s", got, want)
	}
}
