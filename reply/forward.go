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

// Forward returns the endpoint's reply if it comes within the deadline, or
// nil ("success") and leaves the late answer to be delivered. The forward
// does not end with the request: it is bounded by its timeout and Shutdown.
func (f *HTTPForwarder) Forward(_ context.Context, fw *rules.Forward, msg wechat.Message) wechat.Reply {
	f.mu.Lock()
	if f.closing {
		f.mu.Unlock()
		f.bad.Add(1)
		f.cfg.Logger.Warn("forward skipped: shutting down", "rule", fw.Name)
		return nil
	}
	select {
	case f.slots <- struct{}{}:
	default:
		f.mu.Unlock()
		f.skipBusy(fw)
		return nil
	}
	f.wg.Add(1)
	f.mu.Unlock()

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
		f.deliverLate(ctx, fw, msg, forwardResult{r, err})
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

// skipBusy answers for a forward that found every slot taken: the message
// is acknowledged with "success" and never forwarded, so it is counted
// failed, with a warning at most every busyWarnEvery.
func (f *HTTPForwarder) skipBusy(fw *rules.Forward) {
	f.bad.Add(1)
	warned := false
	f.busyWarn.Do(func() {
		warned = true
		f.cfg.Logger.Warn("forward skipped: too many forwards in flight; answering success",
			"rule", fw.Name, "max_in_flight", cap(f.slots), "skipped_since_last_warning", f.busySkipped.Swap(0))
	})
	if !warned {
		f.busySkipped.Add(1)
	}
}

func (f *HTTPForwarder) deliverLate(ctx context.Context, fw *rules.Forward, msg wechat.Message, r forwardResult) {
	openID := msg.Head().FromUserName
	switch {
	case r.err != nil:
		f.bad.Add(1)
		f.cfg.Logger.Error("late forward failed; the user gets no answer", "rule", fw.Name, "err", r.err)
		return
	case r.reply == nil:
		return
	case f.cfg.Deliverer == nil:
		f.deliveryFail.Add(1)
		f.cfg.Logger.Error("late answer lost: no customer-service delivery configured (set WECHAT_APP_ID and WECHAT_APP_SECRET)",
			"rule", fw.Name, "failed_total", f.deliveryFail.Load())
		return
	}
	if f.cfg.Once != nil {
		first, err := f.cfg.Once.Once(ctx, "deliver:"+Key(msg))
		switch {
		case err != nil:
			// Better a rare duplicate than an answer the user never gets.
			f.cfg.Logger.Warn("late delivery not claimed; sending anyway", "rule", fw.Name, "err", err)
		case !first:
			f.cfg.Logger.Info("late answer already delivered by another try; not sending again", "rule", fw.Name)
			return
		}
	}
	if err := f.cfg.Deliverer.Deliver(ctx, openID, r.reply); err != nil {
		n := f.deliveryFail.Add(1)
		f.cfg.Logger.Error("late answer not delivered", "rule", fw.Name, "err", err, "failed_total", n)
		return
	}
	f.delivered.Add(1)
	f.cfg.Logger.Info("late answer delivered by customer-service message", "rule", fw.Name)
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
