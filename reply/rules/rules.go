// Package rules decides how the account answers a pushed message, from a
// YAML file an admin edits (templates/rules.yaml is the shipped default and
// documents the format). It owns the rules file's format and its checks,
// matching a message against the rules, and filling a reply's templates;
// package reply runs it, forwards and renders. It is pure logic: no HTTP,
// no I/O after Load.
//
// Rules are tried in file order and the first match answers. A user message
// that matches nothing gets the default; an event that matches nothing gets
// "success" (an empty answer), since WeChat pushes some events, like LOCATION,
// every few seconds.
package rules

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"syscall"
	"time"

	"wxoa/templates"
	"wxoa/wechat"
)

// Engine answers messages by the rules of one file. It is immutable and safe
// for concurrent use.
type Engine struct {
	file  string // as given to Parse, for CheckReplies
	rules []rule
	def   *rule // nil: unmatched user messages get "success"
}

// Result is what to answer. Reply nil and Forward nil mean "success".
type Result struct {
	Rule    string       // the rule that matched: its name:, "line N", "default", or "" for none
	Reply   wechat.Reply // the reply to send; nil with Forward set, or for "success"
	Forward *Forward     // the caller forwards the message and answers with the result
}

// Forward asks the caller to POST the message as JSON to URL and answer with
// what comes back, giving up after Timeout.
type Forward struct {
	Name    string // the rule's name, for logs
	URL     string // absolute http or https URL; "" means FORWARD_URL
	Timeout time.Duration
}

// Load parses the rules file at path; "" loads the shipped default.
func Load(path string) (*Engine, error) {
	name, data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(name, data)
}

// MaxFileBytes bounds a rules file: thousands of rules fit in far less.
const MaxFileBytes = 4 << 20

// ReadFile returns the rules file at path ("": the shipped default) and
// the name Parse's errors give it. It reads a regular file only, at most
// MaxFileBytes, and never blocks opening one (a FIFO, /dev/zero or a
// runaway file in its place is an error, not a hang or a full memory).
func ReadFile(path string) (name string, data []byte, err error) {
	if path == "" {
		data, err = templates.FS.ReadFile(templates.RulesFile)
		if err != nil {
			return "", nil, fmt.Errorf("load shipped rules: %w", err)
		}
		return "templates/" + templates.RulesFile, data, nil
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return "", nil, fmt.Errorf("load rules: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return "", nil, fmt.Errorf("load rules: %w", err)
	} else if !st.Mode().IsRegular() {
		return "", nil, fmt.Errorf("load rules: %s is not a regular file", path)
	}
	data, err = io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return "", nil, fmt.Errorf("load rules: %w", err)
	}
	if len(data) > MaxFileBytes {
		return "", nil, fmt.Errorf("load rules: %s is larger than %d bytes", path, MaxFileBytes)
	}
	return path, data, nil
}

// Len returns the number of rules, not counting the default.
func (e *Engine) Len() int { return len(e.rules) }

// ForwardsWithoutURL names the rules (and "default") that forward without
// a url: of their own, so start-up can insist that FORWARD_URL is set.
func (e *Engine) ForwardsWithoutURL() []string {
	var names []string
	for _, r := range e.rules {
		if r.act.forward != nil && r.act.forward.URL == "" {
			names = append(names, r.name)
		}
	}
	if e.def != nil && e.def.act.forward != nil && e.def.act.forward.URL == "" {
		names = append(names, "default")
	}
	return names
}

// CheckReplies reports every reply of the rules and the default whose type
// accept refuses, as "file:line: ..." errors joined with errors.Join, each
// an *Error. Which types a reply may have depends on the account, which a
// rules file does not know: start-up passes, for instance,
//
//	func(t string) error { return wechat.CheckReplyType(wechat.MiniProgramCustomMessage, t) }
//
// so that an Official Account's rules cannot answer with a link card, nor a
// Mini Program's with music. A forward's answers are not known before they
// come.
func (e *Engine) CheckReplies(accept func(typ string) error) error {
	var errs []error
	check := func(r *rule) {
		if r == nil || r.act.reply == nil {
			return
		}
		if err := accept(r.act.reply.typ); err != nil {
			why := strings.TrimPrefix(err.Error(), wechat.ErrInvalidReply.Error()+": ")
			errs = append(errs, &Error{File: e.file, Line: r.act.reply.line,
				Msg: fmt.Sprintf("reply: type %s cannot be sent by this account: %s", r.act.reply.typ, why)})
		}
	}
	for i := range e.rules {
		check(&e.rules[i])
	}
	check(e.def)
	return errors.Join(errs...)
}

// Match finds the rule for msg and renders its reply. An error means a
// template failed on this message; the caller should log it and answer
// "success".
func (e *Engine) Match(msg wechat.Message) (Result, error) {
	if msg == nil || msg.Head() == nil {
		return Result{}, errors.New("rules: nil message")
	}
	var d Data
	dataOf(msg, &d)
	for i := range e.rules {
		if r := &e.rules[i]; r.match(&d) {
			return r.result(&d)
		}
	}
	if e.def != nil && !d.isEvent() {
		return e.def.result(&d)
	}
	return Result{}, nil
}

type matchKind uint8

const (
	matchKeyword matchKind = iota + 1
	matchPrefix
	matchRegex
	matchMsgType
	matchEvent
)

// rule is one parsed rule: one matcher and one action.
type rule struct {
	name string
	line int
	kind matchKind

	keywords  []string // matchKeyword
	prefix    string   // matchPrefix
	re        *regexp.Regexp
	msgType   string // matchMsgType
	event     string // matchEvent, spelled as WeChat sends it
	key       string // matchEvent: EventKey, or its prefix when keyPrefix
	keyPrefix bool
	scene     string // matchEvent: subscribe/SCAN scene; "*" any scene

	act action
}

// action is a reply, a forward, or neither ("success").
type action struct {
	reply   *reply
	forward *Forward
}

// match reports whether r applies to d, filling d.Rest or d.Match.
func (r *rule) match(d *Data) bool {
	switch r.kind {
	case matchKeyword, matchPrefix, matchRegex:
		if d.isEvent() {
			return false
		}
		return r.matchWords(d)
	case matchMsgType:
		return d.MsgType == r.msgType
	case matchEvent:
		if !d.isEvent() || !strings.EqualFold(d.Event, r.event) {
			return false
		}
		switch {
		case r.scene == "*":
			return d.Scene != ""
		case r.scene != "":
			return d.Scene == r.scene
		case r.keyPrefix:
			return strings.HasPrefix(d.EventKey, r.key)
		case r.key != "":
			return d.EventKey == r.key
		}
		return true
	}
	return false
}

func (r *rule) matchWords(d *Data) bool {
	w := d.text()
	if w == "" {
		return false
	}
	switch r.kind {
	case matchKeyword:
		for _, k := range r.keywords {
			if strings.EqualFold(w, k) {
				return true
			}
		}
	case matchPrefix:
		// Phones capitalise the first letter, so "Echo hi" must match "echo ".
		if len(w) >= len(r.prefix) && strings.EqualFold(w[:len(r.prefix)], r.prefix) {
			d.Rest = strings.TrimSpace(w[len(r.prefix):])
			return true
		}
	case matchRegex:
		if m := r.re.FindStringSubmatch(w); m != nil {
			d.Match = m
			return true
		}
	}
	return false
}

func (r *rule) result(d *Data) (Result, error) {
	res := Result{Rule: r.name}
	switch {
	case r.act.forward != nil:
		f := *r.act.forward
		f.Name = r.name
		res.Forward = &f
	case r.act.reply != nil:
		rep, err := r.act.reply.build(d)
		if err != nil {
			return Result{Rule: r.name}, fmt.Errorf("rule %q: %w", r.name, err)
		}
		res.Reply = rep
	}
	return res, nil
}
