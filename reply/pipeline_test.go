package reply

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"wxoa/internal/logtest"
	"wxoa/reply/replytest"
	"wxoa/reply/rules"
	"wxoa/wechat"
	"wxoa/wechat/dedup"
	"wxoa/wechat/wechattest"
)

func TestRetryGetsIdenticalReplyAndRuleRunsOnce(t *testing.T) {
	click := func(ts int64, key string) []byte { return wechattest.Click(key).XML("gh_1", testOpenID, ts, 0) }
	clickAt := func(ts int64) []byte { return click(ts, "HELP") }
	tests := []struct {
		name        string
		first, then []byte
		wantRuns    int64
	}{
		{"same MsgId", textMsg(42, "hi"), textMsg(42, "hi"), 1},
		{"different MsgId", textMsg(42, "hi"), textMsg(43, "hi"), 2},
		{"same event", clickAt(1700000001), clickAt(1700000001), 1},
		{"event at another time", clickAt(1700000001), clickAt(1700000002), 2},
		{"two buttons in one second", click(1700000001, "A"), click(1700000001, "B"), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n int
			stub := &replytest.Matcher{MatchFn: func(msg wechat.Message) (rules.Result, error) {
				n++ // a reply that differs on every run shows a rerun
				return rules.Result{Rule: "count", Reply: &wechat.TextReply{Content: strings.Repeat("x", n)}}, nil
			}}
			p := newTestPipeline(t, pipelineOpts{rules: stub})
			a := answer(t, p, tt.first)
			b := answer(t, p, tt.then)
			if got := stub.Calls(); got != tt.wantRuns {
				t.Errorf("rule ran %d times; want %d", got, tt.wantRuns)
			}
			same := a == b
			if same != (tt.wantRuns == 1) {
				t.Errorf("replies identical = %v; want %v\n%s\n%s", same, tt.wantRuns == 1, a, b)
			}
		})
	}
}

// A retry that arrives while the first try is still being answered waits
// for it instead of running the rule again.
func TestConcurrentRetriesRunRuleOnce(t *testing.T) {
	release := make(chan struct{})
	stub := &replytest.Matcher{MatchFn: func(msg wechat.Message) (rules.Result, error) {
		<-release
		return rules.Result{Reply: &wechat.TextReply{Content: "slow"}}, nil
	}}
	p := newTestPipeline(t, pipelineOpts{rules: stub})
	var wg sync.WaitGroup
	bodies := make([]string, 4)
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bodies[i] = answer(t, p, textMsg(7, "slow"))
		}()
	}
	time.Sleep(50 * time.Millisecond) // let them all arrive
	close(release)
	wg.Wait()
	if got := stub.Calls(); got != 1 {
		t.Errorf("rule ran %d times for 4 concurrent copies; want 1", got)
	}
	for i, b := range bodies {
		if b != bodies[0] || !strings.Contains(b, "slow") {
			t.Errorf("reply %d = %q; want %q", i, b, bodies[0])
		}
	}
}

func TestRuleErrorAnswersSuccess(t *testing.T) {
	stub := &replytest.Matcher{MatchFn: func(msg wechat.Message) (rules.Result, error) {
		return rules.Result{Rule: "broken"}, errTest
	}}
	var logs logtest.Buffer
	p := newTestPipeline(t, pipelineOpts{rules: stub, logs: &logs})
	if got := answer(t, p, textMsg(8, "x")); got != "success" {
		t.Fatalf("Answer = %q; want success", got)
	}
	if !strings.Contains(logs.String(), "broken") {
		t.Errorf("logs do not name the failing rule:\n%s", logs.String())
	}
}

// storeStub is a dedup.Store whose Claim answers as a test scripts it and
// whose Done fails with doneErr, recording what is finished.
type storeStub struct {
	claim   func(ctx context.Context) (bool, []byte, error)
	doneErr error

	mu       sync.Mutex
	done     int
	abandons int
}

func (s *storeStub) Claim(ctx context.Context, _ string) (bool, []byte, error) { return s.claim(ctx) }

func (s *storeStub) Done(context.Context, string, []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done++
	return s.doneErr
}

func (s *storeStub) Abandon(context.Context, string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.abandons++
	return nil
}

func (s *storeStub) Once(context.Context, string) (bool, error) { return true, nil }

// What the pipeline answers for each thing its store can say, and what it
// tells the store and the logs.
func TestAnswerWithStore(t *testing.T) {
	claimed := func(context.Context) (bool, []byte, error) { return true, nil, nil }
	answers := func(b []byte, err error) func(context.Context) (bool, []byte, error) {
		return func(context.Context) (bool, []byte, error) { return false, b, err }
	}
	hi := func(wechat.Message) (rules.Result, error) {
		return rules.Result{Rule: "hi", Reply: &wechat.TextReply{Content: "hi"}}, nil
	}
	tests := []struct {
		name        string
		claim       func(ctx context.Context) (bool, []byte, error)
		doneErr     error
		rule        func(wechat.Message) (rules.Result, error) // nil: hi
		requestGone bool                                       // the caller's context has ended
		want        string                                     // the answer, or "<![CDATA[hi]]>" for the rule's reply
		wantRuns    int64
		wantDone    int
		wantAbandon int
		wantLog     []string // in the logs, in this order
		wantNoLog   string   // not in the logs
	}{
		{name: "first try", claim: claimed, want: "<![CDATA[hi]]>", wantRuns: 1, wantDone: 1, wantNoLog: "level="},
		{name: "retry answered from the store", claim: answers([]byte("<xml>first</xml>"), nil),
			want: "<xml>first</xml>", wantNoLog: "level="},
		{name: "retry of a claim still pending", claim: answers(nil, dedup.ErrPending), want: "success", wantNoLog: "level="},
		{name: "retry of a message done without a reply", claim: answers(nil, dedup.ErrNoReply), want: "success", wantNoLog: "level="},
		{name: "store failed", claim: answers(nil, errors.New("dedup redis: claim: connection refused")),
			want: "success", wantLog: []string{"level=ERROR", "reply dedup store failed", "connection refused"}},
		{name: "request ended during the claim", requestGone: true,
			claim: func(ctx context.Context) (bool, []byte, error) {
				return false, nil, fmt.Errorf("dedup redis: claim: %w", ctx.Err())
			},
			want: "success", wantNoLog: "level=ERROR"},
		{name: "done failed", claim: claimed, doneErr: errors.New("dedup redis: done: connection refused"),
			want: "<![CDATA[hi]]>", wantRuns: 1, wantDone: 1, wantLog: []string{"level=WARN", "reply not remembered", "connection refused"}},
		{name: "rule panicked", claim: claimed,
			rule: func(wechat.Message) (rules.Result, error) { panic("rule exploded") },
			want: "success", wantRuns: 1, wantAbandon: 1,
			wantLog: []string{"level=ERROR", "rule exploded", "pipeline_test.go"}}, // the stack, down to the rule
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rule := tt.rule
			if rule == nil {
				rule = hi
			}
			stub := &replytest.Matcher{MatchFn: rule}
			store := &storeStub{claim: tt.claim, doneErr: tt.doneErr}
			var logs logtest.Buffer
			p := newTestPipeline(t, pipelineOpts{rules: stub, store: store, logs: &logs})
			msg, err := wechat.ParseMessage(textMsg(9, "x"))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.requestGone {
				cancel()
			}
			got := string(p.Answer(ctx, msg))
			if got != tt.want && !(strings.HasPrefix(tt.want, "<![CDATA[") && strings.Contains(got, tt.want)) {
				t.Errorf("Answer = %q; want %q", got, tt.want)
			}
			if n := stub.Calls(); n != tt.wantRuns {
				t.Errorf("rule ran %d times; want %d", n, tt.wantRuns)
			}
			store.mu.Lock()
			if store.done != tt.wantDone || store.abandons != tt.wantAbandon {
				t.Errorf("store got %d Done, %d Abandon; want %d, %d", store.done, store.abandons, tt.wantDone, tt.wantAbandon)
			}
			store.mu.Unlock()
			text := logs.String()
			rest := text
			for _, w := range tt.wantLog {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Errorf("logs lack %q (after the previous want):\n%s", w, text)
					break
				}
				rest = rest[i+len(w):]
			}
			if tt.wantNoLog != "" && strings.Contains(text, tt.wantNoLog) {
				t.Errorf("logs have %q; want none:\n%s", tt.wantNoLog, text)
			}
		})
	}
}

// A rule that panics is answered "success", once: the retry does not run
// it again, since it may have had effects before it failed.
func TestRulePanicAnswersSuccessOnce(t *testing.T) {
	stub := &replytest.Matcher{MatchFn: func(wechat.Message) (rules.Result, error) { panic("rule exploded") }}
	var logs logtest.Buffer
	p := newTestPipeline(t, pipelineOpts{rules: stub, logs: &logs})
	for try := 1; try <= 2; try++ {
		if got := answer(t, p, textMsg(10, "boom")); got != "success" {
			t.Errorf("try %d: Answer = %q; want success", try, got)
		}
	}
	if n := stub.Calls(); n != 1 {
		t.Errorf("rule ran %d times; want 1", n)
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 {
		t.Errorf("%d errors logged; want 1, the panic:\n%s", n, logs.String())
	}
}
