package rules

import (
	"testing"

	"wxoa/wechat"
)

// Every key a rule may give a reply or an article is a field of the neutral
// form, and every type is one wechat.ReplyData.Reply knows: build fills
// replies by key and cannot meet one it has no field for.
func TestReplySpecsMatchReplyData(t *testing.T) {
	for typ, spec := range replySpecs {
		if _, err := (wechat.ReplyData{Type: typ}).Reply(); err != nil {
			t.Errorf("type %q: ReplyData.Reply() = %v; want a known type", typ, err)
		}
		for _, f := range spec {
			var d wechat.ReplyData
			if f.key != "articles" && d.Field(f.key) == nil {
				t.Errorf("type %q: key %q is not a wechat.ReplyData field", typ, f.key)
			}
		}
	}
	for _, f := range articleFields {
		var a wechat.ArticleData
		if a.Field(f.key) == nil {
			t.Errorf("article key %q is not a wechat.ArticleData field", f.key)
		}
	}
}
