package rules

import (
	"strings"
	"testing"
	"time"

	"wxoa/wechat"
)

func TestForwardsWithoutURL(t *testing.T) {
	src := "rules:\n  - name: own\n    keyword: a\n    forward: {url: \"http://127.0.0.1:9/x\"}\n" +
		"  - name: shared\n    keyword: b\n    forward: {timeout: 2s}\ndefault:\n  forward: {}\n"
	e, err := Parse("f.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(e.ForwardsWithoutURL(), ",")
	if got != "shared,default" {
		t.Errorf("ForwardsWithoutURL() = %q; want %q", got, "shared,default")
	}
	res, err := e.Match(&wechat.Text{Header: wechat.Header{MsgType: wechat.MsgText}, Content: "b"})
	if err != nil || res.Forward == nil || res.Forward.URL != "" || res.Forward.Timeout != 2*time.Second {
		t.Errorf("Match(b) = %+v, %v; want a forward with no URL and 2s", res.Forward, err)
	}
}
