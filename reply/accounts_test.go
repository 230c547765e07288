package reply

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"wxoa/reply/replytest"
	"wxoa/reply/rules"
	"wxoa/wechat"
	"wxoa/wechat/dedup"
)

// Two accounts on one dedup store: the same message (two WeCom
// applications of one corp receive messages addressed to the same
// ToUserName, with the same MsgId) is each account's to answer, once.
func TestNamespacesShareAStore(t *testing.T) {
	store := dedup.NewMemory(dedup.MemoryConfig{TTL: time.Minute, MaxWait: time.Second})
	pipeline := func(ns, reply string) (*Pipeline, *replytest.Matcher) {
		m := &replytest.Matcher{MatchFn: func(wechat.Message) (rules.Result, error) {
			return rules.Result{Rule: "r", Reply: &wechat.TextReply{Content: reply}}, nil
		}}
		p, err := New(Config{Rules: m, Store: store, Namespace: ns, Now: func() time.Time { return fixedNow }})
		if err != nil {
			t.Fatal(err)
		}
		return p, m
	}
	hr, hrRules := pipeline("wecom-ww1-1:", "from hr")
	ops, opsRules := pipeline("wecom-ww1-2:", "from ops")
	msg := textMsg(77, "hi")
	for range 2 { // the second round is WeChat's retry
		if got := answer(t, hr, msg); !strings.Contains(got, "from hr") {
			t.Errorf("hr answered %q; want its own reply", got)
		}
		if got := answer(t, ops, msg); !strings.Contains(got, "from ops") {
			t.Errorf("ops answered %q; want its own reply, not hr's", got)
		}
	}
	if hrRules.Calls() != 1 || opsRules.Calls() != 1 {
		t.Errorf("rules ran %d and %d times; want once per account", hrRules.Calls(), opsRules.Calls())
	}
}

// A forwarder shared by two accounts sends each one's late answer with
// that account's deliverer.
func TestForwarderTargets(t *testing.T) {
	var calls atomic.Int64
	url := teamEndpoint(t, 400*time.Millisecond, &calls)
	fwd, err := NewForwarder(ForwardConfig{Client: &http.Client{}, Deadline: 100 * time.Millisecond, Timeout: 5 * time.Second,
		Once: dedup.NewMemory(dedup.MemoryConfig{TTL: time.Minute}), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	a := &delivererStub{arrived: make(chan struct{}, 4)}
	b := &delivererStub{arrived: make(chan struct{}, 4)}
	rule := &rules.Forward{Name: "ask", URL: url}
	msg, err := wechat.ParseMessage(textMsg(5, "late"))
	if err != nil {
		t.Fatal(err)
	}
	// The same message for two accounts: each claims its own delivery.
	if r := fwd.For(Target{Deliverer: a, Namespace: "wxa:"}).Forward(context.Background(), rule, msg); r != nil {
		t.Fatalf("Forward = %v; want nil (late)", r)
	}
	if r := fwd.For(Target{Deliverer: b, Namespace: "wxb:"}).Forward(context.Background(), rule, msg); r != nil {
		t.Fatalf("Forward = %v; want nil (late)", r)
	}
	if err := fwd.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(a.sent) != 1 || len(b.sent) != 1 {
		t.Errorf("deliveries: a %v, b %v; want one each, through each account's deliverer", a.sent, b.sent)
	}
}

// A Mini Program takes no passive reply: "success" at once, the reply sent
// by customer-service message, once however often WeChat retries, and a
// rule that forwards sends the endpoint's answer whenever it comes (past
// the passive deadline: no one waits for it), a shutdown draining it.
func TestActiveAnswersSuccessAndDelivers(t *testing.T) {
	fwd, err := NewForwarder(ForwardConfig{Client: &http.Client{}, Deadline: 100 * time.Millisecond, Timeout: 5 * time.Second,
		Once: dedup.NewMemory(dedup.MemoryConfig{TTL: time.Minute}), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	d := &delivererStub{arrived: make(chan struct{}, 8)}
	var calls atomic.Int64
	url := teamEndpoint(t, 300*time.Millisecond, &calls)
	m := &replytest.Matcher{MatchFn: func(msg wechat.Message) (rules.Result, error) {
		if msg.(*wechat.Text).Content == "ask" {
			return rules.Result{Rule: "ask", Forward: &rules.Forward{Name: "ask", URL: url}}, nil
		}
		return rules.Result{Rule: "echo", Reply: &wechat.TextReply{Content: "echo " + msg.(*wechat.Text).Content}}, nil
	}}
	target := Target{Deliverer: d, Namespace: "wxmp:"}
	p, err := New(Config{Rules: m, Forwarder: fwd.For(target), Namespace: "wxmp:", Active: &Active{Runner: fwd, Target: target}})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 { // WeChat's retries
		if got := answer(t, p, textMsg(9, "hello")); got != "success" {
			t.Errorf("answer = %q; want success at once", got)
		}
		if got := answer(t, p, textMsg(10, "ask")); got != "success" {
			t.Errorf("answer = %q; want success at once", got)
		}
	}
	if err := fwd.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{testOpenID + ": echo hello": true, testOpenID + ": answer to ask": true}
	if len(d.sent) != 2 || !want[d.sent[0]] || !want[d.sent[1]] {
		t.Errorf("sent %q; want the echo and the endpoint's answer, once each", d.sent)
	}
	if m.Calls() != 2 || calls.Load() != 1 {
		t.Errorf("rules ran %d times, the endpoint was called %d times; want 2 and 1", m.Calls(), calls.Load())
	}
}

func TestActiveNeedsARunner(t *testing.T) {
	if _, err := New(Config{Rules: &replytest.Matcher{}, Active: &Active{}}); err == nil {
		t.Error("New with Active but no Runner = nil error; want one")
	}
}
