package reply

import (
	"strings"
	"sync"
	"testing"
	"time"

	"wxoa/internal/logtest"
	"wxoa/reply/replytest"
	"wxoa/reply/rules"
	"wxoa/wechat"
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
