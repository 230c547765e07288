package handlers

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzPostPlain: no body yields a 5xx or a panic on the plaintext path.
func FuzzPostPlain(f *testing.F) {
	files, _ := filepath.Glob("../wechat/testdata/messages/*.xml")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("<xml><MsgType>text</MsgType></xml>"))
	f.Add([]byte("<xml><![CDATA[</xml>"))
	h := newTestRouter(f, routerOpts{})
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := postPlain(h, body)
		if rec.Code >= 500 {
			t.Fatalf("POST %q = %d %q", body, rec.Code, rec.Body)
		}
	})
}

// FuzzPostEncrypted reaches the decrypt path: the msg_signature is valid
// for whatever Encrypt value the fuzzer makes up.
func FuzzPostEncrypted(f *testing.F) {
	f.Add("")
	f.Add("AAAA")
	f.Add("jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==")
	f.Add("////////////////////////////////////////////////////////////////////////////////////////////")
	h := newTestRouter(f, routerOpts{crypter: true})
	f.Fuzz(func(t *testing.T, enc string) {
		rec := postEnvelope(h, enc, "")
		if rec.Code >= 500 {
			t.Fatalf("POST Encrypt=%q = %d %q", enc, rec.Code, rec.Body)
		}
	})
}
