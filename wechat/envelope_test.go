package wechat

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseEnvelope(t *testing.T) {
	tests := []struct {
		name, body string
		want       Envelope
		wantErr    bool
	}{
		{"safe mode", `<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Encrypt><![CDATA[abc=]]></Encrypt></xml>`,
			Envelope{ToUserName: "gh_1", Encrypt: "abc="}, false},
		{"compatible mode", "<xml>" + head + "<MsgType>text</MsgType><Content>hi</Content><Encrypt>abc=</Encrypt></xml>",
			Envelope{ToUserName: "a", Encrypt: "abc="}, false},
		{"no encrypt", "<xml>" + head + "<MsgType>text</MsgType></xml>", Envelope{}, true},
		{"empty encrypt", "<xml><Encrypt></Encrypt></xml>", Envelope{}, true},
		{"repeated encrypt", "<xml><Encrypt>a</Encrypt><Encrypt>b</Encrypt></xml>", Envelope{}, true},
		{"malformed", "<xml><Encrypt>a</xml>", Envelope{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEnvelope([]byte(tt.body))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseEnvelope(%q) = %+v, %v; want %+v, error %v", tt.body, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestSealReply(t *testing.T) {
	c := mustCrypter(t, sampleKey, sampleAppID)
	reply := []byte(sampleMsg2)
	out, err := c.SealReply(sampleToken, reply, sampleTimestamp, sampleNonce)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<xml><Encrypt><![CDATA[", "<MsgSignature><![CDATA[",
		"<TimeStamp>" + sampleTimestamp + "</TimeStamp>", "<Nonce><![CDATA[" + sampleNonce + "]]></Nonce></xml>"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("SealReply() = %s; want it to contain %s", out, want)
		}
	}
	// WeChat checks the reply like a request: signature over Encrypt, then decrypt.
	nodes, err := scanXML(string(out), nil)
	if err != nil {
		t.Fatalf("scan SealReply output: %v", err)
	}
	fields := map[string]string{}
	for _, n := range nodes[1:] {
		fields[n.name] = n.val
	}
	if !VerifyMsgSignature(sampleToken, fields["TimeStamp"], fields["Nonce"], fields["Encrypt"], fields["MsgSignature"]) {
		t.Errorf("VerifyMsgSignature(SealReply output) = false; want true")
	}
	plain, err := c.Decrypt(fields["Encrypt"])
	if err != nil || !bytes.Equal(plain, reply) {
		t.Errorf("Decrypt(SealReply output) = %q, %v; want %q", plain, err, reply)
	}
	if _, err := c.SealReply(sampleToken, reply, "12<x>", sampleNonce); err == nil {
		t.Errorf("SealReply(timestamp %q) = nil error; want an error", "12<x>")
	}
	out, err = c.SealReply(sampleToken, reply, sampleTimestamp, "a]]>b")
	if err != nil || !bytes.Contains(out, []byte("<Nonce><![CDATA[a]]]]><![CDATA[>b]]></Nonce>")) {
		t.Errorf("SealReply(nonce %q) = %s, %v; want the nonce split across CDATA sections", "a]]>b", out, err)
	}
}

func TestCrypterConcurrent(t *testing.T) {
	c := mustCrypter(t, sampleKey, sampleAppID)
	done := make(chan error, 8)
	for range 8 {
		go func() {
			for range 100 {
				got, err := c.Decrypt(sampleCipher)
				if err != nil || string(got) != sampleMsg {
					done <- errors.New("concurrent Decrypt returned a wrong result")
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func TestAppendCDATAElem(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "<T><![CDATA[]]></T>"},
		{"a<b>&c", "<T><![CDATA[a<b>&c]]></T>"},
		{"a]]>b", "<T><![CDATA[a]]]]><![CDATA[>b]]></T>"},
		{"]]>]]>", "<T><![CDATA[]]]]><![CDATA[>]]]]><![CDATA[>]]></T>"},
	}
	for _, tt := range tests {
		got := string(AppendCDATAElem([]byte(nil), "T", tt.in))
		if got != tt.want {
			t.Errorf("AppendCDATAElem(%q) = %s; want %s", tt.in, got, tt.want)
		}
		if n, err := scanXML("<xml>"+got+"</xml>", nil); err != nil || n[1].val != tt.in {
			t.Errorf("scanning AppendCDATAElem(%q) = %v, %v; want the text back", tt.in, n, err)
		}
	}
}
