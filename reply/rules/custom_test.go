package rules

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"wxoa/wechat"
)

// Replies that only a customer-service message carries (a Mini Program's
// answers), and the check that keeps them out of other accounts' rules.

const customRules = `rules:
  - name: card
    keyword: card
    reply:
      type: miniprogrampage
      title: "Hi {{.FromUserName}}"
      pagepath: "pages/index/index?from={{.FromUserName}}"
      thumb_media_id: thumb1
  - name: card-appid
    keyword: other
    reply: {type: miniprogrampage, title: t, pagepath: p, thumb_media_id: m, appid: wx0123456789abcdef}
  - name: link
    prefix: "go "
    reply:
      type: link
      title: "{{.Rest}}"
      description: "for {{.FromUserName}}"
      url: "https://a.example/s?q={{.Rest}}"
      thumb_url: https://a.example/t.jpg
  - name: music
    keyword: song
    reply: {type: music, thumb_media_id: th}
default:
  reply: {type: text, content: "{{.Content}}"}
`

func TestCustomReplyTypes(t *testing.T) {
	e := mustParse(t, customRules)
	tests := []struct {
		msg  wechat.Message
		want wechat.Reply
	}{
		{textMsg("card"), &wechat.MiniProgramPageReply{Title: "Hi o_user", PagePath: "pages/index/index?from=o_user", ThumbMediaID: "thumb1"}},
		{textMsg("other"), &wechat.MiniProgramPageReply{Title: "t", AppID: "wx0123456789abcdef", PagePath: "p", ThumbMediaID: "m"}},
		{textMsg("go 北京"), &wechat.LinkReply{Title: "北京", Description: "for o_user", URL: "https://a.example/s?q=北京", ThumbURL: "https://a.example/t.jpg"}},
	}
	for _, tt := range tests {
		r, err := e.Match(tt.msg)
		if err != nil || !reflect.DeepEqual(r.Reply, tt.want) {
			t.Errorf("Match(%+v) = %#v, %v; want %#v", tt.msg, r.Reply, err, tt.want)
			continue
		}
		if _, err := wechat.CustomMessage("o_user", r.Reply); err != nil {
			t.Errorf("CustomMessage(Match(%+v)) = %v; want the API's JSON", tt.msg, err)
		}
	}
	// A required field that renders empty is the message's problem, not
	// the file's: the rule fails on that message only.
	e = mustParse(t, "rules:\n  - prefix: go\n    reply: {type: link, title: x, url: '{{.Rest}}'}\n")
	if r, err := e.Match(textMsg("go")); err == nil || !strings.Contains(err.Error(), "url rendered empty") {
		t.Errorf("Match(empty url) = %+v, %v; want url rendered empty", r, err)
	}
}

func TestCustomReplyTypeErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		line int
		want string
	}{
		{"link without url", rule1 + "  - keyword: a\n    reply: {type: link, title: t}\n", 5, "reply: url: is missing"},
		{"link without title", rule1 + "  - keyword: a\n    reply: {type: link, url: 'https://a.example/'}\n", 5, "reply: title: is missing"},
		{"link with a relative url", rule1 + "  - keyword: a\n    reply: {type: link, title: t, url: /x}\n", 5, `url: "/x" is not an absolute`},
		{"link with a bad thumb_url", rule1 + "  - keyword: a\n    reply: {type: link, title: t, url: 'https://a.example/', thumb_url: t.jpg}\n", 5, "thumb_url:"},
		{"link with content", rule1 + "  - keyword: a\n    reply:\n      type: link\n      content: x\n      title: t\n      url: https://a.example/\n", 7,
			"reply: type link takes title, description, url, thumb_url, not content"},
		{"card without thumb_media_id", rule1 + "  - keyword: a\n    reply: {type: miniprogrampage, title: t, pagepath: p}\n", 5, "reply: thumb_media_id: is missing"},
		{"card with an empty pagepath", rule1 + "  - keyword: a\n    reply: {type: miniprogrampage, title: t, pagepath: ' ', thumb_media_id: m}\n", 5, "reply: pagepath: is empty"},
		{"card with a bad template", rule1 + "  - keyword: a\n    reply: {type: miniprogrampage, title: '{{.Nope}}', pagepath: p, thumb_media_id: m}\n", 5, "unknown template field .Nope"},
		{"text with a url", rule1 + "  - keyword: a\n    reply: {type: text, content: c, url: 'https://a.example/'}\n", 5, "reply: type text takes content, not url"},
		{"link to unsubscribe", rule1 + "  - event: unsubscribe\n    reply: {type: link, title: t, url: 'https://a.example/'}\n", 5, "WeChat shows no reply to unsubscribe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("test.yaml", []byte(tt.src))
			var pe *Error
			if !errors.As(err, &pe) || pe.Line != tt.line || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%q) = %v; want test.yaml:%d: ...%s...", tt.src, err, tt.line, tt.want)
			}
		})
	}
}

func TestCheckReplies(t *testing.T) {
	e := mustParse(t, customRules)
	channel := func(ch wechat.Channel) func(string) error {
		return func(typ string) error { return wechat.CheckReplyType(ch, typ) }
	}
	tests := []struct {
		name   string
		accept func(string) error
		want   []string // each problem, in order
	}{
		{"Mini Program", channel(wechat.MiniProgramCustomMessage), []string{"custom.yaml:22: reply: type music cannot be sent by this account: a Mini Program's customer-service message carries text, image, link, miniprogrampage, not music"}},
		{"Official Account", channel(wechat.PassiveReply), []string{
			"custom.yaml:5: reply: type miniprogrampage", "custom.yaml:11: reply: type miniprogrampage", "custom.yaml:15: reply: type link"}},
		{"WeCom", channel(wechat.WeComPassiveReply), []string{
			"custom.yaml:5: reply: type miniprogrampage", "custom.yaml:11: reply: type miniprogrampage",
			"custom.yaml:15: reply: type link", "custom.yaml:22: reply: type music"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Parse("custom.yaml", []byte(customRules))
			if err != nil {
				t.Fatal(err)
			}
			err = e.CheckReplies(tt.accept)
			var lines []string
			if err != nil {
				lines = strings.Split(err.Error(), "\n")
			}
			if len(lines) != len(tt.want) {
				t.Fatalf("CheckReplies = %v; want %d problems: %q", err, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("CheckReplies problem %d = %q; want %q...", i, lines[i], w)
				}
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.File != "custom.yaml" {
				t.Errorf("CheckReplies = %v; want *Error values", err)
			}
		})
	}
	if err := e.CheckReplies(func(string) error { return nil }); err != nil {
		t.Errorf("CheckReplies(accept all) = %v; want nil", err)
	}
	// The default is checked too, and success never is.
	d := mustParse(t, "rules:\n  - keyword: a\n    reply: success\ndefault:\n  reply: {type: link, title: t, url: 'https://a.example/'}\n")
	if err := d.CheckReplies(channel(wechat.PassiveReply)); err == nil || !strings.HasPrefix(err.Error(), "test.yaml:5: reply: type link") {
		t.Errorf("CheckReplies(default link) = %v; want test.yaml:5", err)
	}
}

func TestAgentIDInTemplates(t *testing.T) {
	e := mustParse(t, "default:\n  reply: {type: text, content: '{{.AgentID}}/{{.Msg.AgentID}}'}\n")
	m := textMsg("hi")
	m.AgentID = "1000002"
	r, err := e.Match(m)
	if err != nil || describe(r) != "default text 1000002/1000002" {
		t.Errorf("Match(WeCom text) = %q, %v; want the agent id twice", describe(r), err)
	}
}
