package handlers

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	_ "wxoa/internal/soak" // accepts -soak (see package soak)

	"wxoa/internal/logtest"
	"wxoa/reply"
	"wxoa/reply/replytest"
	"wxoa/reply/rules"
	"wxoa/wechat"
	"wxoa/wechat/dedup"
)

// The callback on the reply pipeline: what WeChat gets when the pipeline
// answers nothing, how long a replay is recognised, what /healthz counts.

func TestNoReplyIsSuccess(t *testing.T) {
	stub := &replytest.Matcher{MatchFn: func(msg wechat.Message) (rules.Result, error) { return rules.Result{}, nil }}
	h := newTestRouter(t, routerOpts{rules: stub})
	rec := postPlain(h, textMsg(9, "x"))
	if rec.Body.String() != "success" {
		t.Errorf("reply = %q; want success", rec.Body)
	}
	// In safe mode "success" is sent as is: WeChat accepts it unencrypted.
	hs := newTestRouter(t, routerOpts{rules: stub, crypter: true})
	if rec := postSafe(t, hs, textMsg(10, "x")); rec.Body.String() != "success" {
		t.Errorf("safe-mode reply = %q; want success", rec.Body)
	}
}

func TestAccessLogHasNoQuery(t *testing.T) {
	var logs logtest.Buffer
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

// A replay of a captured request within the clock-skew window never runs
// the rule again: the message is remembered for twice the window (it was
// remembered for 60 s, and a replay at 66 s ran a forward rule again).
func TestReplayWithinSkewWindowRunsRuleOnce(t *testing.T) {
	const skew = 5 * time.Minute
	var mu sync.Mutex
	now := fixedNow
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	stub := &replytest.Matcher{}
	p, err := reply.New(reply.Config{Rules: stub, Now: clock,
		Store: dedup.NewMemory(dedup.MemoryConfig{TTL: reply.DedupTTL(skew), Now: clock})})
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewRouter(Deps{
		Now: clock, MaxClockSkew: skew,
		Accounts: accounts(t, testAcct(func(a *Account) { a.Callback.Answerer = p })),
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
		if rec.Code != 200 || rec.Body.String() != first || stub.Calls() != 1 {
			t.Errorf("replay %v later = %d %q after %d runs; want the first reply, 1 run", after, rec.Code, rec.Body.String(), stub.Calls())
		}
	}
	if reply.DedupTTL(skew) < 2*skew {
		t.Errorf("DedupTTL(%v) = %v; want at least twice the window", skew, reply.DedupTTL(skew))
	}
}

// A late answer that cannot be delivered (here: no customer-service
// sender) shows on /healthz.
func TestHealthShowsForwardCounters(t *testing.T) {
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		io.WriteString(w, `{"type":"text","content":"late"}`)
	}))
	t.Cleanup(endpoint.Close)
	fwd, err := reply.NewForwarder(reply.ForwardConfig{Client: endpoint.Client(), Deadline: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	stub := &replytest.Matcher{MatchFn: func(msg wechat.Message) (rules.Result, error) {
		return rules.Result{Rule: "ask-team", Forward: &rules.Forward{Name: "ask-team", URL: endpoint.URL}}, nil
	}}
	h := newTestRouter(t, routerOpts{rules: stub, forwarder: fwd})
	postPlain(h, textMsg(105, "late"))
	fwd.Shutdown(context.Background()) // waits for the late delivery
	rec := serve(h, "GET", "/healthz", nil)
	var got struct {
		Status  string             `json:"status"`
		Forward reply.ForwardStats `json:"forward"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != 200 {
		t.Fatalf("GET /healthz = %d %s", rec.Code, rec.Body)
	}
	if got.Status != "ok" || got.Forward.Late != 1 || got.Forward.DeliveryFailed != 1 {
		t.Errorf("health = %+v; want ok with 1 late, 1 failed delivery", got)
	}
}
