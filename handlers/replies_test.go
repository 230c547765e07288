package handlers

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"wxoa/handlers/rules"
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
			stub := &replierStub{MatchFn: func(msg wechat.Message) (rules.Result, error) {
				n++ // a reply that differs on every run shows a rerun
				return rules.Result{Rule: "count", Reply: &wechat.TextReply{Content: strings.Repeat("x", n)}}, nil
			}}
			h := newTestRouter(t, routerOpts{replier: stub})
			a := postPlain(h, tt.first)
			b := postPlain(h, tt.then)
			if got := stub.calls.Load(); got != tt.wantRuns {
				t.Errorf("rule ran %d times; want %d", got, tt.wantRuns)
			}
			same := bytes.Equal(a.Body.Bytes(), b.Body.Bytes())
			if same != (tt.wantRuns == 1) {
				t.Errorf("replies identical = %v; want %v\n%s\n%s", same, tt.wantRuns == 1, a.Body, b.Body)
			}
		})
	}
}

// A retry that arrives while the first try is still being answered waits
// for it instead of running the rule again.
func TestConcurrentRetriesRunRuleOnce(t *testing.T) {
	release := make(chan struct{})
	stub := &replierStub{MatchFn: func(msg wechat.Message) (rules.Result, error) {
		<-release
		return rules.Result{Reply: &wechat.TextReply{Content: "slow"}}, nil
	}}
	h := newTestRouter(t, routerOpts{replier: stub})
	var wg sync.WaitGroup
	bodies := make([]string, 4)
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bodies[i] = postPlain(h, textMsg(7, "slow")).Body.String()
		}()
	}
	time.Sleep(50 * time.Millisecond) // let them all arrive
	close(release)
	wg.Wait()
	if got := stub.calls.Load(); got != 1 {
		t.Errorf("rule ran %d times for 4 concurrent copies; want 1", got)
	}
	for i, b := range bodies {
		if b != bodies[0] || !strings.Contains(b, "slow") {
			t.Errorf("reply %d = %q; want %q", i, b, bodies[0])
		}
	}
}

func TestRuleErrorAnswersSuccess(t *testing.T) {
	stub := &replierStub{MatchFn: func(msg wechat.Message) (rules.Result, error) {
		return rules.Result{Rule: "broken"}, errTest
	}}
	var logs syncBuffer
	h := newTestRouter(t, routerOpts{replier: stub, logs: &logs})
	rec := postPlain(h, textMsg(8, "x"))
	if rec.Code != 200 || rec.Body.String() != "success" {
		t.Fatalf("POST = %d %q; want 200 success", rec.Code, rec.Body)
	}
	if !strings.Contains(logs.String(), "broken") {
		t.Errorf("logs do not name the failing rule:\n%s", logs.String())
	}
}

func TestNoReplyIsSuccess(t *testing.T) {
	stub := &replierStub{MatchFn: func(msg wechat.Message) (rules.Result, error) { return rules.Result{}, nil }}
	h := newTestRouter(t, routerOpts{replier: stub})
	rec := postPlain(h, textMsg(9, "x"))
	if rec.Body.String() != "success" {
		t.Errorf("reply = %q; want success", rec.Body)
	}
	// In safe mode "success" is sent as is: WeChat accepts it unencrypted.
	hs := newTestRouter(t, routerOpts{replier: stub, crypter: true})
	if rec := postSafe(t, hs, textMsg(10, "x")); rec.Body.String() != "success" {
		t.Errorf("safe-mode reply = %q; want success", rec.Body)
	}
}

func TestAccessLogHasNoQuery(t *testing.T) {
	var logs syncBuffer
	h := newTestRouter(t, routerOpts{logs: &logs})
	postPlain(h, textMsg(11, "x"))
	line := logs.String()
	for _, want := range []string{"method=POST", "path=/wechat", "status=200", "latency="} {
		if !strings.Contains(line, want) {
			t.Errorf("access log lacks %q: %s", want, line)
		}
	}
	for _, secret := range []string{"signature", "oUser0001", "nonce1", testToken} {
		if strings.Contains(line, secret) {
			t.Errorf("access log contains %q: %s", secret, line)
		}
	}
}

type testError string

func (e testError) Error() string { return string(e) }

const errTest = testError("rule exploded")

// A replay of a captured request within the clock-skew window never runs
// the rule again: the message is remembered for twice the window (it was
// remembered for 60 s, and a replay at 66 s ran a forward rule again).
func TestReplayWithinSkewWindowRunsRuleOnce(t *testing.T) {
	const skew = 5 * time.Minute
	var mu sync.Mutex
	now := fixedNow
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	stub := &replierStub{}
	h, err := NewRouter(Deps{
		Now: clock, CallbackPath: testPath, Replier: stub,
		Callback: CallbackConfig{Token: testToken, MaxClockSkew: skew},
		Dedup:    dedup.NewMemory(dedup.MemoryConfig{TTL: DedupTTL(skew), Now: clock}),
	})
	if err != nil {
		t.Fatal(err)
	}
	// A timestamp skew ahead of our clock is accepted now and stays
	// accepted for 2×skew: the longest a captured request can be replayed.
	sent := fixedNow.Add(skew - time.Second)
	target := testPath + "?" + signedQuery(sent.Unix(), "replayed").Encode()
	first := serve(h, "POST", target, textMsg(77, "hi")).Body.String()
	for _, after := range []time.Duration{66 * time.Second, 5 * time.Minute, 2*skew - 2*time.Second} {
		advance(after - now.Sub(fixedNow))
		rec := serve(h, "POST", target, textMsg(77, "hi"))
		if rec.Code != 200 || rec.Body.String() != first || stub.calls.Load() != 1 {
			t.Errorf("replay %v later = %d %q after %d runs; want the first reply, 1 run", after, rec.Code, rec.Body.String(), stub.calls.Load())
		}
	}
	if DedupTTL(skew) < 2*skew {
		t.Errorf("DedupTTL(%v) = %v; want at least twice the window", skew, DedupTTL(skew))
	}
}
