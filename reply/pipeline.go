// Package reply owns the answer to a pushed message: the rules that pick it
// (reply/rules), the forward to a team's own endpoint under WeChat's
// 5-second rule with late answers delivered by customer-service message,
// the rendering of the passive reply, and the dedup that gives WeChat's
// retries the first answer, byte for byte, with the rule run once. It
// knows no HTTP server: the callback handler gives it a parsed message and
// writes back the bytes it returns.
package reply

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"time"

	"wxoa/reply/rules"
	"wxoa/wechat"
	"wxoa/wechat/dedup"
)

// Matcher picks the reply to a message: the rules engine, *rules.Engine.
type Matcher interface {
	Match(msg wechat.Message) (rules.Result, error)
}

// Forwarder answers a message through a team's own endpoint. A nil reply
// means "success": the answer, if any, is delivered later. ctx is the
// request's; a forward that outlives it is bounded by the forwarder itself.
type Forwarder interface {
	Forward(ctx context.Context, f *rules.Forward, msg wechat.Message) wechat.Reply
}

// Config is what a Pipeline is built from. Rules is required.
type Config struct {
	Rules     Matcher
	Forwarder Forwarder // nil: rules that forward answer success
	// Store remembers answered messages. nil: an in-process store keeping
	// each for DedupTTL(MaxClockSkew), a retry waiting up to DefaultWait.
	Store dedup.Store
	// Namespace starts every dedup key (the account's identity), so that
	// accounts sharing a Store never collide: two WeCom applications of one
	// corp receive messages addressed to the same ToUserName.
	Namespace string
	// Active, when set, is for an account that takes no passive reply (a
	// Mini Program): every message is acknowledged with "success" at once
	// and its reply is sent by customer-service message through Active,
	// once however often WeChat retries.
	Active       *Active
	MaxClockSkew time.Duration // the callback's clock-skew window; sizes the default Store
	// BindQueries makes AnswerPlain bind each signed plaintext query to the
	// first body it carried and refuse any other (ErrReplayed). It needs a
	// Store that is a dedup.Binder (all of package dedup's are).
	BindQueries bool
	Now         func() time.Time // nil: time.Now; stamps the replies
	Logger      *slog.Logger     // nil: discard
	Observer    Observer         // nil: nothing counted
}

// Observer counts what the pipeline answers (*metrics.Metrics). Its
// methods run on every message and must be cheap.
type Observer interface {
	Reply(kind string) // a reply was computed: its MsgType, or "success"
	DedupHit()         // a retry was answered with the first try's reply
}

type nopObserver struct{}

func (nopObserver) Reply(string) {}
func (nopObserver) DedupHit()    {}

// Pipeline answers pushed messages: rules, then forward, then render,
// fronted by the dedup store so that a retried message (same MsgId, or
// same sender, time and event) gets byte-identical reply content and the
// rule behind it runs once, even when the retry arrives while the first
// try is still running and, with a Redis store, when it lands on another
// instance.
//
// The first try claims the message; a retry finds the claim and waits for
// its reply, up to the reply deadline (the store's MaxWait), then answers
// "success" rather than run the rule again.
type Pipeline struct {
	rules   Matcher
	forward Forwarder
	store   dedup.Store
	ns      string
	active  *Active
	now     func() time.Time
	log     *slog.Logger
	obs     Observer
	binder  dedup.Binder // nil: AnswerPlain does not bind
}

// Active sends the replies of an account that takes no passive reply.
type Active struct {
	// Runner runs the work in the background, bounded (*HTTPForwarder).
	Runner Runner
	// Target is the account's deliverer and dedup namespace.
	Target Target
}

// Runner computes a reply in the background and sends it through t
// (*HTTPForwarder): Deliver reports false when it could not start; Ask
// forwards within such work, waiting for the endpoint as long as the rule
// allows.
type Runner interface {
	Deliver(t Target, msg wechat.Message, compute func(ctx context.Context) wechat.Reply) bool
	Ask(ctx context.Context, fw *rules.Forward, msg wechat.Message) wechat.Reply
}

// New checks cfg and returns its pipeline.
func New(cfg Config) (*Pipeline, error) {
	if cfg.Rules == nil {
		return nil, errors.New("reply: Rules are required")
	}
	if cfg.Store == nil {
		cfg.Store = dedup.NewMemory(dedup.MemoryConfig{TTL: DedupTTL(cfg.MaxClockSkew), MaxWait: DefaultWait})
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	if cfg.Active != nil && cfg.Active.Runner == nil {
		return nil, errors.New("reply: Active needs a Runner")
	}
	p := &Pipeline{rules: cfg.Rules, forward: cfg.Forwarder, store: cfg.Store, ns: cfg.Namespace, active: cfg.Active,
		now: cfg.Now, log: cfg.Logger, obs: cfg.Observer}
	if cfg.BindQueries {
		b, ok := cfg.Store.(dedup.Binder)
		if !ok {
			return nil, fmt.Errorf("reply: BindQueries needs a store that binds queries (a dedup.Binder), not %T", cfg.Store)
		}
		p.binder = b
	}
	return p, nil
}

// Key is the dedup key of msg: the account (ToUserName, so that accounts
// sharing a Redis never collide) and wechat.DedupKey.
func Key(msg wechat.Message) string { return prefixedKey("", msg) }

// prefixedKey is prefix + Key(msg) in one allocation: it is made for every
// message.
func prefixedKey(prefix string, msg wechat.Message) string {
	var buf [128]byte
	b := append(append(buf[:0], prefix...), msg.Head().ToUserName...)
	return string(wechat.AppendDedupKey(append(b, ':'), msg))
}

// Answer returns the passive reply to msg as plaintext XML, or
// wechat.SuccessReply when there is none: no rule answers, a rule failed or
// panicked, the answer comes late, or the message is a retry whose first
// try has not answered in time. It never fails: WeChat gets an answer
// either way, and what went wrong is logged.
func (p *Pipeline) Answer(ctx context.Context, msg wechat.Message) []byte {
	reply, _ := p.answer(ctx, msg, nil)
	return reply
}

// ErrReplayed is AnswerPlain's refusal: the signed query already carried
// another message. Nothing was claimed and no rule ran; answer 403.
var ErrReplayed = dedup.ErrReplayed

// AnswerPlain is Answer for a push in plaintext mode, whose signature
// covers only q's timestamp and nonce: with BindQueries, the query is
// bound to body (the raw request body) in the same store round trip as the
// message's claim, and a query that comes back with another body gets
// ErrReplayed. WeChat's retry of the message (same query, same body) is
// answered as any retry is. Encrypted modes need no binding, msg_signature
// covering the body: call Answer.
func (p *Pipeline) AnswerPlain(ctx context.Context, msg wechat.Message, q wechat.PushQuery, body []byte) ([]byte, error) {
	if p.binder == nil {
		return p.Answer(ctx, msg), nil
	}
	b := dedup.Bind(q.Timestamp, q.Nonce, q.Signature, body)
	return p.answer(ctx, msg, &b)
}

// claim claims key, bound to bind if it is set.
func (p *Pipeline) claim(ctx context.Context, key string, bind *dedup.Binding) (bool, []byte, error) {
	if bind != nil {
		return p.binder.ClaimBound(ctx, key, *bind)
	}
	return p.store.Claim(ctx, key)
}

// answer is Answer, or AnswerPlain with bind set; its only error is
// ErrReplayed.
func (p *Pipeline) answer(ctx context.Context, msg wechat.Message, bind *dedup.Binding) (reply []byte, _ error) {
	if p.active != nil {
		return p.acknowledge(ctx, msg, bind)
	}
	key := prefixedKey(p.ns, msg)
	claimed, b, err := p.claim(ctx, key, bind)
	switch {
	case errors.Is(err, dedup.ErrReplayed):
		return nil, ErrReplayed
	case err == nil && !claimed:
		p.obs.DedupHit()
		return b, nil
	case errors.Is(err, dedup.ErrPending), errors.Is(err, dedup.ErrNoReply):
		return wechat.SuccessReply, nil
	case err != nil && ctx.Err() != nil:
		// WeChat hung up during the claim: nobody reads this answer, and
		// the store did not fail (its command was cancelled), so this is
		// no error; the retry claims again.
		p.log.Debug("reply dedup claim ended with the request", "err", err)
		return wechat.SuccessReply, nil
	case err != nil:
		// The store failed and could not fall back: answering without it
		// could run the rule twice, answering "success" loses one reply.
		p.log.Error("reply dedup store failed; answering success", "err", err)
		return wechat.SuccessReply, nil
	}
	// The reply outlives the request: a retry may be waiting for it.
	done := context.WithoutCancel(ctx)
	defer func() {
		// A panicking rule must not become an HTTP 500, which WeChat
		// retries, nor leave the claim pending for its TTL: its waiters
		// and retries answer "success" and do not run it again, since it
		// may have had effects before it failed.
		if r := recover(); r != nil {
			p.log.Error("reply rule panicked; answering success", "panic", r, "stack", string(debug.Stack()))
			if err := p.store.Abandon(done, key); err != nil {
				p.log.Warn("panicked reply not marked done; a retry of this message waits, then gets success", "err", err)
			}
			p.obs.Reply(success)
			reply = wechat.SuccessReply
		}
	}()
	b, kind := p.compute(ctx, msg)
	p.obs.Reply(kind)
	if err := p.store.Done(done, key, b); err != nil {
		p.log.Warn("reply not remembered; a retry of this message would get success", "err", err)
	}
	return b, nil
}

// compute runs the rules (and the forward) and renders the reply; kind is
// its MsgType, or "success".
func (p *Pipeline) compute(ctx context.Context, msg wechat.Message) (b []byte, kind string) {
	reply, rule := p.decide(ctx, msg)
	if reply == nil {
		return wechat.SuccessReply, success
	}
	h := msg.Head()
	b, err := wechat.MarshalReply(h.FromUserName, h.ToUserName, p.now().Unix(), reply)
	if err != nil {
		p.log.Error("render reply", "rule", rule, "err", err)
		return wechat.SuccessReply, success
	}
	return b, reply.Kind()
}

// decide runs the rules (and the forward): nil means no reply.
func (p *Pipeline) decide(ctx context.Context, msg wechat.Message) (reply wechat.Reply, rule string) {
	if _, ok := msg.(*wechat.Unknown); ok && p.active == nil {
		return nil, ""
	}
	res, err := p.rules.Match(msg)
	if err != nil {
		p.log.Error("reply rule failed", "rule", res.Rule, "err", err)
		return nil, res.Rule
	}
	if res.Forward != nil {
		if p.active != nil {
			// No one waits for the answer: wait for the endpoint.
			return p.active.Runner.Ask(ctx, res.Forward, msg), res.Rule
		}
		if p.forward == nil {
			p.log.Error("rule forwards but forwarding is not configured", "rule", res.Rule)
			return nil, res.Rule
		}
		return p.forward.Forward(ctx, res.Forward, msg), res.Rule
	}
	return res.Reply, res.Rule
}

// acknowledge answers a message of an account that takes no passive
// reply: "success" at once, and the reply, computed in the background,
// sent by customer-service message. The message is claimed first (bound to
// its query in plaintext mode, as any message is) and its claim marked done
// with "success" at once, so WeChat's retries, here or on another instance,
// are answered at once and send nothing again. Unknown message types (a
// Mini Program's miniprogrampage, its user_enter_tempsession event) still
// go through the rules: a Mini Program has no other way to answer them.
func (p *Pipeline) acknowledge(ctx context.Context, msg wechat.Message, bind *dedup.Binding) ([]byte, error) {
	key := "active:" + p.ns + Key(msg)
	claimed, _, err := p.claim(ctx, key, bind)
	switch {
	case errors.Is(err, dedup.ErrReplayed):
		return nil, ErrReplayed
	case err == nil && !claimed:
		p.obs.DedupHit()
		return wechat.SuccessReply, nil
	case errors.Is(err, dedup.ErrPending), errors.Is(err, dedup.ErrNoReply):
		return wechat.SuccessReply, nil
	case err != nil:
		// Sending without a claim could answer twice; a retry claims again.
		p.log.Error("reply dedup store failed; not answering this try", "err", err)
		return wechat.SuccessReply, nil
	}
	if err := p.store.Done(context.WithoutCancel(ctx), key, wechat.SuccessReply); err != nil {
		p.log.Warn("acknowledgement not remembered; a retry of this message waits, then gets success", "err", err)
	}
	p.active.Runner.Deliver(p.active.Target, msg, func(ctx context.Context) (r wechat.Reply) {
		defer func() {
			if v := recover(); v != nil {
				p.log.Error("reply rule panicked; sending nothing", "panic", v, "stack", string(debug.Stack()))
				r = nil
			}
			kind := success
			if r != nil {
				kind = r.Kind()
			}
			p.obs.Reply(kind)
		}()
		r, _ = p.decide(ctx, msg)
		return r
	})
	return wechat.SuccessReply, nil
}

const success = "success"

// DefaultWait is how long a retry waits for the first try's reply when no
// store is configured: REPLY_DEADLINE's default.
const DefaultWait = 4500 * time.Millisecond

// DedupTTL is how long a message is remembered: twice the clock-skew window
// plus a minute, and at least two minutes; with the check off (0),
// dedup.DefaultTTL. A request is accepted from skew before its timestamp to
// skew after, so its replay can come 2×skew after the first try; the
// minute is margin on top, so that a replay at the edge of the window still
// finds the first answer when it is checked on an instance whose clock
// differs from the first try's, or after the stores' whole-second rounding.
func DedupTTL(skew time.Duration) time.Duration {
	if skew <= 0 {
		return dedup.DefaultTTL
	}
	return max(2*skew+time.Minute, 2*time.Minute)
}
