package wechat

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestOpenReplyOfMarshalReply: every reply type comes back as it was sent,
// in plaintext and sealed for safe mode.
func TestOpenReplyOfMarshalReply(t *testing.T) {
	c := mustCrypter(t, sampleKey, sampleAppID)
	want := ReplyHeader{ToUserName: "oUser0001", FromUserName: "gh_123456789abc", CreateTime: 1700000000}
	for _, tt := range replyCases {
		for _, safe := range []bool{false, true} {
			name := tt.name + map[bool]string{false: "/plaintext", true: "/safe"}[safe]
			t.Run(name, func(t *testing.T) {
				body, err := MarshalReply(want.ToUserName, want.FromUserName, want.CreateTime, tt.reply)
				if err != nil {
					t.Fatal(err)
				}
				var crypter *Crypter
				if safe {
					crypter = c
					if body, err = c.SealReply(sampleToken, body, sampleTimestamp, sampleNonce); err != nil {
						t.Fatal(err)
					}
				}
				h, r, err := OpenReply(sampleToken, crypter, body)
				if err != nil || h != want || !reflect.DeepEqual(r, tt.reply) {
					t.Errorf("OpenReply(MarshalReply(%#v)) = %+v, %#v, %v; want %+v and the reply", tt.reply, h, r, err, want)
				}
			})
		}
	}
}

func TestOpenReplyRefuses(t *testing.T) {
	c := mustCrypter(t, sampleKey, sampleAppID)
	other := mustCrypter(t, sampleKey, "wx0000000000000000")
	text, err := MarshalReply("o", "gh", 1, &TextReply{Content: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	seal := func(c *Crypter, b []byte) []byte {
		out, err := c.SealReply(sampleToken, b, sampleTimestamp, sampleNonce)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	sealed := seal(c, text)
	head := "<xml><ToUserName>o</ToUserName><FromUserName>gh</FromUserName><CreateTime>1</CreateTime>"
	tests := []struct {
		name    string
		c       *Crypter
		body    string
		wantErr error  // nil: only the text is checked
		text    string // the error contains it
	}{
		{"not XML", nil, "<html>oops", ErrMalformedMessage, "neither"},
		{"encrypted reply, plaintext push", nil, string(sealed), ErrNoKey, "encrypted reply"},
		{"plaintext reply, safe-mode push", c, string(text), ErrPlaintextRefused, "plaintext reply"},
		{"bad MsgSignature", c, strings.Replace(string(sealed), "<MsgSignature><![CDATA[", "<MsgSignature><![CDATA[0", 1), ErrBadMsgSignature, "MsgSignature"},
		{"another appid", c, string(seal(other, text)), ErrAppIDMismatch, "another appid"},
		{"sealed garbage", c, string(seal(c, []byte("not xml"))), ErrMalformedMessage, "decrypted reply"},
		{"no MsgType", nil, head + "<Content>x</Content></xml>", ErrInvalidReply, "MsgType"},
		{"unknown MsgType", nil, head + "<MsgType>sticker</MsgType></xml>", ErrInvalidReply, `"sticker"`},
		{"news without articles", nil, head + "<MsgType>news</MsgType><ArticleCount>0</ArticleCount><Articles></Articles></xml>", ErrInvalidReply, "articles"},
		{"empty text", nil, head + "<MsgType>text</MsgType><Content></Content></xml>", ErrInvalidReply, "Content"},
		{"CreateTime not a number", nil, "<xml><CreateTime>x</CreateTime><MsgType>text</MsgType><Content>x</Content></xml>", ErrMalformedMessage, "CreateTime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, r, err := OpenReply(sampleToken, tt.c, []byte(tt.body))
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.text) || r != nil {
				t.Errorf("OpenReply(%.60q) = %v, %v; want an error matching %v, containing %q", tt.body, r, err, tt.wantErr, tt.text)
			}
		})
	}
	for _, body := range []string{"", "success", "  success\n"} {
		for _, c := range []*Crypter{nil, c} {
			if h, r, err := OpenReply(sampleToken, c, []byte(body)); err != nil || r != nil || h != (ReplyHeader{}) {
				t.Errorf("OpenReply(%q) = %+v, %v, %v; want no reply", body, h, r, err)
			}
		}
	}
}
