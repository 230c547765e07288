package wechat

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func hdr(t MsgType) Header {
	return Header{ToUserName: "gh_123456789abc", FromUserName: "oUser0001", CreateTime: 1700000000, MsgType: t}
}

func evh(e EventType) EventHeader { return EventHeader{Header: hdr(MsgEvent), Event: e} }

// messageCases maps each sample in testdata/messages to what it must parse to.
var messageCases = []struct {
	file string
	want Message
}{
	{"text.xml", &Text{Header: hdr(MsgText), Content: "hello", MsgID: 1234567890123456}},
	{"text_pretty.xml", &Text{Header: hdr(MsgText),
		Content: "a <b> & \"c\" 'd' 你好 x]]>y", MsgID: 1234567890123456}},
	{"image.xml", &Image{Header: hdr(MsgImage), PicURL: "http://mmbiz.qpic.cn/pic.jpg",
		MediaID: "media_id_img", MsgID: 1234567890123457}},
	{"voice.xml", &Voice{Header: hdr(MsgVoice), MediaID: "media_id_voice", Format: "amr",
		Recognition: "腾讯微信团队", MsgID: 1234567890123458}},
	{"video.xml", &Video{Header: hdr(MsgVideo), MediaID: "media_id_video",
		ThumbMediaID: "thumb_media_id", MsgID: 1234567890123459}},
	{"shortvideo.xml", &Video{Header: hdr(MsgShortVideo), MediaID: "media_id_short",
		ThumbMediaID: "thumb_short", MsgID: 1234567890123460}},
	{"location.xml", &Location{Header: hdr(MsgLocation), LocationX: 23.134521, LocationY: 113.358803,
		Scale: 20, Label: "位置信息", MsgID: 1234567890123461}},
	{"link.xml", &Link{Header: hdr(MsgLink), Title: "公众平台官网链接", Description: "公众平台官网链接",
		URL: "https://mp.weixin.qq.com/", MsgID: 1234567890123462}},
	{"event_subscribe.xml", &Subscribe{EventHeader: evh(EventSubscribe)}},
	{"event_subscribe_qrscene.xml", &Subscribe{EventHeader: evh(EventSubscribe),
		EventKey: "qrscene_123123", Ticket: "TICKET"}},
	{"event_unsubscribe.xml", &Unsubscribe{EventHeader: evh(EventUnsubscribe)}},
	{"event_scan.xml", &Scan{EventHeader: evh(EventScan), EventKey: "123123", Ticket: "TICKET"}},
	{"event_location.xml", &LocationEvent{EventHeader: evh(EventLocation),
		Latitude: 23.137466, Longitude: 113.352425, Precision: 119.385040}},
	{"event_click.xml", &Click{EventHeader: evh(EventClick), EventKey: "V1001_TODAY_MUSIC"}},
	{"event_view.xml", &View{EventHeader: evh(EventView), EventKey: "https://www.qq.com/", MenuID: "208379533"}},
	{"event_scancode_push.xml", &ScanCode{EventHeader: evh(EventScancodePush), EventKey: "6",
		ScanCodeInfo: ScanCodeInfo{ScanType: "qrcode", ScanResult: "1"}}},
	{"event_scancode_waitmsg.xml", &ScanCode{EventHeader: evh(EventScancodeWaitmsg), EventKey: "6",
		ScanCodeInfo: ScanCodeInfo{ScanType: "barcode", ScanResult: "EAN_13,6901234567892"}}},
	{"event_pic_sysphoto.xml", &PicEvent{EventHeader: evh(EventPicSysphoto), EventKey: "6",
		SendPicsInfo: SendPicsInfo{Count: 1, PicList: []PicItem{{"1b5f7c23b5bf75682a53e7b6d163e185"}}}}},
	{"event_pic_photo_or_album.xml", &PicEvent{EventHeader: evh(EventPicPhotoOrAlbum), EventKey: "6",
		SendPicsInfo: SendPicsInfo{Count: 1, PicList: []PicItem{{"5a75aaca956d97be686719218f275c6b"}}}}},
	{"event_pic_weixin.xml", &PicEvent{EventHeader: evh(EventPicWeixin), EventKey: "6",
		SendPicsInfo: SendPicsInfo{Count: 2, PicList: []PicItem{
			{"5a75aaca956d97be686719218f275c6b"}, {"1b5f7c23b5bf75682a53e7b6d163e185"}}}}},
	{"event_location_select.xml", &LocationSelect{EventHeader: evh(EventLocationSelect), EventKey: "6",
		SendLocationInfo: SendLocationInfo{LocationX: 23, LocationY: 113, Scale: 15,
			Label: " 广州市海珠区客村艺苑路 106号", Poiname: ""}}},
	{"event_templatesendjobfinish.xml", &TemplateSendJobFinish{EventHeader: evh(EventTemplateSendJobFinish),
		MsgID: 200163836, Status: "success"}},
	{"unknown_msgtype.xml", &Unknown{Header: hdr("miniprogrampage"), MsgID: 1234567890123463}},
	{"unknown_event.xml", &Unknown{Header: hdr(MsgEvent), Event: "MASSSENDJOBFINISH"}},
}

func readMessage(t testing.TB, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "messages", file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseMessage(t *testing.T) {
	seen := map[string]bool{}
	for _, tt := range messageCases {
		seen[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseMessage(readMessage(t, tt.file))
			if err != nil {
				t.Fatalf("ParseMessage(%s) error: %v", tt.file, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseMessage(%s) = %#v; want %#v", tt.file, got, tt.want)
			}
		})
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "messages", "*.xml"))
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			t.Errorf("testdata sample %s has no case in messageCases", f)
		}
	}
}

func TestAccessors(t *testing.T) {
	tests := []struct {
		file                  string
		event                 EventType
		key, dedup, sceneWant string
	}{
		{"text.xml", "", "", "msg:1234567890123456", ""},
		{"event_subscribe.xml", EventSubscribe, "", "evt:oUser0001:1700000000:subscribe:", ""},
		{"event_subscribe_qrscene.xml", EventSubscribe, "qrscene_123123", "evt:oUser0001:1700000000:subscribe:qrscene_123123", "123123"},
		{"event_click.xml", EventClick, "V1001_TODAY_MUSIC", "evt:oUser0001:1700000000:CLICK:V1001_TODAY_MUSIC", ""},
		{"event_view.xml", EventView, "https://www.qq.com/", "evt:oUser0001:1700000000:VIEW:https://www.qq.com/", ""},
		{"event_templatesendjobfinish.xml", EventTemplateSendJobFinish, "", "evt:oUser0001:1700000000:TEMPLATESENDJOBFINISH:", ""},
		{"unknown_event.xml", "MASSSENDJOBFINISH", "", "evt:oUser0001:1700000000:MASSSENDJOBFINISH:", ""},
		{"unknown_msgtype.xml", "", "", "msg:1234567890123463", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			m, err := ParseMessage(readMessage(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if got := EventOf(m); got != tt.event {
				t.Errorf("EventOf(%s) = %q; want %q", tt.file, got, tt.event)
			}
			if got := EventKeyOf(m); got != tt.key {
				t.Errorf("EventKeyOf(%s) = %q; want %q", tt.file, got, tt.key)
			}
			if got := DedupKey(m); got != tt.dedup {
				t.Errorf("DedupKey(%s) = %q; want %q", tt.file, got, tt.dedup)
			}
			if s, ok := m.(*Subscribe); ok && s.Scene() != tt.sceneWant {
				t.Errorf("Scene(%s) = %q; want %q", tt.file, s.Scene(), tt.sceneWant)
			}
		})
	}
}

const benchText = `<xml><ToUserName><![CDATA[gh_123456789abc]]></ToUserName><FromUserName><![CDATA[oUser0001]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello]]></Content><MsgId>1234567890123456</MsgId></xml>`

const head = `<ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime>`

func TestParseMessageMalformed(t *testing.T) {
	deep := "<xml>" + head + "<MsgType>text</MsgType><a><b><c><d><e>x</e></d></c></b></a></xml>"
	many := "<xml>" + head + "<MsgType>text</MsgType>" + strings.Repeat("<n>1</n>", 200) + "</xml>"
	tests := []struct{ name, body string }{
		{"empty", ""},
		{"not xml", "success"},
		{"json", `{"ToUserName":"a"}`},
		{"wrong root", "<root>" + head + "<MsgType>text</MsgType></root>"},
		{"unclosed root", "<xml>" + head + "<MsgType>text</MsgType>"},
		{"mismatched end", "<xml>" + head + "<MsgType>text</MsgTyp></xml>"},
		{"end tag prefix", "<xml>" + head + "<MsgType>text</MsgTypeX></xml>"},
		{"attribute", `<xml>` + head + `<MsgType a="1">text</MsgType></xml>`},
		{"comment", "<xml>" + head + "<!-- c --><MsgType>text</MsgType></xml>"},
		{"doctype", `<!DOCTYPE xml [<!ENTITY e "x">]><xml>` + head + "<MsgType>text</MsgType></xml>"},
		{"namespace", "<xml>" + head + "<a:MsgType>text</a:MsgType></xml>"},
		{"unterminated cdata", "<xml>" + head + "<MsgType><![CDATA[text</MsgType></xml>"},
		{"unknown entity", "<xml>" + head + "<MsgType>text</MsgType><Content>&nbsp;</Content></xml>"},
		{"bare ampersand", "<xml>" + head + "<MsgType>text</MsgType><Content>a & b</Content></xml>"},
		{"nul char ref", "<xml>" + head + "<MsgType>text</MsgType><Content>&#0;</Content></xml>"},
		{"surrogate char ref", "<xml>" + head + "<MsgType>text</MsgType><Content>&#xD800;</Content></xml>"},
		{"]]> in text", "<xml>" + head + "<MsgType>text</MsgType><Content>a]]>b</Content></xml>"},
		{"mixed content", "<xml>" + head + "<MsgType>text</MsgType>junk</xml>"},
		{"trailing data", "<xml>" + head + "<MsgType>text</MsgType></xml><xml></xml>"},
		{"too deep", deep},
		{"too many elements", many},
		{"missing MsgType", "<xml>" + head + "</xml>"},
		{"empty FromUserName", "<xml><ToUserName>a</ToUserName><FromUserName/><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>"},
		{"missing CreateTime", "<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><MsgType>text</MsgType></xml>"},
		{"bad CreateTime", "<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>x</CreateTime><MsgType>text</MsgType></xml>"},
		{"bad MsgId", "<xml>" + head + "<MsgType>text</MsgType><MsgId>12a</MsgId></xml>"},
		{"bad Latitude", "<xml>" + head + "<MsgType>event</MsgType><Event>LOCATION</Event><Latitude>north</Latitude></xml>"},
		{"repeated field", "<xml>" + head + "<MsgType>text</MsgType><Content>a</Content><Content>b</Content></xml>"},
		{"repeated nested field", "<xml>" + head + "<MsgType>event</MsgType><Event>scancode_push</Event><ScanCodeInfo><ScanType>a</ScanType><ScanType>b</ScanType></ScanCodeInfo></xml>"},
		{"leaf with children", "<xml>" + head + "<MsgType>text</MsgType><Content><b>x</b></Content></xml>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMessage([]byte(tt.body))
			if !errors.Is(err, ErrMalformedMessage) {
				t.Errorf("ParseMessage(%q) = %v, %v; want ErrMalformedMessage", tt.body, m, err)
			}
		})
	}
}

// TestParseMessageTolerance: fields a type does not read never make it fail,
// so a new kind of push still gets its "success".
func TestParseMessageTolerance(t *testing.T) {
	tests := []struct {
		name, body string
		want       Message
	}{
		{"unknown event repeating a known tag",
			"<xml>" + head + "<MsgType>event</MsgType><Event>NEWEVENT</Event><Title>a</Title><Title>b</Title><MsgId><x/></MsgId></xml>",
			&Unknown{Header: Header{ToUserName: "a", FromUserName: "b", CreateTime: 1, MsgType: MsgEvent}, Event: "NEWEVENT"}},
		{"unknown type with a bad MsgId",
			"<xml>" + head + "<MsgType>file</MsgType><MsgId>x</MsgId><Title>t</Title></xml>",
			&Unknown{Header: Header{ToUserName: "a", FromUserName: "b", CreateTime: 1, MsgType: "file"}}},
		{"text with unread repeated and nested fields",
			"<xml>" + head + "<MsgType>text</MsgType><Content>hi</Content><EventKey>1</EventKey><EventKey>2</EventKey><Latitude><x/></Latitude><New><a>1</a></New></xml>",
			&Text{Header: Header{ToUserName: "a", FromUserName: "b", CreateTime: 1, MsgType: MsgText}, Content: "hi"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMessage([]byte(tt.body))
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseMessage(%q) = %#v, %v; want %#v", tt.body, got, err, tt.want)
			}
		})
	}
}

// TestParseMessageLimits checks the largest accepted shapes next to the
// rejected ones above.
func TestParseMessageLimits(t *testing.T) {
	fourDeep := "<xml>" + head + "<MsgType>text</MsgType><a><b><c><d>x</d></c></b></a></xml>"
	full := "<xml>" + head + "<MsgType>text</MsgType>" + strings.Repeat("<n>1</n>", 200-6) + "</xml>"
	for _, body := range []string{fourDeep, full} {
		if _, err := ParseMessage([]byte(body)); err != nil {
			t.Errorf("ParseMessage(%.60q...) = %v; want nil", body, err)
		}
	}
}

// TestParseMessageCopies checks that the result does not alias the input.
func TestParseMessageCopies(t *testing.T) {
	body := []byte(benchText)
	m, err := ParseMessage(body)
	if err != nil {
		t.Fatal(err)
	}
	for i := range body {
		body[i] = 'x'
	}
	if got := m.(*Text).Content; got != "hello" {
		t.Errorf("Content after reusing the body = %q; want %q", got, "hello")
	}
}

func BenchmarkParseMessage(b *testing.B) {
	body := []byte(benchText)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ParseMessage(body); err != nil {
			b.Fatal(err)
		}
	}
}
