package wechat

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// WeCom's sample push (WXBizMsgCrypt, callback Sample.*), for the corp,
// token and key of the URL-check sample in crypt_test.go (urlAppID is the
// sample corp id).
const (
	weComSampleMsgSig    = "477715d11cdb4164915debcba66cb864d751f3e6"
	weComSampleTimestamp = "1409659813"
	weComSampleNonce     = "1372623149"
	weComSampleEncrypt   = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
	weComSampleBody      = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[" + weComSampleEncrypt + "]]></Encrypt>\n<AgentID><![CDATA[218]]></AgentID>\n</xml>"
	weComSamplePlain     = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>"
)

func TestWeComOfficialSamples(t *testing.T) {
	c := mustCrypter(t, urlKey, urlAppID)
	urlQ := PushQuery{MsgSignature: urlMsgSig, Timestamp: urlTimestamp, Nonce: urlNonce, EchoStr: urlEchoStr}
	echo, err := VerifyWeComURL(urlToken, c, urlQ, time.Unix(1409659589, 0), time.Minute)
	if err != nil || string(echo) != urlEchoPlain {
		t.Errorf("VerifyWeComURL(sample) = %q, %v; want %q", echo, err, urlEchoPlain)
	}

	q := PushQuery{MsgSignature: weComSampleMsgSig, Timestamp: weComSampleTimestamp, Nonce: weComSampleNonce}
	plain, err := OpenWeComPush(urlToken, c, q, []byte(weComSampleBody), time.Unix(1409659813, 0), time.Minute)
	if err != nil || string(plain) != weComSamplePlain {
		t.Fatalf("OpenWeComPush(sample) = %q, %v; want %q", plain, err, weComSamplePlain)
	}
	m, err := ParseWeComMessage(plain)
	want := &Text{Header: Header{ToUserName: "wx5823bf96d3bd56c7", FromUserName: "mycreate", CreateTime: 1409659813,
		MsgType: MsgText, AgentID: "218"}, Content: "hello", MsgID: 4561255354251345929}
	if err != nil || !reflect.DeepEqual(m, want) {
		t.Errorf("ParseWeComMessage(sample) = %#v, %v; want %#v", m, err, want)
	}
	// ParseMessage leaves AgentID alone: a forward's JSON stays as it was.
	if m, err := ParseMessage(plain); err != nil || m.Head().AgentID != "" {
		t.Errorf("ParseMessage(WeCom sample) = %#v, %v; want no AgentID", m, err)
	}
}

func TestWeComRoundTrip(t *testing.T) {
	const corp, agent, token = "ww0123456789abcdef", "1000002", "wecomToken"
	c := mustCrypter(t, urlKey, corp)
	now := time.Unix(1700000000, 0)
	ts := "1700000000"

	uq, err := SealWeComURLCheck(token, c, "8031287512", ts, "n1")
	if err != nil {
		t.Fatal(err)
	}
	if len(uq) != 4 || uq.Get("signature") != "" {
		t.Errorf("SealWeComURLCheck query = %v; want msg_signature, timestamp, nonce, echostr only", uq)
	}
	if echo, err := VerifyWeComURL(token, c, ParsePushQuery(uq.Encode()), now, time.Minute); err != nil || string(echo) != "8031287512" {
		t.Errorf("VerifyWeComURL(SealWeComURLCheck(...)) = %q, %v; want the echo", echo, err)
	}

	msg := "<xml><ToUserName><![CDATA[" + corp + "]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName>" +
		"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[click]]></Event>" +
		"<EventKey><![CDATA[HELP]]></EventKey><AgentID>" + agent + "</AgentID></xml>"
	q, body, err := SealWeComPush(token, c, agent, []byte(msg), ts, "n2")
	if err != nil {
		t.Fatal(err)
	}
	wantBody := "<xml><ToUserName><![CDATA[" + corp + "]]></ToUserName><AgentID><![CDATA[" + agent + "]]></AgentID><Encrypt><![CDATA["
	if len(q) != 3 || q.Get("msg_signature") == "" || !strings.HasPrefix(string(body), wantBody) {
		t.Errorf("SealWeComPush = %v, %s; want msg_signature, timestamp, nonce and the body %s...", q, body, wantBody)
	}
	plain, err := OpenWeComPush(token, c, ParsePushQuery(q.Encode()), body, now, time.Minute)
	if err != nil || string(plain) != msg {
		t.Fatalf("OpenWeComPush(SealWeComPush(...)) = %q, %v; want the message", plain, err)
	}
	m, err := ParseWeComMessage(plain)
	want := &Click{EventHeader: EventHeader{Header: Header{ToUserName: corp, FromUserName: "zhangsan", CreateTime: 1700000000,
		MsgType: MsgEvent, AgentID: agent}, Event: EventClick}, EventKey: "HELP"}
	if err != nil || !reflect.DeepEqual(m, want) {
		t.Errorf("ParseWeComMessage(click) = %#v, %v; want %#v", m, err, want)
	}

	// The passive reply is sealed as an Official Account's, and opens
	// with OpenReply and the corp's Crypter.
	reply, err := MarshalReply("zhangsan", corp, 1700000001, &TextReply{Content: "帮助"})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := c.SealReply(token, reply, ts, "n2")
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"<Encrypt><![CDATA[", "<MsgSignature><![CDATA[", "<TimeStamp>" + ts + "</TimeStamp>", "<Nonce><![CDATA[n2]]></Nonce>"} {
		if !strings.Contains(string(sealed), tag) {
			t.Errorf("SealReply = %s; want it to contain %s", sealed, tag)
		}
	}
	h, r, err := OpenReply(token, c, sealed)
	if err != nil || h.ToUserName != "zhangsan" || h.FromUserName != corp || !reflect.DeepEqual(r, &TextReply{Content: "帮助"}) {
		t.Errorf("OpenReply(SealReply(...)) = %+v, %#v, %v; want the text reply", h, r, err)
	}
}

func TestParseWeComMessage(t *testing.T) {
	head := "<ToUserName>ww1</ToUserName><FromUserName>u</FromUserName><CreateTime>1</CreateTime>"
	wh := func(t MsgType) Header {
		return Header{ToUserName: "ww1", FromUserName: "u", CreateTime: 1, MsgType: t, AgentID: "1000002"}
	}
	ev := func(e EventType) EventHeader { return EventHeader{Header: wh(MsgEvent), Event: e} }
	tests := []struct {
		name, body string
		want       Message
	}{
		{"view", "<MsgType>event</MsgType><Event>view</Event><EventKey>https://a.example/</EventKey>",
			&View{EventHeader: ev(EventView), EventKey: "https://a.example/"}},
		{"CLICK as sent by an Official Account", "<MsgType>event</MsgType><Event>CLICK</Event><EventKey>K</EventKey>",
			&Click{EventHeader: ev(EventClick), EventKey: "K"}},
		{"enter_agent", "<MsgType>event</MsgType><Event>enter_agent</Event><EventKey></EventKey>",
			&Unknown{Header: wh(MsgEvent), Event: "enter_agent"}},
		{"subscribe", "<MsgType>event</MsgType><Event>subscribe</Event>", &Subscribe{EventHeader: ev(EventSubscribe)}},
		{"location", "<MsgType>location</MsgType><Location_X>23.1</Location_X><Location_Y>113.3</Location_Y><Scale>15</Scale><Label>L</Label><MsgId>9</MsgId>",
			&Location{Header: wh(MsgLocation), LocationX: 23.1, LocationY: 113.3, Scale: 15, Label: "L", MsgID: 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := "<xml>" + head + tt.body + "<AgentID>1000002</AgentID></xml>"
			got, err := ParseWeComMessage([]byte(body))
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseWeComMessage(%s) = %#v, %v; want %#v", body, got, err, tt.want)
			}
		})
	}
	// An Official Account push that spells click in lower case is unknown,
	// as before.
	body := "<xml>" + head + "<MsgType>event</MsgType><Event>click</Event></xml>"
	if m, err := ParseMessage([]byte(body)); err != nil || reflect.TypeOf(m) != reflect.TypeFor[*Unknown]() {
		t.Errorf("ParseMessage(%s) = %#v, %v; want *Unknown", body, m, err)
	}
	if _, err := ParseWeComMessage([]byte("<xml>" + head + "<MsgType>text</MsgType><AgentID>1</AgentID><AgentID>2</AgentID></xml>")); !errors.Is(err, ErrMalformedMessage) {
		t.Errorf("ParseWeComMessage(repeated AgentID) = %v; want ErrMalformedMessage", err)
	}
}

// TestWeComRefuses: each refusal matches the sentinel a callback already
// maps to a status.
func TestWeComRefuses(t *testing.T) {
	c := mustCrypter(t, urlKey, urlAppID)
	otherCorp := mustCrypter(t, urlKey, "ww0000000000000000")
	now := time.Unix(1409659813, 0)
	good := PushQuery{MsgSignature: weComSampleMsgSig, Timestamp: weComSampleTimestamp, Nonce: weComSampleNonce}
	with := func(f func(*PushQuery)) PushQuery { q := good; f(&q); return q }
	fq, fbody, err := SealWeComPush(urlToken, otherCorp, "1", []byte(pushPlain), weComSampleTimestamp, weComSampleNonce)
	if err != nil {
		t.Fatal(err)
	}
	foreignQ := ParsePushQuery(fq.Encode())
	body := []byte(weComSampleBody)
	tests := []struct {
		name string
		c    *Crypter
		q    PushQuery
		body []byte
		now  time.Time
		want []error
	}{
		{"no msg_signature", c, with(func(q *PushQuery) { q.MsgSignature = "" }), body, now, []error{ErrMissingMsgSignature}},
		{"a plain signature only", c, PushQuery{Signature: sampleSignature, Timestamp: weComSampleTimestamp, Nonce: weComSampleNonce}, body, now, []error{ErrMissingMsgSignature}},
		{"no timestamp", c, with(func(q *PushQuery) { q.Timestamp = "" }), body, now, []error{ErrMissingSignature}},
		{"no nonce", c, with(func(q *PushQuery) { q.Nonce = "" }), body, now, []error{ErrMissingSignature}},
		{"timestamp not a number", c, with(func(q *PushQuery) { q.Timestamp = "x" }), body, now, []error{ErrBadTimestamp}},
		{"old", c, good, body, now.Add(time.Hour), []error{ErrClockSkew}},
		{"from the future", c, good, body, now.Add(-time.Hour), []error{ErrClockSkew}},
		{"no key", nil, good, body, now, []error{ErrNoKey}},
		{"malformed body", c, good, []byte("<xml><Encrypt>a</xml>"), now, []error{ErrMalformedMessage}},
		{"no Encrypt", c, good, []byte(pushPlain), now, []error{ErrMalformedMessage}},
		{"bad msg_signature", c, with(func(q *PushQuery) { q.MsgSignature = strings.Repeat("0", 40) }), body, now, []error{ErrBadMsgSignature}},
		{"another nonce", c, with(func(q *PushQuery) { q.Nonce = "1372623148" }), body, now, []error{ErrBadMsgSignature}},
		{"another corp", c, foreignQ, fbody, now, []error{ErrDecrypt, ErrAppIDMismatch}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := OpenWeComPush(urlToken, tt.c, tt.q, tt.body, tt.now, time.Minute)
			for _, want := range tt.want {
				if !errors.Is(err, want) {
					t.Errorf("OpenWeComPush = %q, %v; want an error matching %v", got, err, want)
				}
			}
		})
	}

	urlNow := time.Unix(1409659589, 0)
	urlGood := PushQuery{MsgSignature: urlMsgSig, Timestamp: urlTimestamp, Nonce: urlNonce, EchoStr: urlEchoStr}
	withURL := func(f func(*PushQuery)) PushQuery { q := urlGood; f(&q); return q }
	urlTests := []struct {
		name string
		c    *Crypter
		q    PushQuery
		now  time.Time
		want []error
	}{
		{"no echostr", c, withURL(func(q *PushQuery) { q.EchoStr = "" }), urlNow, []error{ErrMissingSignature}},
		{"no msg_signature", c, withURL(func(q *PushQuery) { q.MsgSignature = "" }), urlNow, []error{ErrMissingMsgSignature}},
		{"old", c, urlGood, urlNow.Add(time.Hour), []error{ErrClockSkew}},
		{"no key", nil, urlGood, urlNow, []error{ErrNoKey}},
		{"echostr altered", c, withURL(func(q *PushQuery) { q.EchoStr = "A" + q.EchoStr[1:] }), urlNow, []error{ErrBadMsgSignature}},
		{"another corp", otherCorp, urlGood, urlNow, []error{ErrDecrypt, ErrAppIDMismatch}},
	}
	for _, tt := range urlTests {
		t.Run("url check "+tt.name, func(t *testing.T) {
			got, err := VerifyWeComURL(urlToken, tt.c, tt.q, tt.now, time.Minute)
			for _, want := range tt.want {
				if !errors.Is(err, want) {
					t.Errorf("VerifyWeComURL = %q, %v; want an error matching %v", got, err, want)
				}
			}
		})
	}
	if _, _, err := SealWeComPush(urlToken, nil, "1", nil, "1", "n"); !errors.Is(err, ErrNoKey) {
		t.Errorf("SealWeComPush(nil Crypter) = %v; want ErrNoKey", err)
	}
	if _, err := SealWeComURLCheck(urlToken, nil, "1", "1", "n"); !errors.Is(err, ErrNoKey) {
		t.Errorf("SealWeComURLCheck(nil Crypter) = %v; want ErrNoKey", err)
	}
}
