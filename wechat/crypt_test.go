package wechat

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	_ "wxoa/internal/soak" // accepts -soak (see package soak)
)

// WeChat's official samples (WXBizMsgCrypt in Java, Python and C++, and the
// third-party platform docs). Signatures were re-derived with
// `printf %s <sorted parts> | sha1sum` and plaintexts with openssl.
const (
	sampleKey       = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	sampleToken     = "pamtest"
	sampleTimestamp = "1409304348"
	sampleNonce     = "xxxxxx"
	sampleAppID     = "wxb11529c136998cb6"
	sampleRandom    = "aaaabbbbccccdddd"

	// Java sample, testAesEncrypt: encrypt sampleMsg with sampleRandom.
	sampleMsg    = "我是中文abcd123"
	sampleCipher = "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
	// sha1 of the sorted sampleToken, sampleTimestamp, sampleNonce, sampleCipher.
	sampleMsgSignature = "82c962d39941aa48552f90ef55aa323dc620cc10"
	// sha1("1409304348pamtestxxxxxx"): the plaintext-mode signature.
	sampleSignature = "76480565cbe296026c53aaacd1ad523a1ddba24f"

	// Java sample, testAesEncrypt2.
	sampleMsg2    = `<xml><ToUserName><![CDATA[oia2Tj我是中文jewbmiOUlr6X-1crbLOvLw]]></ToUserName><FromUserName><![CDATA[gh_7f083739789a]]></FromUserName><CreateTime>1407743423</CreateTime><MsgType><![CDATA[video]]></MsgType><Video><MediaId><![CDATA[eYJ1MbwPRJtOvIEabaxHs7TX2D-HV71s79GUxqdUkjm6Gs2Ed1KF3ulAOA9H1xG0]]></MediaId><Title><![CDATA[testCallBackReplyVideo]]></Title><Description><![CDATA[testCallBackReplyVideo]]></Description></Video></xml>`
	sampleCipher2 = "jn1L23DB+6ELqJ+6bruv23M2GmYfkv0xBh2h+XTBOKVKcgDFHle6gqcZ1cZrk3e1qjPQ1F4RsLWzQRG9udbKWesxlkupqcEcW7ZQweImX9+wLMa0GaUzpkycA8+IamDBxn5loLgZpnS7fVAbExOkK5DYHBmv5tptA9tklE/fTIILHR8HLXa5nQvFb3tYPKAlHF3rtTeayNf0QuM+UW/wM9enGIDIJHF7CLHiDNAYxr+r+OrJCmPQyTy8cVWlu9iSvOHPT/77bZqJucQHQ04sq7KZI27OcqpQNSto2OdHCoTccjggX5Z9Mma0nMJBU+jLKJ38YB1fBIz+vBzsYjrTmFQ44YfeEuZ+xRTQwr92vhA9OxchWVINGC50qE/6lmkwWTwGX9wtQpsJKhP+oS7rvTY8+VdzETdfakjkwQ5/Xka042OlUb1/slTwo4RscuQ+RdxSGvDahxAJ6+EAjLt9d8igHngxIbf6YyqqROxuxqIeIch3CssH/LqRs+iAcILvApYZckqmA7FNERspKA5f8GoJ9sv8xmGvZ9Yrf57cExWtnX8aCMMaBropU/1k+hKP5LVdzbWCG0hGwx/dQudYR/eXp3P0XxjlFiy+9DMlaFExWUZQDajPkdPrEeOwofJb"

	// Python sample: a compatible-mode POST and its msg_signature.
	pyToken     = "spamtest"
	pyTimestamp = "1409735669"
	pyNonce     = "1320562132"
	pyAppID     = "wx2c2769f8efd9abc2"
	pyMsgSig    = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
	pyEncrypt   = "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
	pyBody      = `<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName><CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[abcdteT]]></Content><MsgId>6054768590064713728</MsgId><Encrypt><![CDATA[` + pyEncrypt + `]]></Encrypt></xml>`
	pyPlain     = "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n<CreateTime>1409735668</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[abcdteT]]></Content>\n<MsgId>6054768590064713728</MsgId>\n</xml>"

	// Java sample, testVerifyUrl (WeCom): the encrypted echostr of a URL check.
	urlToken     = "QDG6eK"
	urlKey       = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	urlAppID     = "wx5823bf96d3bd56c7"
	urlMsgSig    = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
	urlTimestamp = "1409659589"
	urlNonce     = "263014780"
	urlEchoStr   = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
	urlEchoPlain = "1616140317555161061"
)

func mustCrypter(t testing.TB, key, appID string) *Crypter {
	t.Helper()
	c, err := NewCrypter(key, appID)
	if err != nil {
		t.Fatalf("NewCrypter(%q, %q) = %v", key, appID, err)
	}
	return c
}

func TestDecodeAESKey(t *testing.T) {
	tests := []struct {
		name, key string
		wantErr   bool
	}{
		{"official sample (non-zero trailing bits)", sampleKey, false},
		{"43 A (all-zero key)", strings.Repeat("A", 43), false},
		{"too short", sampleKey[:42], true},
		{"too long", sampleKey + "H", true},
		{"not base64", strings.Repeat("!", 43), true},
		{"newline inside", sampleKey[:20] + "\n" + sampleKey[21:], true},
		{"empty", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := DecodeAESKey(tt.key)
			if tt.wantErr {
				if !errors.Is(err, ErrBadAESKey) {
					t.Errorf("DecodeAESKey(%q) = %x, %v; want ErrBadAESKey", tt.key, key, err)
				}
				return
			}
			if err != nil || len(key) != 32 {
				t.Errorf("DecodeAESKey(%q) = %x, %v; want 32 bytes", tt.key, key, err)
			}
		})
	}
	// The sample key decodes to these bytes (checked with Python's base64).
	key, _ := DecodeAESKey(sampleKey)
	if got, want := hex.EncodeToString(key), "69b71d79f8218a39259a7a29aabb2dbafc31cb3d35db7e39ebbf3d0010831051"; got != want {
		t.Errorf("DecodeAESKey(%q) = %s; want %s", sampleKey, got, want)
	}
}

func TestNewCrypterEmptyAppID(t *testing.T) {
	if c, err := NewCrypter(sampleKey, ""); err == nil {
		t.Errorf("NewCrypter(key, \"\") = %v, nil; want an error", c)
	}
}

func TestEncryptKnownAnswer(t *testing.T) {
	c := mustCrypter(t, sampleKey, sampleAppID)
	for _, tt := range []struct{ name, plain, want string }{
		{"testAesEncrypt", sampleMsg, sampleCipher},
		{"testAesEncrypt2", sampleMsg2, sampleCipher2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.EncryptWithRandom([]byte(sampleRandom), []byte(tt.plain))
			if err != nil || got != tt.want {
				t.Errorf("EncryptWithRandom(%q) = %q, %v; want %q", tt.plain, got, err, tt.want)
			}
			plain, err := c.Decrypt(tt.want)
			if err != nil || string(plain) != tt.plain {
				t.Errorf("Decrypt(%q) = %q, %v; want %q", tt.want, plain, err, tt.plain)
			}
		})
	}
}

func TestDecryptOfficialSamples(t *testing.T) {
	t.Run("python compatible mode", func(t *testing.T) {
		env, err := ParseEnvelope([]byte(pyBody))
		if err != nil {
			t.Fatal(err)
		}
		if !VerifyMsgSignature(pyToken, pyTimestamp, pyNonce, env.Encrypt, pyMsgSig) {
			t.Errorf("VerifyMsgSignature(python sample) = false; want true")
		}
		plain, err := mustCrypter(t, sampleKey, pyAppID).Decrypt(env.Encrypt)
		if err != nil || string(plain) != pyPlain {
			t.Fatalf("Decrypt(python sample) = %q, %v; want %q", plain, err, pyPlain)
		}
		m, err := ParseMessage(plain)
		want := &Text{Header: Header{ToUserName: "gh_10f6c3c3ac5a", FromUserName: "oyORnuP8q7ou2gfYjqLzSIWZf0rs",
			CreateTime: 1409735668, MsgType: MsgText}, Content: "abcdteT", MsgID: 6054768590064713728}
		if err != nil || *m.(*Text) != *want {
			t.Errorf("ParseMessage(decrypted) = %#v, %v; want %#v", m, err, want)
		}
		if _, err := mustCrypter(t, sampleKey, sampleAppID).Decrypt(env.Encrypt); !errors.Is(err, ErrAppIDMismatch) {
			t.Errorf("Decrypt(python sample) with appid %s = %v; want ErrAppIDMismatch", sampleAppID, err)
		}
	})
	t.Run("java verify url", func(t *testing.T) {
		if !VerifyMsgSignature(urlToken, urlTimestamp, urlNonce, urlEchoStr, urlMsgSig) {
			t.Errorf("VerifyMsgSignature(url sample) = false; want true")
		}
		plain, err := mustCrypter(t, urlKey, urlAppID).Decrypt(urlEchoStr)
		if err != nil || string(plain) != urlEchoPlain {
			t.Errorf("Decrypt(%q) = %q, %v; want %q", urlEchoStr, plain, err, urlEchoPlain)
		}
	})
}

func TestEncryptRoundTrip(t *testing.T) {
	c := mustCrypter(t, sampleKey, sampleAppID)
	// Lengths around the 32-byte padding boundary, including a whole block of padding.
	for n := 0; n <= 70; n++ {
		plain := bytes.Repeat([]byte{'a' + byte(n%26)}, n)
		enc, err := c.Encrypt(plain)
		if err != nil {
			t.Fatalf("Encrypt(%d bytes) = %v", n, err)
		}
		got, err := c.Decrypt(enc)
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("Decrypt(Encrypt(%q)) = %q, %v", plain, got, err)
		}
	}
	a, _ := c.Encrypt([]byte("x"))
	b, _ := c.Encrypt([]byte("x"))
	if a == b {
		t.Errorf("Encrypt twice gave the same ciphertext %q; want fresh randomness", a)
	}
	if _, err := c.EncryptWithRandom([]byte("short"), []byte("x")); err == nil {
		t.Errorf("EncryptWithRandom(5-byte random) = nil error; want an error")
	}
}

// sealRaw encrypts a hand-built plaintext block sequence, for bad inputs
// that Encrypt would never produce.
func sealRaw(t *testing.T, plain []byte) string {
	t.Helper()
	key, _ := DecodeAESKey(sampleKey)
	block, _ := aes.NewCipher(key)
	out := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(out, plain)
	return base64.StdEncoding.EncodeToString(out)
}

func frame(msgLen uint32, msg, appID string, pad int, padByte byte) []byte {
	b := []byte(sampleRandom)
	b = binary.BigEndian.AppendUint32(b, msgLen)
	b = append(b, msg...)
	b = append(b, appID...)
	for range pad {
		b = append(b, padByte)
	}
	return b
}

func TestDecryptBadInput(t *testing.T) {
	c := mustCrypter(t, sampleKey, sampleAppID)
	// 16+4+2+18 = 40 bytes; 24 bytes of padding make 64.
	good := frame(2, "hi", sampleAppID, 24, 24)
	if got, err := c.Decrypt(sealRaw(t, good)); err != nil || string(got) != "hi" {
		t.Fatalf("Decrypt(hand-built good frame) = %q, %v; want \"hi\"", got, err)
	}
	// 16+4+26+18 = 64 bytes: the padding is a whole 32-byte block of 32s.
	msg26 := strings.Repeat("z", 26)
	if got, err := c.Decrypt(sealRaw(t, frame(26, msg26, sampleAppID, 32, 32))); err != nil || string(got) != msg26 {
		t.Fatalf("Decrypt(frame with a whole padding block) = %q, %v; want %q", got, err, msg26)
	}
	tests := []struct {
		name, in string
		want     error
	}{
		{"not base64", "!!!not-base64!!!", ErrBadBase64},
		{"truncated base64", sampleCipher[:len(sampleCipher)-3], ErrBadBase64},
		{"empty", "", ErrBadLength},
		{"not a multiple of 16", base64.StdEncoding.EncodeToString(make([]byte, 20)), ErrBadLength},
		{"one block", base64.StdEncoding.EncodeToString(make([]byte, 16)), ErrBadPadding},
		{"pad 0", sealRaw(t, frame(2, "hi", sampleAppID, 24, 0)), ErrBadPadding},
		{"pad 33", sealRaw(t, append(frame(2, "hi", sampleAppID, 23, 24), 33)), ErrBadPadding},
		{"inconsistent pad bytes", sealRaw(t, append(frame(2, "hi", sampleAppID, 23, 7), 24)), ErrBadPadding},
		{"pad longer than data", sealRaw(t, bytes.Repeat([]byte{32}, 16)), ErrBadPadding},
		{"shorter than header", sealRaw(t, append(bytes.Repeat([]byte{'r'}, 16), bytes.Repeat([]byte{16}, 16)...)), ErrBadLength},
		{"length field overflow", sealRaw(t, frame(0xFFFFFFFF, "hi", sampleAppID, 24, 24)), ErrBadLength},
		{"length field one too many", sealRaw(t, frame(2+18+1, "hi", sampleAppID, 24, 24)), ErrBadLength},
		{"foreign appid", sealRaw(t, frame(2, "hi", "wx0000000000000000", 24, 24)), ErrAppIDMismatch},
		{"truncated appid", sealRaw(t, frame(3, "hi", sampleAppID, 24, 24)), ErrAppIDMismatch},
		{"wrong key", mustEncrypt(t, mustCrypter(t, strings.Repeat("A", 43), sampleAppID), "hi"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Decrypt(tt.in)
			if tt.want == nil {
				// A wrong key yields garbage: any sentinel, never success.
				if err == nil || !isDecryptSentinel(err) {
					t.Errorf("Decrypt(%q) = %q, %v; want a decryption error", tt.in, got, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("Decrypt(%q) = %q, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func mustEncrypt(t *testing.T, c *Crypter, s string) string {
	t.Helper()
	enc, err := c.Encrypt([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

func isDecryptSentinel(err error) bool {
	for _, s := range []error{ErrBadBase64, ErrBadPadding, ErrBadLength, ErrAppIDMismatch} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func BenchmarkDecrypt(b *testing.B) {
	c := mustCrypter(b, sampleKey, sampleAppID)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Decrypt(sampleCipher2); err != nil {
			b.Fatal(err)
		}
	}
}
