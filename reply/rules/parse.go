package rules

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

var (
	topKeys     = []string{"rules", "default"}
	matcherKeys = []string{"keyword", "prefix", "regex", "msg_type", "event"}
	actionKeys  = []string{"reply", "forward"}
	ruleKeys    = append(append([]string{"name", "key", "key_prefix", "scene"}, matcherKeys...), actionKeys...)
	forwardKeys = []string{"url", "timeout"}
)

const (
	// MaxForwardTimeout bounds forward timeouts. A forward without timeout:
	// gets FORWARD_TIMEOUT from the caller.
	MaxForwardTimeout = 30 * time.Second
)

// Parse reads a rules file. filename only labels errors. Every problem found
// is reported as "filename:line: what is wrong", joined with errors.Join;
// each is an *Error.
func Parse(filename string, data []byte) (*Engine, error) {
	p := &parser{file: filename}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		p.syntaxError(err)
		return nil, p.err()
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		p.errs = append(p.errs, &Error{File: filename, Line: 1, Msg: "file is empty; want a rules: list and/or a default:"})
		return nil, p.err()
	}
	top, ok := p.mapping(doc.Content[0], "top level", topKeys)
	if !ok {
		return nil, p.err()
	}
	e := &Engine{file: filename}
	if en := lookup(top, "rules"); en != nil {
		e.rules = p.rules(en.v)
	}
	if en := lookup(top, "default"); en != nil {
		e.def = p.defaultRule(en)
	}
	if len(top) == 0 {
		p.errorf(doc.Content[0], "no rules: and no default:; nothing would ever be answered")
	}
	if len(p.errs) > 0 {
		return nil, p.err()
	}
	return e, nil
}

func (p *parser) rules(n *yaml.Node) []rule {
	if n.Kind != yaml.SequenceNode {
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
			return nil // "rules:" with nothing under it: only the default answers
		}
		p.errorf(n, "rules: want a list of rules (lines starting with -), got %s", kindName(n))
		return nil
	}
	out := make([]rule, 0, len(n.Content))
	names := map[string]int{}
	for _, c := range n.Content {
		r, ok := p.rule(deref(c))
		if !ok {
			continue
		}
		if first, dup := names[r.name]; dup {
			p.errorf(c, "rule name %q used twice (first on line %d)", r.name, first)
		}
		names[r.name] = r.line
		out = append(out, r)
	}
	return out
}

func (p *parser) rule(n *yaml.Node) (rule, bool) {
	es, ok := p.mapping(n, "rule", ruleKeys)
	if !ok {
		return rule{}, false
	}
	r := rule{line: n.Line, name: fmt.Sprintf("line %d", n.Line)}
	if en := lookup(es, "name"); en != nil {
		if s, ok := p.nonEmpty(en); ok {
			r.name = strings.TrimSpace(s)
		}
	}
	var matcher, action *entry
	for i := range es {
		en := &es[i]
		switch {
		case slices.Contains(matcherKeys, en.key) && matcher != nil:
			p.errorf(en.k, "rule has two matchers, %s (line %d) and %s; split it into two rules", matcher.key, matcher.k.Line, en.key)
		case slices.Contains(matcherKeys, en.key):
			matcher = en
		case slices.Contains(actionKeys, en.key) && action != nil:
			p.errorf(en.k, "rule has two actions, %s (line %d) and %s; keep one", action.key, action.k.Line, en.key)
		case slices.Contains(actionKeys, en.key):
			action = en
		}
	}
	good := matcher != nil
	if !good {
		p.errorf(n, "rule %q has no matcher (want one of %s)", r.name, strings.Join(matcherKeys, ", "))
	} else {
		good = p.matcher(&r, matcher, es)
	}
	if action == nil {
		p.errorf(n, "rule %q has no reply (want reply: or forward:)", r.name)
		return r, false
	}
	r.act = p.action(action, r.kind != matchEvent)
	if r.kind == matchEvent && noReplyEvents[r.event] && r.act.reply != nil && r.act.reply.typ != "success" {
		p.errorf(action.v, "WeChat shows no reply to %s; use reply: success or forward:", r.event)
	}
	return r, good
}

// matcher fills r from the matcher entry m and its modifiers in es.
func (p *parser) matcher(r *rule, m *entry, es []entry) bool {
	n := len(p.errs)
	if m.key != "event" {
		for _, mod := range []string{"key", "key_prefix", "scene"} {
			if en := lookup(es, mod); en != nil {
				p.errorf(en.k, "%s: only goes with event: (this rule matches by %s)", mod, m.key)
			}
		}
	}
	switch m.key {
	case "keyword":
		r.kind = matchKeyword
		for _, s := range p.stringList(m) {
			r.keywords = append(r.keywords, strings.TrimSpace(s))
		}
	case "prefix":
		r.kind = matchPrefix
		if s, ok := p.nonEmpty(m); ok {
			r.prefix = strings.TrimLeft(s, " \t\r\n")
		}
	case "regex":
		r.kind = matchRegex
		if s, ok := p.nonEmpty(m); ok {
			re, err := regexp.Compile(s)
			if err != nil {
				p.errorf(m.v, "regex: bad regular expression: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
			}
			r.re = re
		}
	case "msg_type":
		r.kind = matchMsgType
		if s, ok := p.nonEmpty(m); ok {
			r.msgType = strings.ToLower(strings.TrimSpace(s))
			if r.msgType == "event" {
				p.errorf(m.v, "msg_type: event is not a message type; use event: subscribe, event: CLICK, ...")
			} else if !slices.Contains(msgTypes, r.msgType) {
				p.errorf(m.v, "msg_type: unknown message type %q (want one of %s)", s, strings.Join(msgTypes, ", "))
			}
		}
	case "event":
		r.kind = matchEvent
		p.event(r, m, es)
	}
	return len(p.errs) == n
}

func (p *parser) event(r *rule, m *entry, es []entry) {
	s, ok := p.nonEmpty(m)
	if !ok {
		return
	}
	ev, ok := canonicalEvent(s)
	if !ok {
		p.errorf(m.v, "event: unknown event %q (want one of %s)", s, strings.Join(eventNames, ", "))
		return
	}
	r.event = ev
	key, keyPrefix, scene := lookup(es, "key"), lookup(es, "key_prefix"), lookup(es, "scene")
	if key != nil && keyPrefix != nil {
		p.errorf(keyPrefix.k, "key_prefix: a rule has key: (line %d) or key_prefix:, not both", key.k.Line)
	}
	for _, en := range []*entry{key, keyPrefix} {
		if en == nil {
			continue
		}
		if !keyEvents[ev] {
			hint := ""
			if sceneEvents[ev] {
				hint = "; for QR-code scenes use scene:"
			}
			p.errorf(en.k, "%s: %s events carry no menu key%s", en.key, ev, hint)
			continue
		}
		if v, ok := p.nonEmpty(en); ok {
			r.key, r.keyPrefix = v, en.key == "key_prefix"
		}
	}
	if scene != nil {
		if !sceneEvents[ev] {
			p.errorf(scene.k, "scene: only goes with event: subscribe or event: SCAN, not %s", ev)
		} else if v, ok := p.nonEmpty(scene); ok {
			r.scene = strings.TrimSpace(v)
		}
	}
}

func (p *parser) defaultRule(en *entry) *rule {
	r := &rule{name: "default", line: en.k.Line}
	if en.v.Kind == yaml.ScalarNode && strings.TrimSpace(en.v.Value) == "success" {
		return r
	}
	es, ok := p.mapping(en.v, "default", actionKeys)
	if !ok {
		return nil
	}
	switch len(es) {
	case 0:
		p.errorf(en.v, "default: want reply: or forward:")
	case 1:
		r.act = p.action(&es[0], true)
	default:
		p.errorf(es[1].k, "default has two actions, %s (line %d) and %s; keep one", es[0].key, es[0].k.Line, es[1].key)
	}
	return r
}

// action parses reply: or forward:. forMessage is true when the action
// answers user messages, where WeChat allows one news article only.
func (p *parser) action(en *entry, forMessage bool) action {
	if en.key == "forward" {
		return action{forward: p.forward(en)}
	}
	return action{reply: p.reply(en, forMessage)}
}

func (p *parser) forward(en *entry) *Forward {
	es, ok := p.mapping(en.v, "forward", forwardKeys)
	if !ok {
		return nil
	}
	f := &Forward{} // zero timeout: FORWARD_TIMEOUT
	// Without url: the endpoint is FORWARD_URL, checked at start-up.
	if u := lookup(es, "url"); u != nil {
		if s, ok := p.nonEmpty(u); ok {
			if err := checkURL(s); err != nil {
				p.errorf(u.v, "forward: url: %v", err)
			}
			f.URL = strings.TrimSpace(s)
		}
	}
	if t := lookup(es, "timeout"); t != nil {
		if s, ok := p.nonEmpty(t); ok {
			d, err := time.ParseDuration(strings.TrimSpace(s))
			switch {
			case err != nil:
				p.errorf(t.v, "forward: timeout: %q is not a duration (want e.g. 3s or 1500ms)", s)
			case d <= 0 || d > MaxForwardTimeout:
				p.errorf(t.v, "forward: timeout: %v is out of range (want more than 0, at most %v)", d, MaxForwardTimeout)
			default:
				f.Timeout = d
			}
		}
	}
	return f
}

// checkURL accepts absolute http and https URLs only.
func checkURL(s string) error {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not a URL", s)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http:// or https:// URL", s)
	}
	return nil
}
