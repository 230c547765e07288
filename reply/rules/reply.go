package rules

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"wxoa/wechat"
)

// MaxArticles is WeChat's limit on articles in a news reply to an event.
// A reply to a user message may carry one article only (WeChat's rule since
// October 2018).
// https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Passive_user_reply_message.html
const MaxArticles = 8

// field is one templated field of a reply type, named by its key in
// wechat.ReplyData.
type field struct {
	key      string
	required bool
	url      bool // a constant value must be an absolute http(s) URL
}

// replySpecs lists the fields each reply type takes in a rules file, for
// validation; wechat.ReplyData.Reply builds the reply.
var replySpecs = map[string][]field{
	"success": nil,
	"text":    {{key: "content", required: true}},
	"image":   {{key: "media_id", required: true}},
	"voice":   {{key: "media_id", required: true}},
	"video":   {{key: "media_id", required: true}, {key: "title"}, {key: "description"}},
	"music": {{key: "title"}, {key: "description"}, {key: "music_url", url: true},
		{key: "hq_music_url", url: true}, {key: "thumb_media_id", required: true}},
	"news":                      {{key: "articles", required: true}},
	"transfer_customer_service": {{key: "kf_account"}},
	// Customer-service messages only (a Mini Program's answers): see
	// Engine.CheckReplies.
	"link": {{key: "title", required: true}, {key: "description"}, {key: "url", required: true, url: true},
		{key: "thumb_url", url: true}},
	"miniprogrampage": {{key: "title", required: true}, {key: "pagepath", required: true},
		{key: "thumb_media_id", required: true}, {key: "appid"}},
}

var replyTypes = []string{"text", "image", "voice", "video", "music", "news", "transfer_customer_service",
	"link", "miniprogrampage", "success"}

var articleFields = []field{{key: "title", required: true}, {key: "description"}, {key: "pic_url", url: true}, {key: "url", required: true, url: true}}

// replyKeys is every key any reply type takes; which of them a given type
// takes is checked after type: is known, for a precise message.
var replyKeys = func() []string {
	keys := []string{"type"}
	for _, t := range replyTypes {
		for _, f := range replySpecs[t] {
			if !slices.Contains(keys, f.key) {
				keys = append(keys, f.key)
			}
		}
	}
	return keys
}()

// reply is a parsed reply: its type and its fields in replySpecs order
// (absent ones render as "").
type reply struct {
	typ      string // a key of replySpecs
	line     int    // of its type, for Engine.CheckReplies
	spec     []field
	fields   []text
	articles [][]text // news: title, description, pic_url, url
}

func (p *parser) reply(en *entry, forMessage bool) *reply {
	if en.v.Kind == yaml.ScalarNode && strings.TrimSpace(en.v.Value) == "success" {
		return &reply{typ: "success", line: en.v.Line}
	}
	if en.v.Kind == yaml.ScalarNode {
		p.errorf(en.v, "reply: want success or a mapping like {type: text, content: \"...\"}, got %s", kindName(en.v))
		return nil
	}
	es, ok := p.mapping(en.v, "reply", replyKeys)
	if !ok {
		return nil
	}
	t := lookup(es, "type")
	if t == nil {
		p.errorf(en.v, "reply: type: is missing (want one of %s)", strings.Join(replyTypes, ", "))
		return nil
	}
	name, ok := p.nonEmpty(t)
	if !ok {
		return nil
	}
	typ := strings.TrimSpace(name)
	spec, ok := replySpecs[typ]
	if !ok {
		p.errorf(t.v, "reply: unknown type %q (want one of %s)", name, strings.Join(replyTypes, ", "))
		return nil
	}
	r := &reply{typ: typ, spec: spec, line: t.v.Line}
	for _, e := range es {
		if e.key != "type" && !slices.ContainsFunc(spec, func(f field) bool { return f.key == e.key }) {
			p.errorf(e.k, "reply: type %s takes %s, not %s", name, fieldList(spec), e.key)
		}
	}
	if typ == "news" {
		r.articles = p.articles(en.v, lookup(es, "articles"), forMessage)
		return r
	}
	r.fields = p.fields(en.v, es, spec, "reply: ")
	return r
}

// fields compiles the templated fields of one reply or article.
func (p *parser) fields(at *yaml.Node, es []entry, spec []field, what string) []text {
	out := make([]text, len(spec))
	for i, f := range spec {
		e := lookup(es, f.key)
		if e == nil {
			if f.required {
				p.errorf(at, "%s%s: is missing", what, f.key)
			}
			continue
		}
		s, ok := p.scalar(e)
		if !ok {
			continue
		}
		if f.required && strings.TrimSpace(s) == "" {
			p.errorf(e.v, "%s%s: is empty", what, f.key)
			continue
		}
		t, err := compileText(f.key, s)
		if err != nil {
			p.errorf(e.v, "%s%v", what, err)
			continue
		}
		if f.url && t.isConst() && t.raw != "" {
			if err := checkURL(t.raw); err != nil {
				p.errorf(e.v, "%s%s: %v", what, f.key, err)
			}
		}
		out[i] = t
	}
	return out
}

func (p *parser) articles(at *yaml.Node, e *entry, forMessage bool) [][]text {
	if e == nil {
		p.errorf(at, "reply: a news reply needs articles: (a list of 1 to %d)", MaxArticles)
		return nil
	}
	if e.v.Kind != yaml.SequenceNode {
		p.errorf(e.v, "reply: articles: want a list, got %s", kindName(e.v))
		return nil
	}
	n := len(e.v.Content)
	switch {
	case n == 0:
		p.errorf(e.v, "reply: articles: empty list; a news reply needs 1 to %d", MaxArticles)
	case n > MaxArticles:
		p.errorf(e.v, "reply: articles: %d articles; WeChat allows at most %d", n, MaxArticles)
	case n > 1 && forMessage:
		p.errorf(e.v, "reply: articles: %d articles; a reply to a user message may carry only 1 (WeChat allows up to %d for events such as CLICK)", n, MaxArticles)
	}
	out := make([][]text, 0, n)
	for _, c := range e.v.Content {
		es, ok := p.mapping(c, "article", keysOf(articleFields))
		if !ok {
			continue
		}
		out = append(out, p.fields(deref(c), es, articleFields, "article: "))
	}
	return out
}

func keysOf(fs []field) []string {
	keys := make([]string, len(fs))
	for i, f := range fs {
		keys[i] = f.key
	}
	return keys
}

func fieldList(fs []field) string {
	if len(fs) == 0 {
		return "no fields"
	}
	return strings.Join(keysOf(fs), ", ")
}

// build renders the reply for one message. nil means "success".
func (r *reply) build(d *Data) (wechat.Reply, error) {
	out := wechat.ReplyData{Type: r.typ}
	for i := range r.fields {
		v, err := r.fields[i].render(d)
		if err != nil {
			return nil, err
		}
		if v == "" && r.spec[i].required {
			return nil, fmt.Errorf("%s rendered empty", r.spec[i].key)
		}
		*out.Field(r.spec[i].key) = v
	}
	if r.articles != nil {
		out.Articles = make([]wechat.ArticleData, len(r.articles))
	}
	for i, a := range r.articles {
		for j := range a {
			v, err := a[j].render(d)
			if err != nil {
				return nil, err
			}
			if v == "" && articleFields[j].required {
				return nil, fmt.Errorf("article %d: %s rendered empty", i+1, articleFields[j].key)
			}
			*out.Articles[i].Field(articleFields[j].key) = v
		}
	}
	return out.Reply()
}
