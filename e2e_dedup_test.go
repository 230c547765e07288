package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wxoa/internal/redistest"
	"wxoa/wechat"
	"wxoa/wechat/wechattest"
)

// countingEndpoint is a team's forward endpoint that counts its calls and
// answers after delay.
type countingEndpoint struct {
	calls atomic.Int64
	delay time.Duration
	url   string
}

func startCountingEndpoint(t *testing.T, delay time.Duration) *countingEndpoint {
	t.Helper()
	e := &countingEndpoint{delay: delay}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := e.calls.Add(1)
		io.Copy(io.Discard, r.Body)
		time.Sleep(e.delay)
		fmt.Fprintf(w, `{"type":"text","content":"team answer #%d"}`, n)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	e.url = "http://" + ln.Addr().String() + "/hook"
	return e
}

// push posts a plaintext text message as WeChat does, returning the body.
// The MsgId is the caller's, so that the same message can go to several
// instances, as WeChat's retries may.
func push(t *testing.T, p *proc, msgID int64, content string) string {
	t.Helper()
	msg := wechattest.Text(content).XML("gh_fleet", "oFleetUser", 1700000000, msgID)
	q, body, err := wechat.SealPush("e2etoken", nil, "gh_fleet", msg, fmt.Sprint(time.Now().Unix()), fmt.Sprintf("n%d", time.Now().UnixNano()))
	if err != nil {
		t.Error(err) // push runs on goroutines too: no Fatal
		return ""
	}
	code, answer, err := p.do("POST", "/wechat?"+q.Encode(), "", string(body))
	if err != nil || code != 200 {
		t.Errorf("%s POST /wechat = %d %q, %v", p.name, code, answer, err)
	}
	return answer
}

// forwardFleet starts two instances sharing a Redis, with every message
// forwarded to endpoint and a 1-second reply deadline.
func forwardFleet(t *testing.T, fake *wechattest.Server, endpoint string) (a, b *proc) {
	t.Helper()
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte("rules: []\ndefault:\n  forward: {url: \""+endpoint+"\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return fleet(t, fake, redistest.Start(t).URL(), map[string]string{"RULES_FILE": rules, "REPLY_DEADLINE": "1s"})
}

// One answer per message across the fleet: a message to A and its retries
// to B and A run the forward once and get byte-identical replies.
func TestFleetRetryOnAnotherInstance(t *testing.T) {
	fake := wechattest.NewServer(t)
	team := startCountingEndpoint(t, 50*time.Millisecond)
	a, b := forwardFleet(t, fake, team.url)
	first := push(t, a, 1001, "hello")
	if !strings.Contains(first, "team answer #1") {
		t.Fatalf("A's reply = %q; want the team's answer", first)
	}
	for i, p := range []*proc{b, a, b} {
		if got := push(t, p, 1001, "hello"); got != first {
			t.Errorf("retry %d on %s = %q; want the byte-identical %q", i+1, p.name, got, first)
		}
	}
	if n := team.calls.Load(); n != 1 {
		t.Errorf("team endpoint called %d times; want 1", n)
	}
}

// A retry arriving while the first try is still inside a slow forward waits
// for it and never runs the rule; the late answer is delivered once.
func TestFleetRetryDuringSlowForward(t *testing.T) {
	fake := wechattest.NewServer(t)
	team := startCountingEndpoint(t, 1500*time.Millisecond) // past the 1-s reply deadline
	a, b := forwardFleet(t, fake, team.url)
	sameToken(t, fake, "", a, b) // the delivery will need the token
	replies := make([]string, 3)
	var wg sync.WaitGroup
	wg.Go(func() { replies[0] = push(t, a, 2002, "slow one") })
	waitFor(t, "the forward to start", func() bool { return team.calls.Load() == 1 })
	wg.Go(func() { replies[1] = push(t, b, 2002, "slow one") }) // while A waits on the team
	wg.Wait()
	replies[2] = push(t, a, 2002, "slow one") // after A answered "success"
	for i, r := range replies {
		if r != "success" {
			t.Errorf("reply %d = %q; want success (the answer comes late, by customer-service message)", i, r)
		}
	}
	waitFor(t, "the late answer to be delivered", func() bool { return len(fake.CustomMessages()) >= 1 })
	push(t, b, 2002, "slow one")
	time.Sleep(2 * time.Second) // room for any second forward or delivery to show
	if n := team.calls.Load(); n != 1 {
		t.Errorf("team endpoint called %d times; want 1", n)
	}
	if msgs := fake.CustomMessages(); len(msgs) != 1 || !strings.Contains(string(msgs[0]), "team answer #1") {
		t.Errorf("customer-service messages = %s; want the late answer once", msgs)
	}
}

// Thousands of distinct large messages, each on a signed query of its own
// (one query carries one message: TestReplayedQueryCarriesOneMessage): the
// reply cache keeps the process within its budget plus a small constant.
func TestFloodOfDistinctMessagesStaysInBudget(t *testing.T) {
	const budget = 32 << 20
	fake := wechattest.NewServer(t)
	vars := e2eVars(t, fake)
	vars["DEDUP_CACHE_SIZE"] = "32MiB"
	vars["LOG_LEVEL"] = "warn"
	p := startBinary(t, "A", buildBinary(t), vars)
	filler := strings.Repeat("x", 60<<10)
	send := func(from, to int) {
		var wg sync.WaitGroup
		next := atomic.Int64{}
		next.Store(int64(from))
		for w := 0; w < 8; w++ {
			wg.Go(func() {
				for {
					i := next.Add(1) - 1
					if i >= int64(to) {
						return
					}
					msg := wechattest.Text(filler).XML("gh_1", "oAttacker", 1700000000, 900000+i)
					q, _, _ := wechat.SealPush("e2etoken", nil, "gh_1", nil, fmt.Sprint(time.Now().Unix()), fmt.Sprint("n", i))
					code, _, err := p.do("POST", "/wechat?"+q.Encode(), "", string(msg))
					if err != nil || code != 200 {
						t.Errorf("flood message %d = %d, %v", i, code, err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	send(0, 300) // warm up: pools, buffers, the runtime's own growth
	before := p.rss(t)
	send(300, 8300)
	after := p.rss(t)
	t.Logf("RSS %d MiB after warm-up, %d MiB after 8,000 distinct 60 KB messages (budget %d MiB)", before>>20, after>>20, budget>>20)
	if limit := before + budget + 32<<20; after > limit {
		t.Errorf("RSS grew from %d MiB to %d MiB; want at most %d MiB", before>>20, after>>20, limit>>20)
	}
}
