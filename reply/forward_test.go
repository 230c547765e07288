package reply

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wxoa/internal/logtest"
	"wxoa/reply/replytest"
	"wxoa/reply/rules"
	"wxoa/wechat"
	"wxoa/wechat/dedup"
)

// delivererStub records late deliveries.
type delivererStub struct {
	mu      sync.Mutex
	sent    []string
	err     error
	arrived chan struct{}
}

func (d *delivererStub) Deliver(_ context.Context, openID string, r wechat.Reply) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	defer func() { d.arrived <- struct{}{} }()
	if d.err != nil {
		return d.err
	}
	d.sent = append(d.sent, openID+": "+r.(*wechat.TextReply).Content)
	return nil
}

// teamEndpoint answers after delay, counting calls and checking the JSON.
func teamEndpoint(t *testing.T, delay time.Duration, calls *atomic.Int64) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil || m["FromUserName"] != "oUser0001" {
			t.Errorf("endpoint got %v (%v); want the message as JSON", m, err)
		}
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, `{"type":"text","content":"answer to `+m["Content"].(string)+`"}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// forwardPipeline returns a pipeline whose every message is forwarded to
// url, with late answers delivered by d; with adjusts the forwarder's
// config.
func forwardPipeline(t *testing.T, url string, d Deliverer, with ...func(*ForwardConfig)) (*Pipeline, *HTTPForwarder) {
	cfg := ForwardConfig{Client: &http.Client{}, Deadline: 200 * time.Millisecond, Timeout: 5 * time.Second,
		Deliverer: d, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, f := range with {
		f(&cfg)
	}
	fwd, err := NewForwarder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stub := &replytest.Matcher{MatchFn: func(msg wechat.Message) (rules.Result, error) {
		return rules.Result{Rule: "ask-team", Forward: &rules.Forward{Name: "ask-team", URL: url, Timeout: 5 * time.Second}}, nil
	}}
	return newTestPipeline(t, pipelineOpts{rules: stub, forwarder: fwd}), fwd
}

func TestForwardInTime(t *testing.T) {
	var calls atomic.Int64
	d := &delivererStub{arrived: make(chan struct{}, 4)}
	p, fwd := forwardPipeline(t, teamEndpoint(t, 0, &calls), d)
	got := answer(t, p, textMsg(100, "quick"))
	if !strings.Contains(got, "<Content><![CDATA[answer to quick]]></Content>") {
		t.Fatalf("reply = %q; want the endpoint's answer as a passive reply", got)
	}
	if s := fwd.Stats(); s.InTime != 1 || s.Late != 0 || len(d.sent) != 0 {
		t.Errorf("stats %+v, delivered %v; want 1 in time, nothing delivered", s, d.sent)
	}
}

// A slow answer: "success" at the deadline, the answer delivered once by
// the customer-service API, and WeChat's retries change nothing.
func TestForwardLateDeliveredOnce(t *testing.T) {
	var calls atomic.Int64
	d := &delivererStub{arrived: make(chan struct{}, 4)}
	p, fwd := forwardPipeline(t, teamEndpoint(t, 600*time.Millisecond, &calls), d)
	if got := answer(t, p, textMsg(101, "slow")); got != "success" {
		t.Fatalf("reply = %q; want success after the deadline", got)
	}
	// WeChat's retries while the answer is still on its way, and after.
	for i := 0; i < 3; i++ {
		if r := answer(t, p, textMsg(101, "slow")); r != "success" {
			t.Errorf("retry %d = %q; want success", i, r)
		}
	}
	select {
	case <-d.arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("late answer never delivered")
	}
	if err := fwd.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := answer(t, p, textMsg(101, "slow")); r != "success" {
		t.Errorf("retry after delivery = %q; want success", r)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.sent) != 1 || d.sent[0] != "oUser0001: answer to slow" || calls.Load() != 1 {
		t.Errorf("delivered %q with %d endpoint calls; want one delivery of the answer, one call", d.sent, calls.Load())
	}
	if s := fwd.Stats(); s.Late != 1 || s.Delivered != 1 {
		t.Errorf("stats = %+v; want 1 late, 1 delivered", s)
	}
}

func TestForwardLateDeliveryFailureIsCounted(t *testing.T) {
	var calls atomic.Int64
	d := &delivererStub{arrived: make(chan struct{}, 1), err: &wechat.APIError{Code: 45015, Endpoint: "/cgi-bin/message/custom/send"}}
	p, fwd := forwardPipeline(t, teamEndpoint(t, 400*time.Millisecond, &calls), d)
	answer(t, p, textMsg(102, "late"))
	<-d.arrived
	fwd.Shutdown(context.Background())
	if s := fwd.Stats(); s.DeliveryFailed != 1 || s.Delivered != 0 {
		t.Errorf("stats = %+v; want 1 failed delivery", s)
	}
}

func TestForwardEndpointErrors(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"500", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }},
		{"not json", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>") }},
		{"unknown type", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"type":"hologram"}`) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			p, fwd := forwardPipeline(t, srv.URL, &delivererStub{arrived: make(chan struct{}, 1)})
			if got := answer(t, p, textMsg(103, "x")); got != "success" {
				t.Errorf("reply = %q; want success", got)
			}
			if s := fwd.Stats(); s.Failed != 1 {
				t.Errorf("stats = %+v; want 1 failed", s)
			}
		})
	}
}

func TestDecodeAnswer(t *testing.T) {
	tests := []struct {
		in      string
		want    string // %T of the reply, "" for nil
		wantErr bool
	}{
		{``, "", false},
		{`{"type":"success"}`, "", false},
		{`{"type":"text","content":"hi"}`, "*wechat.TextReply", false},
		{`{"content":"hi"}`, "*wechat.TextReply", false},
		{`{"type":"image","media_id":"m"}`, "*wechat.ImageReply", false},
		{`{"type":"news","articles":[{"title":"t","url":"https://x"}]}`, "*wechat.NewsReply", false},
		{`{"type":"transfer_customer_service"}`, "*wechat.TransferCustomerServiceReply", false},
		{`{"type":"text","extra":1}`, "", true},
		{`[1,2]`, "", true},
	}
	for _, tt := range tests {
		r, err := DecodeAnswer([]byte(tt.in))
		got := ""
		if r != nil {
			got = fmt.Sprintf("%T", r)
		}
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("DecodeAnswer(%q) = %s, %v; want %s, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestForwardErrorHidesQuery(t *testing.T) {
	tests := []struct {
		name   string
		url    string
		wantIn string // in the logs
	}{
		{"connection refused", "http://127.0.0.1:1/hook?key=sekrit", "127.0.0.1:1/hook"},
		{"URL that does not parse", "http://127.0.0.1:1/hook?key=sekrit\x7f", "invalid control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs logtest.Buffer
			fwd, _ := NewForwarder(ForwardConfig{Client: &http.Client{}, Deadline: time.Second, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			stub := &replytest.Matcher{MatchFn: func(msg wechat.Message) (rules.Result, error) {
				return rules.Result{Forward: &rules.Forward{Name: "f", URL: tt.url}}, nil
			}}
			p := newTestPipeline(t, pipelineOpts{rules: stub, forwarder: fwd, logs: &logs})
			answer(t, p, textMsg(104, "x"))
			if !strings.Contains(logs.String(), tt.wantIn) || strings.Contains(logs.String(), "sekrit") {
				t.Errorf("logs = %s; want %q, and the endpoint without its query", logs.String(), tt.wantIn)
			}
		})
	}
}

// Two instances that both forwarded one message (each claimed it on its
// own store, as during a Redis outage) share the Once store: the late
// answer reaches the user once.
func TestForwardLateDeliveredOnceAcrossInstances(t *testing.T) {
	var calls atomic.Int64
	url := teamEndpoint(t, 400*time.Millisecond, &calls)
	d := &delivererStub{arrived: make(chan struct{}, 2)}
	once := dedup.NewMemory(dedup.MemoryConfig{})
	var fwds []*HTTPForwarder
	for range 2 {
		p, fwd := forwardPipeline(t, url, d, func(c *ForwardConfig) { c.Once = once })
		fwds = append(fwds, fwd)
		if got := answer(t, p, textMsg(108, "twice")); got != "success" {
			t.Fatalf("reply = %q; want success after the deadline", got)
		}
	}
	var delivered int64
	for _, fwd := range fwds {
		if err := fwd.Shutdown(context.Background()); err != nil { // waits for the late answers
			t.Fatal(err)
		}
		delivered += fwd.Stats().Delivered
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.sent) != 1 || delivered != 1 || calls.Load() != 2 {
		t.Errorf("delivered %q (stats: %d) after %d endpoint calls; want one delivery of two late answers", d.sent, delivered, calls.Load())
	}
}

// Shutdown waits for running forwards, cancels them at its deadline, and
// refuses new ones.
func TestForwardShutdown(t *testing.T) {
	var calls atomic.Int64
	d := &delivererStub{arrived: make(chan struct{}, 1)}
	p, fwd := forwardPipeline(t, teamEndpoint(t, time.Hour, &calls), d)
	if r := answer(t, p, textMsg(106, "never answered")); r != "success" {
		t.Fatalf("reply = %q; want success at the deadline", r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := fwd.Shutdown(ctx); err == nil {
		t.Error("Shutdown with a forward still running = nil; want an error")
	}
	before := runtime.NumGoroutine()
	if r := answer(t, p, textMsg(107, "after shutdown")); r != "success" || calls.Load() != 1 {
		t.Errorf("forward after Shutdown: reply %q, endpoint calls %d; want success and no call", r, calls.Load())
	}
	if runtime.NumGoroutine() > before {
		t.Errorf("a forward after Shutdown started a goroutine")
	}
	if s := fwd.Stats(); s.Late != 1 || s.Failed != 2 || s.Delivered != 0 {
		t.Errorf("stats = %+v; want 1 late, 2 failed (cancelled, refused), none delivered", s)
	}
}

// A stalled endpoint holds at most MaxInFlight forwards: the messages
// beyond are answered "success" at once, not forwarded, counted failed and
// warned about at a pace; once the endpoint answers, forwards run again.
func TestForwardMaxInFlight(t *testing.T) {
	var calls atomic.Int64
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, `{"content":"answer"}`)
	}))
	t.Cleanup(srv.Close)
	var logs logtest.Buffer
	d := &delivererStub{arrived: make(chan struct{}, 2)}
	p, fwd := forwardPipeline(t, srv.URL, d, func(c *ForwardConfig) {
		c.MaxInFlight = 2
		c.Deadline = 50 * time.Millisecond
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})

	for id := int64(200); id < 204; id++ { // two held by the endpoint, two skipped
		if got := answer(t, p, textMsg(id, "stalled")); got != "success" {
			t.Fatalf("message %d: reply %q; want success", id, got)
		}
	}
	if s := fwd.Stats(); s.Late != 2 || s.Failed != 2 {
		t.Errorf("stats = %+v; want 2 late (in flight), 2 failed (skipped)", s)
	}
	if n := strings.Count(logs.String(), "too many forwards in flight"); n != 1 {
		t.Errorf("%d warnings for 2 skipped forwards; want 1:\n%s", n, logs.String())
	}

	close(release)
	for range 2 {
		<-d.arrived
	}
	// The slots are given back once the late deliveries return.
	deadline := time.Now().Add(10 * time.Second)
	for len(fwd.slots) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d forwards still hold a slot after their deliveries", len(fwd.slots))
		}
		time.Sleep(time.Millisecond)
	}
	answer(t, p, textMsg(204, "again")) // in time or late: forwarded either way
	if err := fwd.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, s := calls.Load(), fwd.Stats(); n != 3 || s.Failed != 2 {
		t.Errorf("endpoint called %d times, stats %+v; want 3 calls, 2 failed: the skipped messages never forwarded, the next one forwarded", n, s)
	}
}
