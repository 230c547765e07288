package wechat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Fuzz targets for the Mini Program JSON and WeCom parsers.

func addJSONSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "messages", "*.xml"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(xmlToJSON(f, b, true))
		f.Add(xmlToJSON(f, b, false))
	}
	f.Add([]byte(mpDocPlain))
	f.Add([]byte(`{"ToUserName":"a","FromUserName":"b","CreateTime":"1","MsgType":"text","Content":"\u4f60\ud83d\ude00\ud800\n","X":[{"a":[1,true,null]},{}],"Encrypt":"x"}`))
}

// FuzzParseJSONMessage: no input panics; an accepted body is valid JSON
// whose header encoding/json reads the same.
func FuzzParseJSONMessage(f *testing.F) {
	addJSONSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _ = ParseJSONEnvelope(body)
		m, err := ParseJSONMessage(body)
		if err != nil {
			if !errors.Is(err, ErrMalformedMessage) {
				t.Fatalf("ParseJSONMessage(%q) error %v does not wrap ErrMalformedMessage", body, err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("ParseJSONMessage(%q) accepted what encoding/json calls invalid", body)
		}
		h := m.Head()
		if h.ToUserName == "" || h.FromUserName == "" || h.MsgType == "" {
			t.Fatalf("ParseJSONMessage(%q) accepted an empty header: %+v", body, h)
		}
		_, _, _ = DedupKey(m), EventOf(m), EventKeyOf(m)
		if !utf8.Valid(body) {
			return // encoding/json replaces bad bytes, ParseJSONMessage keeps them
		}
		var ref map[string]any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&ref); err != nil {
			t.Fatalf("encoding/json cannot read %q: %v", body, err)
		}
		text := func(name string) (string, bool) {
			v := ref[name]
			if a, ok := v.([]any); ok { // an array is the member repeated
				if len(a) != 1 {
					return "", false // encoding/json kept a later, empty member
				}
				v = a[0]
			}
			return fmt.Sprint(v), true
		}
		for name, got := range map[string]string{"ToUserName": h.ToUserName, "FromUserName": h.FromUserName, "MsgType": string(h.MsgType)} {
			if want, ok := text(name); ok && want != got {
				t.Fatalf("ParseJSONMessage(%q) %s = %q; encoding/json reads %q", body, name, got, want)
			}
		}
		if s, ok := text("CreateTime"); ok {
			if want, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil && want != h.CreateTime {
				t.Fatalf("ParseJSONMessage(%q) CreateTime = %d; encoding/json reads %d", body, h.CreateTime, want)
			}
		}
	})
}

// FuzzOpenWeComPush: whatever the body and the ciphertext, opening a WeCom
// push or URL check never panics and fails with one of the sentinels a
// callback maps to a status; and what is sealed opens to the same bytes.
func FuzzOpenWeComPush(f *testing.F) {
	f.Add([]byte(weComSampleBody), weComSampleEncrypt, []byte(weComSamplePlain))
	f.Add([]byte("<xml><Encrypt>x</Encrypt></xml>"), urlEchoStr, []byte(""))
	f.Add([]byte("<xml></xml>"), "", []byte(pyPlain))
	c := mustCrypter(f, urlKey, urlAppID)
	known := []error{ErrMalformedMessage, ErrBadMsgSignature, ErrDecrypt, ErrMissingSignature}
	isKnown := func(err error) bool {
		for _, k := range known {
			if errors.Is(err, k) {
				return true
			}
		}
		return false
	}
	f.Fuzz(func(t *testing.T, body []byte, enc string, plain []byte) {
		// A query signed over enc: any body whose <Encrypt> differs is
		// refused, and as an echostr enc reaches the decryption.
		q := PushQuery{MsgSignature: Sign(urlToken, urlTimestamp, urlNonce, enc), Timestamp: urlTimestamp, Nonce: urlNonce}
		if _, err := OpenWeComPush(urlToken, c, q, body, time.Time{}, 0); err != nil && !isKnown(err) {
			t.Fatalf("OpenWeComPush(%q) error %v matches no sentinel", body, err)
		}
		q.EchoStr = enc
		if echo, err := VerifyWeComURL(urlToken, c, q, time.Time{}, 0); err != nil && !isKnown(err) {
			t.Fatalf("VerifyWeComURL(echostr %q) error %v matches no sentinel", enc, err)
		} else if err == nil {
			if back, err := c.Decrypt(enc); err != nil || !bytes.Equal(back, echo) {
				t.Fatalf("VerifyWeComURL(echostr %q) = %q; Decrypt gives %q, %v", enc, echo, back, err)
			}
		}

		qv, sealed, err := SealWeComPush(urlToken, c, "1000002", plain, urlTimestamp, urlNonce)
		if err != nil {
			t.Fatal(err)
		}
		got, err := OpenWeComPush(urlToken, c, ParsePushQuery(qv.Encode()), sealed, time.Time{}, 0)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("OpenWeComPush(SealWeComPush(%q)) = %q, %v", plain, got, err)
		}
		if m, err := ParseWeComMessage(got); err != nil && !errors.Is(err, ErrMalformedMessage) {
			t.Fatalf("ParseWeComMessage(%q) error %v does not wrap ErrMalformedMessage", got, err)
		} else if err == nil && m.Head().MsgType == "" {
			t.Fatalf("ParseWeComMessage(%q) accepted an empty MsgType", got)
		}
	})
}
