package wechat

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func addMessageSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "messages", "*.xml"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(benchText))
	f.Add([]byte(pyPlain))
	f.Add([]byte("<xml>" + head + "<MsgType>text</MsgType><Content>a\r\n&amp;\rb<![CDATA[\r\nc]]>&#13;&#x41;</Content></xml>"))
}

// FuzzParseMessage: no input panics, and an accepted message is usable.
func FuzzParseMessage(f *testing.F) {
	addMessageSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := ParseMessage(body)
		if err != nil {
			if !errors.Is(err, ErrMalformedMessage) {
				t.Fatalf("ParseMessage(%q) error %v does not wrap ErrMalformedMessage", body, err)
			}
			return
		}
		h := m.Head()
		if h.ToUserName == "" || h.FromUserName == "" || h.MsgType == "" {
			t.Fatalf("ParseMessage(%q) accepted an empty header: %+v", body, h)
		}
		_, _, _ = DedupKey(m), EventOf(m), EventKeyOf(m)
		_, _ = ParseEnvelope(body)
	})
}

// FuzzDecrypt: no input panics, and errors are always one of the sentinels.
func FuzzDecrypt(f *testing.F) {
	f.Add(sampleCipher)
	f.Add(sampleCipher2)
	f.Add(pyEncrypt)
	f.Add("")
	f.Add("AAAAAAAAAAAAAAAAAAAAAA==")
	f.Add("!!!")
	c, err := NewCrypter(sampleKey, sampleAppID)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in string) {
		plain, err := c.Decrypt(in)
		if err != nil {
			if !isDecryptSentinel(err) {
				t.Fatalf("Decrypt(%q) error %v matches no sentinel", in, err)
			}
			return
		}
		enc, err := c.EncryptWithRandom([]byte(sampleRandom), plain)
		if err != nil {
			t.Fatal(err)
		}
		back, err := c.Decrypt(enc)
		if err != nil || !bytes.Equal(back, plain) {
			t.Fatalf("Decrypt(Encrypt(%q)) = %q, %v", plain, back, err)
		}
	})
}

// FuzzEncryptRoundTrip: whatever is sealed opens to the same bytes.
func FuzzEncryptRoundTrip(f *testing.F) {
	f.Add([]byte(sampleMsg), []byte(sampleRandom))
	f.Add([]byte{}, make([]byte, 16))
	c, err := NewCrypter(sampleKey, sampleAppID)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, plain, random []byte) {
		enc, err := c.EncryptWithRandom(random, plain)
		if len(random) != randomLen {
			if err == nil {
				t.Fatalf("EncryptWithRandom(random of %d bytes) = nil error", len(random))
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Decrypt(enc)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("Decrypt(EncryptWithRandom(%q)) = %q, %v", plain, got, err)
		}
	})
}
