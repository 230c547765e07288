package rules

import (
	"encoding/json"
	"strings"
	"testing"

	"wxoa/templates"
	"wxoa/wechat"
)

// TestShippedRules checks templates/rules.yaml answers as its comments and
// the README say.
func TestShippedRules(t *testing.T) {
	e, err := Load("")
	if err != nil {
		t.Fatalf("Load(\"\") = %v", err)
	}
	if e.Len() == 0 {
		t.Fatalf("Load(\"\").Len() = 0; want the shipped rules")
	}
	loc := &wechat.Location{Header: head(wechat.MsgLocation), LocationX: 23.1, LocationY: 113.3, Label: "Guangzhou"}
	scan := &wechat.Scan{EventHeader: evHead(wechat.EventScan), EventKey: "poster"}
	tests := []struct {
		name     string
		msg      wechat.Message
		rule     string
		contains []string // in the reply's text (content, or article titles)
	}{
		{"follow with scene", subscribe("poster"), "welcome-qr", []string{"Welcome", "“poster”", "help"}},
		{"follow", subscribe(""), "welcome", []string{"Welcome", "help"}},
		{"scan", scan, "scan", []string{"Welcome back", "poster"}},
		{"help", textMsg("help"), "help", []string{"echo <text>", "news"}},
		{"帮助", textMsg("帮助"), "help", []string{"echo <text>"}},
		{"?", textMsg("?"), "help", []string{"echo <text>"}},
		{"echo", textMsg("echo 你好 world"), "echo", []string{"你好 world"}},
		{"news", textMsg("News"), "news", []string{"WeChat Official Account docs"}},
		{"location", loc, "location", []string{"Guangzhou", "23.1", "113.3"}},
		{"menu HELP", click("HELP"), "menu-help", []string{"echo <text>"}},
		{"menu ABOUT", click("ABOUT"), "menu-about", []string{"wxoa"}},
		{"menu NEWS", click("NEWS"), "menu-news", []string{"Receiving messages", "Passive replies", "Custom menus"}},
		{"menu scan", &wechat.ScanCode{EventHeader: evHead(wechat.EventScancodePush), EventKey: "SCAN_QR",
			ScanCodeInfo: wechat.ScanCodeInfo{ScanType: "qrcode", ScanResult: "https://x.example/q"}}, "menu-scan", []string{"https://x.example/q"}},
		{"other text said back", textMsg("hello"), "say-back", []string{"hello"}},
		{"voice said back", voiceMsg("你好啊"), "default", []string{"你好啊"}},
		{"image", &wechat.Image{Header: head(wechat.MsgImage), MediaID: "m"}, "default", []string{"image", "help"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := e.Match(tt.msg)
			if err != nil || r.Rule != tt.rule || r.Reply == nil {
				t.Fatalf("Match(%+v) = %+v, %v; want a reply from rule %q", tt.msg, r, err, tt.rule)
			}
			got := describe(r)
			for _, want := range tt.contains {
				if !strings.Contains(got, want) {
					t.Errorf("Match(%+v) = %q; want it to contain %q", tt.msg, got, want)
				}
			}
			// Every shipped reply must be one WeChat accepts.
			h := tt.msg.Head()
			if _, err := wechat.MarshalReply(h.FromUserName, h.ToUserName, h.CreateTime, r.Reply); err != nil {
				t.Errorf("MarshalReply(Match(%+v)) = %v; want valid reply XML", tt.msg, err)
			}
		})
	}

	silent := []wechat.Message{
		&wechat.Unsubscribe{EventHeader: evHead(wechat.EventUnsubscribe)},
		&wechat.TemplateSendJobFinish{EventHeader: evHead(wechat.EventTemplateSendJobFinish), Status: "success"},
		&wechat.LocationEvent{EventHeader: evHead(wechat.EventLocation)},
		&wechat.View{EventHeader: evHead(wechat.EventView), EventKey: "https://example.com/"},
		click("UNKNOWN"),
		&wechat.PicEvent{EventHeader: evHead(wechat.EventPicWeixin), EventKey: "SEND_PHOTO"},
		&wechat.LocationSelect{EventHeader: evHead(wechat.EventLocationSelect), EventKey: "SEND_LOCATION"},
	}
	for _, m := range silent {
		if r, err := e.Match(m); err != nil || r.Reply != nil || r.Forward != nil {
			t.Errorf("Match(%+v) = %+v, %v; want success (no reply)", m, r, err)
		}
	}
}

// TestShippedMenuAnswered: every click button of the example menu has a rule
// that replies, so a fresh install has no dead buttons.
func TestShippedMenuAnswered(t *testing.T) {
	e, err := Load("")
	if err != nil {
		t.Fatalf("Load(\"\") = %v", err)
	}
	data, err := templates.FS.ReadFile("menu.json")
	if err != nil {
		t.Fatalf("read shipped menu: %v", err)
	}
	type button struct {
		Type, Key string
		SubButton []button `json:"sub_button"`
	}
	var menu struct{ Button []button }
	if err := json.Unmarshal(data, &menu); err != nil {
		t.Fatalf("decode shipped menu: %v", err)
	}
	var keys []string
	for _, b := range menu.Button {
		for _, s := range append([]button{b}, b.SubButton...) {
			if s.Type == "click" {
				keys = append(keys, s.Key)
			}
		}
	}
	if len(keys) == 0 {
		t.Fatalf("shipped menu has no click buttons; want HELP, ABOUT, NEWS")
	}
	for _, k := range keys {
		if r, err := e.Match(click(k)); err != nil || r.Reply == nil {
			t.Errorf("Match(click %q) = %+v, %v; want a reply", k, r, err)
		}
	}
}
