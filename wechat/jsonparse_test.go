package wechat

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// xmlToJSON writes the JSON form of an XML push, as a Mini Program with
// data format JSON receives it: members in document order, a repeated
// element as an array, text as a string, or with numbers set as a JSON
// number wherever the text is one.
func xmlToJSON(tb testing.TB, body []byte, numbers bool) []byte {
	tb.Helper()
	nodes, err := scanXML(string(body), nil)
	if err != nil {
		tb.Fatalf("scanXML: %v", err)
	}
	return appendJSONObject(nil, nodes, 0, numbers)
}

func appendJSONObject(b []byte, nodes []node, parent int32, numbers bool) []byte {
	var order []string
	kids := map[string][]int32{}
	for i := parent + 1; int(i) < len(nodes); i++ {
		if nodes[i].parent == parent {
			if _, seen := kids[nodes[i].name]; !seen {
				order = append(order, nodes[i].name)
			}
			kids[nodes[i].name] = append(kids[nodes[i].name], i)
		}
	}
	value := func(b []byte, i int32) []byte {
		n := nodes[i]
		switch {
		case n.kids:
			return appendJSONObject(b, nodes, i, numbers)
		case numbers && n.val != "" && (n.val[0] == '-' || '0' <= n.val[0] && n.val[0] <= '9'):
			if end, err := scanNumber(n.val, 0); err == nil && end == len(n.val) {
				return append(b, n.val...)
			}
		}
		return appendJSONText(b, n.val)
	}
	b = append(b, '{')
	for k, name := range order {
		if k > 0 {
			b = append(b, ',')
		}
		b = appendJSONText(b, name)
		b = append(b, ':')
		if is := kids[name]; len(is) == 1 {
			b = value(b, is[0])
		} else {
			b = append(b, '[')
			for j, i := range is {
				if j > 0 {
					b = append(b, ',')
				}
				b = value(b, i)
			}
			b = append(b, ']')
		}
	}
	return append(b, '}')
}

// TestParseJSONMessageMatchesXML: every XML sample, pushed as JSON (with
// numbers as strings and as numbers), parses to the same message.
func TestParseJSONMessageMatchesXML(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "messages", "*.xml"))
	if len(files) == 0 {
		t.Fatal("no samples in testdata/messages")
	}
	for _, file := range files {
		xmlBody := readMessage(t, filepath.Base(file))
		want, err := ParseMessage(xmlBody)
		if err != nil {
			t.Fatalf("ParseMessage(%s) = %v", file, err)
		}
		for _, numbers := range []bool{false, true} {
			body := xmlToJSON(t, xmlBody, numbers)
			got, err := ParseJSONMessage(body)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("ParseJSONMessage(%s) = %#v, %v; want %#v", body, got, err, want)
			}
		}
	}
}

// The samples of the Mini Program documentation, numbers as numbers.
// https://developers.weixin.qq.com/miniprogram/dev/framework/open-ability/customer-message/receive.html
func TestParseJSONMessageDocs(t *testing.T) {
	mp := func(t MsgType) Header {
		return Header{ToUserName: "toUser", FromUserName: "fromUser", CreateTime: 1482048670, MsgType: t}
	}
	tests := []struct {
		name, body string
		want       Message
	}{
		{"text", `{
  "ToUserName": "toUser",
  "FromUserName": "fromUser",
  "CreateTime": 1482048670,
  "MsgType": "text",
  "Content": "this is a test",
  "MsgId": 1234567890123456
}`, &Text{Header: mp(MsgText), Content: "this is a test", MsgID: 1234567890123456}},
		{"image", `{"ToUserName":"toUser","FromUserName":"fromUser","CreateTime":1482048670,"MsgType":"image",` +
			`"PicUrl":"this is a url","MediaId":"media_id","MsgId":1234567890123456}`,
			&Image{Header: mp(MsgImage), PicURL: "this is a url", MediaID: "media_id", MsgID: 1234567890123456}},
		{"miniprogrampage", `{"ToUserName":"toUser","FromUserName":"fromUser","CreateTime":1482048670,` +
			`"MsgType":"miniprogrampage","MsgId":1234567890123456,"Title":"title","AppId":"appid",` +
			`"PagePath":"path","ThumbUrl":"","ThumbMediaId":""}`,
			&Unknown{Header: mp("miniprogrampage"), MsgID: 1234567890123456}},
		{"user_enter_tempsession", `{"ToUserName":"toUser","FromUserName":"fromUser","CreateTime":1482048670,` +
			`"MsgType":"event","Event":"user_enter_tempsession","SessionFrom":"sessionFrom"}`,
			&Unknown{Header: mp(MsgEvent), Event: "user_enter_tempsession"}},
		// The message-push guide's sample, and WeChat's MsgIds beyond 2^53.
		{"debug_demo", `{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714112445,"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}`,
			&Unknown{Header: Header{ToUserName: "gh_97417a04a28d", FromUserName: "o9AgO5Kd5ggOC-bXrbNODIiE3bGY",
				CreateTime: 1714112445, MsgType: MsgEvent}, Event: "debug_demo"}},
		{"numbers as strings, escapes", `{"ToUserName":"toUser","FromUserName":"fromUser","CreateTime":"1482048670",` +
			`"MsgType":"text","Content":"\u4f60\u597d \"q\" \\ \/ \ud83d\ude00 \ud800 \n","MsgId":"6054768590064713728"}`,
			&Text{Header: mp(MsgText), Content: "你好 \"q\" \\ / 😀 \ufffd \n", MsgID: 6054768590064713728}},
		{"location, nested and unknown values", `{"ToUserName":"toUser","FromUserName":"fromUser","CreateTime":1482048670,` +
			`"MsgType":"event","Event":"location_select","EventKey":"6","SendLocationInfo":{"Location_X":23.1,` +
			`"Location_Y":-113.5e0,"Scale":15,"Label":"广州","Poiname":null},"New":[{"a":[1,true,false,null]},{}],"Empty":[],"Obj":{}}`,
			&LocationSelect{EventHeader: EventHeader{Header: mp(MsgEvent), Event: EventLocationSelect}, EventKey: "6",
				SendLocationInfo: SendLocationInfo{LocationX: 23.1, LocationY: -113.5, Scale: 15, Label: "广州"}}},
		{"pictures as an array", `{"ToUserName":"toUser","FromUserName":"fromUser","CreateTime":1482048670,` +
			`"MsgType":"event","Event":"pic_weixin","EventKey":"6","SendPicsInfo":{"Count":2,"PicList":{"item":` +
			`[{"PicMd5Sum":"a"},{"PicMd5Sum":"b"}]}}}`,
			&PicEvent{EventHeader: EventHeader{Header: mp(MsgEvent), Event: EventPicWeixin}, EventKey: "6",
				SendPicsInfo: SendPicsInfo{Count: 2, PicList: []PicItem{{"a"}, {"b"}}}}},
		{"empty object as an empty value", `{"ToUserName":"toUser","FromUserName":"fromUser","CreateTime":1482048670,` +
			`"MsgType":"text","Content":{}}`, &Text{Header: mp(MsgText)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseJSONMessage([]byte(tt.body))
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseJSONMessage(%s) = %#v, %v; want %#v", tt.body, got, err, tt.want)
			}
		})
	}
}

const jsonHead = `"ToUserName":"a","FromUserName":"b","CreateTime":1`

func TestParseJSONMessageMalformed(t *testing.T) {
	text := func(rest string) string { return `{` + jsonHead + `,"MsgType":"text"` + rest + `}` }
	tests := []struct{ name, body string }{
		{"empty", ""},
		{"not json", "success"},
		{"xml", "<xml><ToUserName>a</ToUserName></xml>"},
		{"array root", `[{` + jsonHead + `,"MsgType":"text"}]`},
		{"string root", `"text"`},
		{"unterminated object", `{` + jsonHead + `,"MsgType":"text"`},
		{"trailing comma", text(`,`)},
		{"trailing data", text(``) + `{}`},
		{"comment", `{/* c */` + jsonHead + `,"MsgType":"text"}`},
		{"single quotes", text(`,'Content':'a'`)},
		{"bare word", text(`,"Content":hello`)},
		{"bad literal", text(`,"Content":tru`)},
		{"literal prefix", text(`,"Content":truex`)},
		{"leading zero", text(`,"MsgId":012`)},
		{"plus sign", text(`,"MsgId":+1`)},
		{"bare fraction", text(`,"MsgId":1.`)},
		{"bare exponent", text(`,"MsgId":1e`)},
		{"hex number", text(`,"MsgId":0x1`)},
		{"control character", text(",\"Content\":\"a\tb\"")},
		{"bad escape", text(`,"Content":"\x41"`)},
		{"short unicode escape", text(`,"Content":"\u12"`)},
		{"unterminated string", `{` + jsonHead + `,"MsgType":"te`},
		{"missing colon", text(`,"Content" "a"`)},
		{"missing comma", text(` "Content":"a"`)},
		{"unquoted name", text(`,Content:"a"`)},
		{"array in array", text(`,"X":[[1]]`)},
		{"trailing comma in an array", text(`,"X":[1,]`)},
		{"comma only array", text(`,"X":[,]`)},
		{"unterminated array", text(`,"X":[1`)},
		{"missing comma in an array", text(`,"X":[1 2]`)},
		{"too deep", text(`,"a":{"b":{"c":{"d":{"e":"x"}}}}`)},
		{"too deep in an array", text(`,"a":[{"b":{"c":{"d":{"e":"x"}}}}]`)},
		{"too many values", text(`,"n":[` + strings.Repeat(`1,`, 199) + `1]`)},
		{"missing MsgType", `{` + jsonHead + `}`},
		{"empty FromUserName", `{"ToUserName":"a","FromUserName":"","CreateTime":1,"MsgType":"text"}`},
		{"null CreateTime", `{"ToUserName":"a","FromUserName":"b","CreateTime":null,"MsgType":"text"}`},
		{"bad CreateTime", `{"ToUserName":"a","FromUserName":"b","CreateTime":"x","MsgType":"text"}`},
		{"fractional CreateTime", `{"ToUserName":"a","FromUserName":"b","CreateTime":1.5,"MsgType":"text"}`},
		{"boolean MsgId", text(`,"MsgId":true`)},
		{"repeated field", text(`,"Content":"a","Content":"b"`)},
		{"array where a value belongs", text(`,"Content":["a","b"]`)},
		{"object where a value belongs", text(`,"Content":{"a":"b"}`)},
		{"bad Latitude", `{` + jsonHead + `,"MsgType":"event","Event":"LOCATION","Latitude":"north"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseJSONMessage([]byte(tt.body))
			if !errors.Is(err, ErrMalformedMessage) || !strings.HasPrefix(err.Error(), "wechat: malformed message JSON: ") {
				t.Errorf("ParseJSONMessage(%q) = %v, %v; want ErrMalformedMessage saying JSON", tt.body, m, err)
			}
		})
	}
}

// TestParseJSONMessageLimits checks the largest accepted shapes next to the
// rejected ones above: the XML scanner's.
func TestParseJSONMessageLimits(t *testing.T) {
	fourDeep := `{` + jsonHead + `,"MsgType":"text","a":{"b":{"c":{"d":"x"}}}}`
	full := `{` + jsonHead + `,"MsgType":"text","n":[` + strings.Repeat(`1,`, 200-6) + `1]}`
	for _, body := range []string{fourDeep, full} {
		if _, err := ParseJSONMessage([]byte(body)); err != nil {
			t.Errorf("ParseJSONMessage(%.60q...) = %v; want nil", body, err)
		}
	}
}

func TestParseJSONMessageCopies(t *testing.T) {
	body := []byte(`{"ToUserName":"a","FromUserName":"b","CreateTime":1,"MsgType":"text","Content":"hello"}`)
	m, err := ParseJSONMessage(body)
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

func TestParseJSONEnvelope(t *testing.T) {
	tests := []struct {
		name, body string
		want       Envelope
		wantErr    bool
	}{
		{"safe", `{"ToUserName":"gh_1","Encrypt":"abc="}`, Envelope{ToUserName: "gh_1", Encrypt: "abc="}, false},
		{"compatible", `{"ToUserName":"a","FromUserName":"b","MsgType":"text","Encrypt":"abc="}`,
			Envelope{ToUserName: "a", Encrypt: "abc="}, false},
		{"escaped", `{"Encrypt":"a\/b+c="}`, Envelope{Encrypt: "a/b+c="}, false},
		{"no encrypt", `{` + jsonHead + `,"MsgType":"text"}`, Envelope{}, true},
		{"empty encrypt", `{"Encrypt":""}`, Envelope{}, true},
		{"repeated encrypt", `{"Encrypt":"a","Encrypt":"b"}`, Envelope{}, true},
		{"xml", `<xml><Encrypt>a</Encrypt></xml>`, Envelope{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseJSONEnvelope([]byte(tt.body))
			if got != tt.want || (err != nil) != tt.wantErr || err != nil && !errors.Is(err, ErrMalformedMessage) {
				t.Errorf("ParseJSONEnvelope(%s) = %+v, %v; want %+v, error %v", tt.body, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func BenchmarkParseJSONMessage(b *testing.B) {
	body := xmlToJSON(b, []byte(benchText), true)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ParseJSONMessage(body); err != nil {
			b.Fatal(err)
		}
	}
}

// appendJSONText appends s as a JSON string, as encoding/json writes it.
func appendJSONText(b []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(b, q...)
}
