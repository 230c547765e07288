// Package replytest provides a scripted rules engine for tests of the reply
// pipeline and of the servers built on it: a Matcher whose answer each test
// sets and which counts its runs, since "the rule ran once" is what the
// dedup promises.
package replytest

import (
	"sync/atomic"

	"wxoa/reply/rules"
	"wxoa/wechat"
)

// Matcher is a reply.Matcher that answers with MatchFn (nil: Echo) and
// counts its calls. (This package does not import reply, so that reply's
// own tests may use it.)
type Matcher struct {
	MatchFn func(msg wechat.Message) (rules.Result, error)
	calls   atomic.Int64
}

// Match counts the call and answers with MatchFn.
func (m *Matcher) Match(msg wechat.Message) (rules.Result, error) {
	m.calls.Add(1)
	if m.MatchFn == nil {
		return Echo(msg)
	}
	return m.MatchFn(msg)
}

// Calls returns how many times Match ran.
func (m *Matcher) Calls() int64 { return m.calls.Load() }

// Echo answers a text message with its own content (rule "echo") and
// anything else with no reply (rule "none").
func Echo(msg wechat.Message) (rules.Result, error) {
	if t, ok := msg.(*wechat.Text); ok {
		return rules.Result{Rule: "echo", Reply: &wechat.TextReply{Content: t.Content}}, nil
	}
	return rules.Result{Rule: "none"}, nil
}
