package rules

import (
	"strings"
	"testing"

	"wxoa/wechat"
)

// allKinds exercises every matcher and every reply type.
const allKinds = `
rules:
  - name: kw
    keyword: [help, 帮助, "?"]
    reply: {type: text, content: "help for {{.FromUserName}}"}
  - name: single-kw
    keyword: 110
    reply: {type: text, content: "number"}
  - name: echo
    prefix: "echo "
    reply: {type: text, content: "{{.Rest}}"}
  - name: weather
    regex: '^天气\s*(\S+)$'
    reply: {type: text, content: "{{index .Match 1}} is sunny ({{index .Match 0}})"}
  - name: pic
    keyword: pic
    reply: {type: image, media_id: "IMG"}
  - name: voice
    keyword: voice
    reply: {type: voice, media_id: "VOI"}
  - name: video
    keyword: video
    reply: {type: video, media_id: "VID", title: "T {{.MsgType}}", description: "D"}
  - name: music
    keyword: music
    reply: {type: music, title: "M", description: "MD", music_url: "https://m.example/a.mp3", hq_music_url: "https://m.example/hq.mp3", thumb_media_id: "TH"}
  - name: one-news
    keyword: news
    reply:
      type: news
      articles: [{title: "A {{.Content}}", description: "d", pic_url: "https://p.example/a.png", url: "https://a.example/?u={{.FromUserName}}"}]
  - name: kf
    keyword: human
    reply: {type: transfer_customer_service, kf_account: "kf1@gh"}
  - name: kf-any
    keyword: anyone
    reply: {type: transfer_customer_service}
  - name: quiet
    keyword: shh
    reply: success
  - name: quiet-typed
    keyword: hush
    reply: {type: success}
  - name: hook
    keyword: hook
    forward: {url: "http://127.0.0.1:9000/reply", timeout: 1500ms}
  - name: hook-default-timeout
    keyword: hook2
    forward: {url: "https://backend.example/wx"}
  - name: images
    msg_type: image
    reply: {type: text, content: "nice {{.MsgType}} at {{.CreateTime}}"}
  - name: place
    msg_type: location
    reply: {type: text, content: "{{.Label}} {{.Msg.LocationX}}"}
  - name: qr-promo
    event: subscribe
    scene: promo
    reply: {type: text, content: "promo follower"}
  - name: qr-any
    event: subscribe
    scene: "*"
    reply: {type: text, content: "scene {{.Scene}} via {{.EventKey}}"}
  - name: follow
    event: subscribe
    reply: {type: text, content: "plain follow by {{.FromUserName}}"}
  - name: rescan
    event: scan
    scene: promo
    reply: {type: text, content: "rescan {{.Scene}}"}
  - name: click-help
    event: click
    key: HELP
    reply: {type: text, content: "menu help ({{.Event}} {{.EventKey}})"}
  - name: click-news
    event: CLICK
    key_prefix: NEWS_
    reply:
      type: news
      articles:
        - {title: "one", url: "https://a.example/1"}
        - {title: "two {{.EventKey}}", url: "https://a.example/2"}
  - name: scanned
    event: scancode_waitmsg
    key: SC
    reply: {type: text, content: "scanned {{.Msg.ScanCodeInfo.ScanResult}}"}
  - name: picked
    event: location_select
    reply: {type: text, content: "picked {{.Label}}"}
  - name: bye
    event: unsubscribe
    forward: {url: "http://127.0.0.1:9000/bye"}
default:
  reply: {type: text, content: "default: {{if .Content}}{{.Content}}{{else}}{{.MsgType}}{{end}}"}
`

func TestMatch(t *testing.T) {
	e := mustParse(t, allKinds)
	loc := &wechat.Location{Header: head(wechat.MsgLocation), LocationX: 39.9, LocationY: 116.4, Scale: 15, Label: "Beijing"}
	scan := &wechat.Scan{EventHeader: evHead(wechat.EventScan), EventKey: "promo", Ticket: "t"}
	scanOther := &wechat.Scan{EventHeader: evHead(wechat.EventScan), EventKey: "other", Ticket: "t"}
	sc := &wechat.ScanCode{EventHeader: evHead(wechat.EventScancodeWaitmsg), EventKey: "SC",
		ScanCodeInfo: wechat.ScanCodeInfo{ScanType: "qrcode", ScanResult: "R42"}}
	ls := &wechat.LocationSelect{EventHeader: evHead(wechat.EventLocationSelect), EventKey: "LS",
		SendLocationInfo: wechat.SendLocationInfo{Label: "Shanghai"}}
	tests := []struct {
		name string
		msg  wechat.Message
		want string
	}{
		{"keyword", textMsg("help"), "kw text help for o_user"},
		{"keyword ignores case and spaces", textMsg("  HeLP \n"), "kw text help for o_user"},
		{"keyword chinese", textMsg("帮助"), "kw text help for o_user"},
		{"keyword from list", textMsg("?"), "kw text help for o_user"},
		{"keyword is exact", textMsg("help me"), "default text default: help me"},
		{"numeric keyword", textMsg("110"), "single-kw text number"},
		{"prefix", textMsg("echo hello world"), "echo text hello world"},
		{"prefix ignores case", textMsg("Echo  Hi "), "echo text Hi"},
		{"prefix needs its space", textMsg("echo"), "default text default: echo"},
		{"regex submatch", textMsg("天气 北京"), "weather text 北京 is sunny (天气 北京)"},
		{"voice recognition matches keyword", voiceMsg("帮助"), "kw text help for o_user"},
		{"voice recognition matches prefix", voiceMsg("echo spoken"), "echo text spoken"},
		{"voice without recognition", voiceMsg(""), "default text default: voice"},
		{"image reply", textMsg("pic"), "pic image IMG"},
		{"voice reply", textMsg("voice"), "voice voice VOI"},
		{"video reply", textMsg("video"), "video video VID|T text|D"},
		{"music reply", textMsg("music"), "music music M|MD|https://m.example/a.mp3|https://m.example/hq.mp3|TH"},
		{"news reply", textMsg("news"), "one-news news [A news|d|https://p.example/a.png|https://a.example/?u=o_user]"},
		{"transfer to one agent", textMsg("human"), "kf transfer kf1@gh"},
		{"transfer to anyone", textMsg("anyone"), "kf-any transfer "},
		{"success reply", textMsg("shh"), "quiet success"},
		{"success typed", textMsg("hush"), "quiet-typed success"},
		{"forward", textMsg("hook"), "hook forward hook http://127.0.0.1:9000/reply 1.5s"},
		{"forward default timeout", textMsg("hook2"), "hook-default-timeout forward hook-default-timeout https://backend.example/wx 0s"},
		{"msg_type", &wechat.Image{Header: head(wechat.MsgImage), PicURL: "u", MediaID: "m"}, "images text nice image at 1700000000"},
		{"location message", loc, "place text Beijing 39.9"},
		{"link falls to default", &wechat.Link{Header: head(wechat.MsgLink), URL: "https://x"}, "default text default: link"},
		{"subscribe with scene", subscribe("promo"), "qr-promo text promo follower"},
		{"subscribe with other scene", subscribe("poster"), "qr-any text scene poster via qrscene_poster"},
		{"subscribe without scene", subscribe(""), "follow text plain follow by o_user"},
		{"SCAN with scene", scan, "rescan text rescan promo"},
		{"SCAN other scene gets success, not default", scanOther, " success"},
		{"click key", click("HELP"), "click-help text menu help (CLICK HELP)"},
		{"click key is exact", click("help"), " success"},
		{"click key_prefix, 2 articles", click("NEWS_TODAY"), "click-news news [one|||https://a.example/1] [two NEWS_TODAY|||https://a.example/2]"},
		{"unknown click gets success", click("OTHER"), " success"},
		{"scancode", sc, "scanned text scanned R42"},
		{"location_select", ls, "picked text picked Shanghai"},
		{"unsubscribe forward", &wechat.Unsubscribe{EventHeader: evHead(wechat.EventUnsubscribe)}, "bye forward bye http://127.0.0.1:9000/bye 0s"},
		{"LOCATION event gets success", &wechat.LocationEvent{EventHeader: evHead(wechat.EventLocation), Latitude: 1}, " success"},
		{"unknown event gets success", &wechat.Unknown{Header: head(wechat.MsgEvent), Event: "view_miniprogram"}, " success"},
		{"default for text", textMsg("anything"), "default text default: anything"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := e.Match(tt.msg)
			if got := describe(r); err != nil || got != tt.want {
				t.Errorf("Match(%+v) = %q, %v; want %q, nil", tt.msg, got, err, tt.want)
			}
		})
	}
}

func TestMatchWithoutDefault(t *testing.T) {
	e := mustParse(t, "rules:\n  - keyword: hi\n    reply: {type: text, content: hello}\n")
	if n := e.Len(); n != 1 {
		t.Errorf("Len() = %d; want 1", n)
	}
	tests := []struct {
		msg  wechat.Message
		want string
	}{
		{textMsg("hi"), "line 2 text hello"},
		{textMsg("other"), " success"},
		{subscribe(""), " success"},
	}
	for _, tt := range tests {
		r, err := e.Match(tt.msg)
		if got := describe(r); err != nil || got != tt.want {
			t.Errorf("Match(%+v) = %q, %v; want %q, nil", tt.msg, got, err, tt.want)
		}
	}
}

func TestMatchOnlyDefault(t *testing.T) {
	tests := []struct {
		src  string
		want string
	}{
		{"default: success\n", "default success"},
		{"rules:\ndefault:\n  reply: {type: text, content: x}\n", "default text x"},
		{"default:\n  forward: {url: 'http://127.0.0.1:1/x', timeout: 2s}\n", "default forward default http://127.0.0.1:1/x 2s"},
	}
	for _, tt := range tests {
		r, err := mustParse(t, tt.src).Match(textMsg("hi"))
		if got := describe(r); err != nil || got != tt.want {
			t.Errorf("Parse(%q).Match(hi) = %q, %v; want %q, nil", tt.src, got, err, tt.want)
		}
	}
}

// TestMatchRenderErrors: a template that fails on a message is an error for
// the caller to log, not a broken reply.
func TestMatchRenderErrors(t *testing.T) {
	e := mustParse(t, `
rules:
  - name: bad-index
    regex: '^x(\d)?'
    reply: {type: text, content: "{{index .Match 5}}"}
  - name: empty
    prefix: "say"
    reply: {type: text, content: "{{.Rest}}"}
  - name: empty-url
    keyword: link
    reply: {type: news, articles: [{title: t, url: "{{.EventKey}}"}]}
`)
	tests := []struct {
		msg  string
		want string
	}{
		{"x1", `rule "bad-index": render content`},
		{"say", `rule "empty": content rendered empty`},
		{"link", `rule "empty-url": article 1: url rendered empty`},
	}
	for _, tt := range tests {
		r, err := e.Match(textMsg(tt.msg))
		if err == nil || !strings.Contains(err.Error(), tt.want) || r.Reply != nil {
			t.Errorf("Match(%q) = %+v, %v; want no reply and an error containing %q", tt.msg, r, err, tt.want)
		}
	}
	if _, err := e.Match(nil); err == nil {
		t.Errorf("Match(nil) = _, nil; want an error")
	}
}

// TestForwardIsACopy: callers may keep or change the Forward they get.
func TestForwardIsACopy(t *testing.T) {
	e := mustParse(t, allKinds)
	r1, _ := e.Match(textMsg("hook"))
	r1.Forward.URL = "changed"
	r2, _ := e.Match(textMsg("hook"))
	if r2.Forward.URL != "http://127.0.0.1:9000/reply" {
		t.Errorf("Match(hook).Forward.URL = %q after a caller changed an earlier result; want it unchanged", r2.Forward.URL)
	}
}

// TestConcurrentMatch runs under -race: an Engine is shared by all requests.
func TestConcurrentMatch(t *testing.T) {
	e := mustParse(t, allKinds)
	done := make(chan string)
	for i := range 8 {
		go func() {
			var last string
			for range 200 {
				r, _ := e.Match(textMsg("天气 城" + string(rune('A'+i))))
				last = describe(r)
			}
			done <- last
		}()
	}
	for range 8 {
		if got := <-done; !strings.HasPrefix(got, "weather text 城") {
			t.Errorf("concurrent Match = %q; want a weather reply", got)
		}
	}
}
