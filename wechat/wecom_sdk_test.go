package wechat

import (
	"encoding/xml"
	"net/url"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/officialaccount/message"
	sdkutil "github.com/silenceper/wechat/v2/util"
	workconfig "github.com/silenceper/wechat/v2/work/config"
	"github.com/silenceper/wechat/v2/work/kf"
)

// Cross-checks against an independent implementation of WeCom's crypto:
// silenceper/wechat's (util.EncryptMsg/DecryptMsg, its WeCom callback
// client), with a WeCom-style corp id as the receiveid. What one seals the
// other opens, in both directions, for the URL check, the push and the
// passive reply.

const (
	sdkCorp  = "ww7d0c4b5a1e2f3a4b"
	sdkAgent = "1000002"
	sdkToken = "sdkWeComToken"
	sdkTS    = "1700000000"
	sdkNonce = "1372623149"
)

var sdkNow = time.Unix(1700000000, 0)

func sdkClient(t *testing.T) *kf.Client {
	t.Helper()
	cl, err := kf.NewClient(&workconfig.Config{CorpID: sdkCorp, Token: sdkToken, EncodingAESKey: urlKey, Cache: cache.NewMemory()})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

const sdkMsg = "<xml><ToUserName><![CDATA[" + sdkCorp + "]]></ToUserName><FromUserName><![CDATA[lisi]]></FromUserName>" +
	"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好 ]]]]><![CDATA[>]]></Content>" +
	"<MsgId>7301234567890123456</MsgId><AgentID>" + sdkAgent + "</AgentID></xml>"

func TestWeComSDKOpensOurs(t *testing.T) {
	c := mustCrypter(t, urlKey, sdkCorp)
	cl := sdkClient(t)

	q, err := SealWeComURLCheck(sdkToken, c, "5927183749", sdkTS, sdkNonce)
	if err != nil {
		t.Fatal(err)
	}
	echo, err := cl.VerifyURL(kf.SignatureOptions{Signature: q.Get("msg_signature"), TimeStamp: q.Get("timestamp"),
		Nonce: q.Get("nonce"), EchoStr: q.Get("echostr")})
	if err != nil || echo != "5927183749" {
		t.Errorf("silenceper VerifyURL(SealWeComURLCheck(...)) = %q, %v; want the echo", echo, err)
	}

	q, body, err := SealWeComPush(sdkToken, c, sdkAgent, []byte(sdkMsg), sdkTS, sdkNonce)
	if err != nil {
		t.Fatal(err)
	}
	var env struct{ ToUserName, AgentID, Encrypt string }
	if err := xml.Unmarshal(body, &env); err != nil || env.ToUserName != sdkCorp || env.AgentID != sdkAgent {
		t.Fatalf("encoding/xml reads SealWeComPush body %s as %+v, %v", body, env, err)
	}
	if sig := sdkutil.Signature(sdkToken, q.Get("timestamp"), q.Get("nonce"), env.Encrypt); sig != q.Get("msg_signature") {
		t.Errorf("silenceper Signature = %s; SealWeComPush msg_signature %s", sig, q.Get("msg_signature"))
	}
	_, plain, err := sdkutil.DecryptMsg(sdkCorp, env.Encrypt, urlKey)
	if err != nil || string(plain) != sdkMsg {
		t.Errorf("silenceper DecryptMsg(SealWeComPush) = %q, %v; want the message", plain, err)
	}
	// Its WeCom callback client decrypts with the corp id as receiveid too.
	if _, err := cl.GetCallbackMessage(body); err != nil {
		t.Errorf("silenceper GetCallbackMessage(SealWeComPush body) = %v", err)
	}

	reply, err := MarshalReply("lisi", sdkCorp, 1700000001, &TextReply{Content: "收到"})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := c.SealReply(sdkToken, reply, sdkTS, sdkNonce)
	if err != nil {
		t.Fatal(err)
	}
	var resp message.ResponseEncryptedXMLMsg
	if err := xml.Unmarshal(sealed, &resp); err != nil {
		t.Fatalf("silenceper's reply envelope cannot read SealReply %s: %v", sealed, err)
	}
	if sig := sdkutil.Signature(sdkToken, strconv.FormatInt(resp.Timestamp, 10), resp.Nonce, resp.EncryptedMsg); sig != resp.MsgSignature {
		t.Errorf("silenceper Signature over SealReply = %s; its MsgSignature %s", sig, resp.MsgSignature)
	}
	if _, plain, err := sdkutil.DecryptMsg(sdkCorp, resp.EncryptedMsg, urlKey); err != nil || string(plain) != string(reply) {
		t.Errorf("silenceper DecryptMsg(SealReply) = %q, %v; want %q", plain, err, reply)
	}
}

func TestWeComOursOpensSDK(t *testing.T) {
	c := mustCrypter(t, urlKey, sdkCorp)
	random := []byte("0123456789abcdef")

	echoEnc, err := sdkutil.EncryptMsg(random, []byte("8812345678"), sdkCorp, urlKey)
	if err != nil {
		t.Fatal(err)
	}
	q := PushQuery{MsgSignature: sdkutil.Signature(sdkToken, sdkTS, sdkNonce, string(echoEnc)), Timestamp: sdkTS,
		Nonce: sdkNonce, EchoStr: string(echoEnc)}
	if echo, err := VerifyWeComURL(sdkToken, c, q, sdkNow, time.Minute); err != nil || string(echo) != "8812345678" {
		t.Errorf("VerifyWeComURL(silenceper-sealed echostr) = %q, %v; want the echo", echo, err)
	}

	enc, err := sdkutil.EncryptMsg(random, []byte(sdkMsg), sdkCorp, urlKey)
	if err != nil {
		t.Fatal(err)
	}
	// WeCom's query as a server would read it, escapes and all.
	raw := url.Values{"msg_signature": {sdkutil.Signature(sdkToken, sdkTS, sdkNonce, string(enc))},
		"timestamp": {sdkTS}, "nonce": {sdkNonce}}.Encode()
	body, err := xml.Marshal(struct {
		XMLName    xml.Name `xml:"xml"`
		ToUserName string
		AgentID    string
		Encrypt    string
	}{ToUserName: sdkCorp, AgentID: sdkAgent, Encrypt: string(enc)})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := OpenWeComPush(sdkToken, c, ParsePushQuery(raw), body, sdkNow, time.Minute)
	if err != nil || string(plain) != sdkMsg {
		t.Fatalf("OpenWeComPush(silenceper-sealed push) = %q, %v; want the message", plain, err)
	}
	if m, err := ParseWeComMessage(plain); err != nil || m.Head().AgentID != sdkAgent || m.(*Text).Content != "你好 ]]>" {
		t.Errorf("ParseWeComMessage = %#v, %v", m, err)
	}

	reply, err := MarshalReply("lisi", sdkCorp, 1700000001, &NewsReply{Articles: []Article{{Title: "T", URL: "https://a.example/"}}})
	if err != nil {
		t.Fatal(err)
	}
	renc, err := sdkutil.EncryptMsg(random, reply, sdkCorp, urlKey)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := xml.Marshal(message.ResponseEncryptedXMLMsg{EncryptedMsg: string(renc),
		MsgSignature: sdkutil.Signature(sdkToken, sdkTS, sdkNonce, string(renc)), Timestamp: 1700000000, Nonce: sdkNonce})
	if err != nil {
		t.Fatal(err)
	}
	h, r, err := OpenReply(sdkToken, c, sealed)
	want := &NewsReply{Articles: []Article{{Title: "T", URL: "https://a.example/"}}}
	if err != nil || h.ToUserName != "lisi" || !reflect.DeepEqual(r, want) {
		t.Errorf("OpenReply(silenceper-sealed reply %s) = %+v, %#v, %v; want %#v", sealed, h, r, err, want)
	}
}
