package wechat

import (
	"bytes"
	"encoding/xml"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

// Differential tests: the hand-written scanner against encoding/xml.

// refMessage is every field ParseMessage reads, for encoding/xml. It is the
// reference the hand-written scanner is checked against, nothing more.
type refMessage struct {
	XMLName          xml.Name
	ToUserName       string
	FromUserName     string
	CreateTime       int64
	MsgType          string
	Event            string
	Content          string
	MsgId            int64 //nolint:revive // WeChat's tag
	MsgID            int64
	PicUrl           string
	MediaId          string
	Format           string
	Recognition      string
	ThumbMediaId     string
	LocationX        float64 `xml:"Location_X"`
	LocationY        float64 `xml:"Location_Y"`
	Scale            int
	Label            string
	Title            string
	Description      string
	Url              string
	EventKey         string
	Ticket           string
	Latitude         float64
	Longitude        float64
	Precision        float64
	MenuId           string
	Status           string
	ScanCodeInfo     ScanCodeInfo
	SendPicsInfo     refPics
	SendLocationInfo refLocation
}

type refPics struct {
	Count   int
	PicList []PicItem `xml:"PicList>item"`
}

type refLocation struct {
	LocationX float64 `xml:"Location_X"`
	LocationY float64 `xml:"Location_Y"`
	Scale     int
	Label     string
	Poiname   string
}

// expected converts what encoding/xml read into the message ParseMessage
// must return for the same type.
func (r *refMessage) expected(got Message) Message {
	h := Header{ToUserName: r.ToUserName, FromUserName: r.FromUserName, CreateTime: r.CreateTime, MsgType: MsgType(r.MsgType)}
	e := EventHeader{Header: h, Event: EventType(r.Event)}
	switch got.(type) {
	case *Text:
		return &Text{Header: h, Content: r.Content, MsgID: r.MsgId}
	case *Image:
		return &Image{Header: h, PicURL: r.PicUrl, MediaID: r.MediaId, MsgID: r.MsgId}
	case *Voice:
		return &Voice{Header: h, MediaID: r.MediaId, Format: r.Format, Recognition: r.Recognition, MsgID: r.MsgId}
	case *Video:
		return &Video{Header: h, MediaID: r.MediaId, ThumbMediaID: r.ThumbMediaId, MsgID: r.MsgId}
	case *Location:
		return &Location{Header: h, LocationX: r.LocationX, LocationY: r.LocationY, Scale: r.Scale, Label: r.Label, MsgID: r.MsgId}
	case *Link:
		return &Link{Header: h, Title: r.Title, Description: r.Description, URL: r.Url, MsgID: r.MsgId}
	case *Subscribe:
		return &Subscribe{EventHeader: e, EventKey: r.EventKey, Ticket: r.Ticket}
	case *Unsubscribe:
		return &Unsubscribe{EventHeader: e}
	case *Scan:
		return &Scan{EventHeader: e, EventKey: r.EventKey, Ticket: r.Ticket}
	case *LocationEvent:
		return &LocationEvent{EventHeader: e, Latitude: r.Latitude, Longitude: r.Longitude, Precision: r.Precision}
	case *Click:
		return &Click{EventHeader: e, EventKey: r.EventKey}
	case *View:
		return &View{EventHeader: e, EventKey: r.EventKey, MenuID: r.MenuId}
	case *ScanCode:
		return &ScanCode{EventHeader: e, EventKey: r.EventKey, ScanCodeInfo: r.ScanCodeInfo}
	case *PicEvent:
		return &PicEvent{EventHeader: e, EventKey: r.EventKey, SendPicsInfo: SendPicsInfo(r.SendPicsInfo)}
	case *LocationSelect:
		return &LocationSelect{EventHeader: e, EventKey: r.EventKey, SendLocationInfo: SendLocationInfo(r.SendLocationInfo)}
	case *TemplateSendJobFinish:
		return &TemplateSendJobFinish{EventHeader: e, MsgID: r.MsgID, Status: r.Status}
	case *Unknown:
		if r.MsgType == string(MsgEvent) {
			return &Unknown{Header: h, Event: EventType(r.Event)}
		}
		return &Unknown{Header: h, MsgID: r.MsgId}
	}
	return nil
}

// FuzzParseMessageDifferential: whenever encoding/xml reads the body as a
// WeChat message, ParseMessage either rejects it or agrees on every field.
func FuzzParseMessageDifferential(f *testing.F) {
	addMessageSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := ParseMessage(body)
		if err != nil {
			return
		}
		var ref refMessage
		if xml.Unmarshal(body, &ref) != nil {
			return
		}
		if ref.XMLName.Local != "xml" || ref.XMLName.Space != "" {
			t.Fatalf("ParseMessage(%q) accepted root %v", body, ref.XMLName)
		}
		want := ref.expected(got)
		if !equalMessages(got, want) {
			t.Fatalf("ParseMessage(%q) = %#v; encoding/xml reads %#v", body, got, want)
		}
	})
}

// equalMessages is reflect.DeepEqual with NaN equal to NaN (ParseFloat
// reads "NaN" on both sides).
func equalMessages(a, b Message) bool {
	if reflect.DeepEqual(a, b) {
		return true
	}
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	return nanEqual(va, vb)
}

func nanEqual(a, b reflect.Value) bool {
	if a.Type() != b.Type() {
		return false
	}
	switch a.Kind() {
	case reflect.Float64:
		x, y := a.Float(), b.Float()
		return x == y || math.IsNaN(x) && math.IsNaN(y)
	case reflect.Struct:
		for i := range a.NumField() {
			if !nanEqual(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

// TestDifferentialSeeds runs the reference over the samples directly, so a
// plain `go test` exercises the comparison and shows both sides agree on
// real messages (not merely that ParseMessage rejects them).
func TestDifferentialSeeds(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "messages", "*.xml"))
	for _, file := range files {
		body, _ := os.ReadFile(file)
		got, err := ParseMessage(body)
		if err != nil {
			t.Errorf("ParseMessage(%s) = %v", file, err)
			continue
		}
		var ref refMessage
		if err := xml.Unmarshal(body, &ref); err != nil {
			t.Errorf("xml.Unmarshal(%s) = %v", file, err)
			continue
		}
		if want := ref.expected(got); !equalMessages(got, want) {
			t.Errorf("ParseMessage(%s) = %#v; encoding/xml reads %#v", file, got, want)
		}
	}
}

// FuzzFieldsDifferential builds well-formed messages around arbitrary field
// values, written as CDATA (by MarshalReply) and as escaped text (by
// xml.EscapeText). ParseMessage must accept both and agree with
// encoding/xml wherever encoding/xml accepts them.
func FuzzFieldsDifferential(f *testing.F) {
	f.Add("oUser0001", "gh_123456789abc", int64(1700000000), "hello")
	f.Add("o<&>", "gh]]>", int64(-1), "a]]>b\r\n\rc\x00\xff&#1;")
	f.Fuzz(func(t *testing.T, to, from string, createTime int64, content string) {
		if to == "" || from == "" || content == "" {
			return
		}
		cdata, err := MarshalReply(to, from, createTime, &TextReply{Content: content})
		if err != nil {
			t.Fatal(err)
		}
		var esc bytes.Buffer
		esc.WriteString("<xml><ToUserName>")
		xml.EscapeText(&esc, []byte(to))
		esc.WriteString("</ToUserName><FromUserName>")
		xml.EscapeText(&esc, []byte(from))
		esc.WriteString("</FromUserName><CreateTime>" + strconv.FormatInt(createTime, 10) + "</CreateTime><MsgType>text</MsgType><Content>")
		xml.EscapeText(&esc, []byte(content))
		esc.WriteString("</Content></xml>")
		for _, body := range [][]byte{cdata, esc.Bytes()} {
			got, err := ParseMessage(body)
			if err != nil {
				t.Fatalf("ParseMessage(%q) = %v; want it accepted", body, err)
			}
			var ref refMessage
			if xml.Unmarshal(body, &ref) != nil {
				continue
			}
			if want := ref.expected(got); !equalMessages(got, want) {
				t.Fatalf("ParseMessage(%q) = %#v; encoding/xml reads %#v", body, got, want)
			}
		}
	})
}
