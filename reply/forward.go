package reply

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"wxoa/reply/rules"
	"wxoa/wechat"
)

// Deliverer sends an answer that missed the passive-reply window through the
// customer-service API (message/custom/send) with the managed token.
type Deliverer interface {
	Deliver(ctx context.Context, openID string, reply wechat.Reply) error
}

// ForwardConfig configures the 5-second rule.
type ForwardConfig struct {
	Client    *http.Client  // required; its Timeout is not relied on
	Deadline  time.Duration // answer WeChat by then (REPLY_DEADLINE, < 5 s)
	Timeout   time.Duration // default bound on the whole forward, late delivery included
	URL       string        // FORWARD_URL: the endpoint of rules that name none
	Deliverer Deliverer     // nil: late answers are logged and counted as lost
	// Once, if set, claims each late delivery so that it is sent once
	// across the fleet, even if two instances ever forwarded one message.
	Once OnceClaimer
	// MaxInFlight bounds the forwards running at once, late deliveries
	// included (zero: DefaultMaxInFlight). A message that finds them all
	// busy is not forwarded: it is answered "success" and counted failed.
	MaxInFlight int
	Logger      *slog.Logger
}

// DefaultMaxInFlight is ForwardConfig.MaxInFlight's default. Each forward
// holds a goroutine and a connection until its endpoint answers or Timeout
// (30 s by default) ends it: an endpoint that stalls under a busy account
// (100 messages a second) would otherwise pile up thousands of each, and
// send it more requests the slower it gets. 256 is far above what an
// endpoint that answers within the deadline keeps busy.
const DefaultMaxInFlight = 256

// busyWarnEvery spaces the warnings about forwards skipped for want of a
// slot: when the endpoint stalls, every message would log one.
const busyWarnEvery = 10 * time.Second

// OnceClaimer reports true to exactly one caller per key (dedup.Store).
type OnceClaimer interface {
	Once(ctx context.Context, key string) (bool, error)
}

// ForwardStats counts what happened to forwarded messages.
type ForwardStats struct {
	InTime         int64 `json:"in_time"`         // answered within the deadline
	Late           int64 `json:"late"`            // answered "success", delivery pending
	Delivered      int64 `json:"delivered"`       // late answers sent by customer-service message
	DeliveryFailed int64 `json:"delivery_failed"` // late answers that could not be sent
	Failed         int64 `json:"failed"`          // the endpoint failed or answered nonsense
}

// HTTPForwarder implements the 5-second rule: a rule's endpoint gets the
// message as JSON; what it answers within Deadline becomes the passive
// reply; anything later is answered with "success" at once and delivered
// through the customer-service API. The Pipeline in front of it makes
// WeChat's retries of the same message reuse the first answer, so a late
// answer is delivered once. Each forward runs on one goroutine that the
// forwarder owns until Shutdown.
type HTTPForwarder struct {
	cfg    ForwardConfig
	base   context.Context // cancelled when Shutdown runs out of time
	cancel context.CancelFunc

	mu      sync.Mutex // guards closing and wg.Add against Shutdown
	closing bool
	wg      sync.WaitGroup
	slots   chan struct{} // one token per forward running, MaxInFlight of them

	busyWarn    rate.Sometimes // paces the warnings about skipped forwards
	busySkipped atomic.Int64   // forwards skipped since the last warning, not warned about

	inTime, late, delivered, deliveryFail, bad atomic.Int64
}

var _ Forwarder = (*HTTPForwarder)(nil)

// NewForwarder checks cfg and returns a forwarder.
func NewForwarder(cfg ForwardConfig) (*HTTPForwarder, error) {
	if cfg.Client == nil {
		return nil, errors.New("forward: an HTTP client is required")
	}
	if cfg.Deadline <= 0 || cfg.Deadline >= 5*time.Second {
		return nil, fmt.Errorf("forward: deadline %v must be between 0 and 5s", cfg.Deadline)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	f := &HTTPForwarder{cfg: cfg, slots: make(chan struct{}, cfg.MaxInFlight), busyWarn: rate.Sometimes{Interval: busyWarnEvery}}
	f.base, f.cancel = context.WithCancel(context.Background())
	return f, nil
}

type forwardResult struct {
	reply wechat.Reply
	err   error
}

// forwardCall is one forward's hand-over: its goroutine either passes the
// result to the waiting callback or, once the callback has given up
// (abandoned), delivers it itself.
type forwardCall struct {
	mu        sync.Mutex
	abandoned bool
	result    chan forwardResult // buffered: the goroutine never blocks on it
}

// Target is where a forward's late answer goes: an account's deliverer,
// and the namespace of its dedup keys (the account's identity), so that
// accounts sharing one forwarder never deliver with each other's token nor
// claim each other's deliveries.
type Target struct {
	Deliverer Deliverer // nil: late answers are logged and counted as lost
	Namespace string
}

// For returns the forwarder of one account: forwards share this forwarder's
// bound on forwards in flight and its shutdown, and late answers go to t.
func (f *HTTPForwarder) For(t Target) Forwarder { return boundForwarder{f, t} }

type boundForwarder struct {
	f *HTTPForwarder
	t Target
}

func (b boundForwarder) Forward(ctx context.Context, fw *rules.Forward, msg wechat.Message) wechat.Reply {
	return b.f.forward(ctx, fw, msg, b.t)
}

// Forward returns the endpoint's reply if it comes within the deadline, or
// nil ("success") and leaves the late answer to be delivered through
// ForwardConfig.Deliverer. The forward does not end with the request: it is
// bounded by its timeout and Shutdown.
func (f *HTTPForwarder) Forward(ctx context.Context, fw *rules.Forward, msg wechat.Message) wechat.Reply {
	return f.forward(ctx, fw, msg, Target{Deliverer: f.cfg.Deliverer})
}

// start takes a slot for one background job and registers it with the
// wait group, or reports why not.
func (f *HTTPForwarder) start() (ok, closing bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closing {
		return false, true
	}
	select {
	case f.slots <- struct{}{}:
	default:
		return false, false
	}
	f.wg.Add(1)
	return true, false
}

func (f *HTTPForwarder) forward(_ context.Context, fw *rules.Forward, msg wechat.Message, t Target) wechat.Reply {
	switch ok, closing := f.start(); {
	case closing:
		f.bad.Add(1)
		f.cfg.Logger.Warn("forward skipped: shutting down", "rule", fw.Name)
		return nil
	case !ok:
		f.skipBusy(fw.Name)
		return nil
	}

	timeout := fw.Timeout
	if timeout <= 0 {
		timeout = f.cfg.Timeout
	}
	url := fw.URL
	if url == "" {
		url = f.cfg.URL
	}
	call := &forwardCall{result: make(chan forwardResult, 1)}
	go func() {
		defer f.wg.Done()
		defer func() { <-f.slots }()
		ctx, cancel := context.WithTimeout(f.base, timeout)
		defer cancel()
		r, err := f.call(ctx, url, msg)
		call.mu.Lock()
		if !call.abandoned {
			call.result <- forwardResult{r, err}
			call.mu.Unlock()
			return
		}
		call.mu.Unlock()
		f.deliverLate(ctx, fw, msg, forwardResult{r, err}, t)
	}()

	timer := time.NewTimer(f.cfg.Deadline)
	defer timer.Stop()
	var r forwardResult
	select {
	case r = <-call.result:
	case <-timer.C:
		call.mu.Lock()
		select {
		case r = <-call.result: // it made it after all
			call.mu.Unlock()
		default:
			call.abandoned = true
			call.mu.Unlock()
			f.late.Add(1)
			return nil
		}
	}
	if r.err != nil {
		f.bad.Add(1)
		f.cfg.Logger.Error("forward failed", "rule", fw.Name, "err", r.err)
		return nil
	}
	f.inTime.Add(1)
	return r.reply
}

// Ask forwards msg to fw's endpoint and returns its answer, waiting as
// long as the rule allows (its timeout, bounded by ctx): for work already
// admitted by Deliver, which answers no one within a deadline. It takes no
// slot of its own and runs during a shutdown's drain.
func (f *HTTPForwarder) Ask(ctx context.Context, fw *rules.Forward, msg wechat.Message) wechat.Reply {
	timeout := fw.Timeout
	if timeout <= 0 {
		timeout = f.cfg.Timeout
	}
	url := fw.URL
	if url == "" {
		url = f.cfg.URL
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r, err := f.call(ctx, url, msg)
	if err != nil {
		f.bad.Add(1)
		f.cfg.Logger.Error("forward failed", "rule", fw.Name, "err", err)
		return nil
	}
	f.inTime.Add(1)
	return r
}

// Deliver runs compute in the background, bounded like a forward
// (MaxInFlight, Timeout, Shutdown), and sends the reply it returns, if
// any, to msg's sender through t's Deliverer: the reply of an account that
// takes no passive reply (a Mini Program). It reports false, counting the
// message failed, when it cannot start (shutting down, every slot busy).
// The caller claims the message first: Deliver sends what it is given.
func (f *HTTPForwarder) Deliver(t Target, msg wechat.Message, compute func(ctx context.Context) wechat.Reply) bool {
	switch ok, closing := f.start(); {
	case closing:
		f.bad.Add(1)
		f.cfg.Logger.Warn("reply not sent: shutting down")
		return false
	case !ok:
		f.skipBusy("")
		return false
	}
	go func() {
		defer f.wg.Done()
		defer func() { <-f.slots }()
		ctx, cancel := context.WithTimeout(f.base, f.cfg.Timeout)
		defer cancel()
		if r := compute(ctx); r != nil {
			f.send(ctx, "", msg, r, t)
		}
	}()
	return true
}

// skipBusy answers for a forward that found every slot taken: the message
// is acknowledged with "success" and never forwarded, so it is counted
// failed, with a warning at most every busyWarnEvery.
func (f *HTTPForwarder) skipBusy(rule string) {
	f.bad.Add(1)
	warned := false
	f.busyWarn.Do(func() {
		warned = true
		f.cfg.Logger.Warn("forward skipped: too many forwards in flight; answering success",
			"rule", rule, "max_in_flight", cap(f.slots), "skipped_since_last_warning", f.busySkipped.Swap(0))
	})
	if !warned {
		f.busySkipped.Add(1)
	}
}

func (f *HTTPForwarder) deliverLate(ctx context.Context, fw *rules.Forward, msg wechat.Message, r forwardResult, t Target) {
	switch {
	case r.err != nil:
		f.bad.Add(1)
		f.cfg.Logger.Error("late forward failed; the user gets no answer", "rule", fw.Name, "err", r.err)
		return
	case r.reply == nil:
		return
	}
	if t.Deliverer != nil && f.cfg.Once != nil {
		first, err := f.cfg.Once.Once(ctx, "deliver:"+t.Namespace+Key(msg))
		switch {
		case err != nil:
			// Better a rare duplicate than an answer the user never gets.
			f.cfg.Logger.Warn("late delivery not claimed; sending anyway", "rule", fw.Name, "err", err)
		case !first:
			f.cfg.Logger.Info("late answer already delivered by another try; not sending again", "rule", fw.Name)
			return
		}
	}
	f.send(ctx, fw.Name, msg, r.reply, t)
}

// send delivers reply to msg's sender through t's Deliverer, counting the
// outcome.
func (f *HTTPForwarder) send(ctx context.Context, rule string, msg wechat.Message, reply wechat.Reply, t Target) {
	if t.Deliverer == nil {
		f.deliveryFail.Add(1)
		f.cfg.Logger.Error("answer lost: no customer-service delivery configured (the account has no app secret)",
			"rule", rule, "failed_total", f.deliveryFail.Load())
		return
	}
	if err := t.Deliverer.Deliver(ctx, msg.Head().FromUserName, reply); err != nil {
		n := f.deliveryFail.Add(1)
		f.cfg.Logger.Error("answer not delivered", "rule", rule, "err", err, "failed_total", n)
		return
	}
	f.delivered.Add(1)
	f.cfg.Logger.Info("answer delivered by customer-service message", "rule", rule)
}

// Shutdown stops new forwards and waits for those running, late deliveries
// included, until ctx ends; then it cancels them and waits briefly for
// their goroutines to return.
func (f *HTTPForwarder) Shutdown(ctx context.Context) error {
	f.mu.Lock()
	f.closing = true
	f.mu.Unlock()
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	select {
	case <-done:
		f.cancel()
		return nil
	case <-ctx.Done():
	}
	f.cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second): // an SDK send takes no context; its client timeout ends it
	}
	return fmt.Errorf("forwards still running at shutdown were cancelled: %w", ctx.Err())
}

// Stats returns the counters.
func (f *HTTPForwarder) Stats() ForwardStats {
	return ForwardStats{InTime: f.inTime.Load(), Late: f.late.Load(), Delivered: f.delivered.Load(),
		DeliveryFailed: f.deliveryFail.Load(), Failed: f.bad.Load()}
}

// call POSTs the message as JSON and decodes the reply.
func (f *HTTPForwarder) call(ctx context.Context, url string, msg wechat.Message) (wechat.Reply, error) {
	body, err := json.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("encode message: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		// A URL that does not parse is quoted whole, query and all.
		return nil, fmt.Errorf("forward request: %w", wechat.StripURL(err))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.cfg.Client.Do(req)
	if err != nil {
		// The endpoint's query may hold a key: name it without.
		return nil, fmt.Errorf("forward to %s: %w", req.URL.Scheme+"://"+req.URL.Host+req.URL.Path, wechat.StripURL(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("forward: read answer: %w", err)
	}
	if resp.StatusCode == http.StatusNoContent {
		return nil, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("forward: endpoint answered HTTP %d", resp.StatusCode)
	}
	return DecodeAnswer(data)
}
