package handlers

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/patrickmn/go-cache"

	"wxoa/handlers/rules"
	"wxoa/wechat"
)

// Replier picks the reply to a message (the rules engine).
type Replier interface {
	Match(msg wechat.Message) (rules.Result, error)
}

// Forwarder answers a message through a team's own endpoint. A nil reply
// means "success": the answer, if any, is delivered later. ctx is the
// request's; a forward that outlives it is bounded by the forwarder itself.
type Forwarder interface {
	Forward(ctx context.Context, f *rules.Forward, msg wechat.Message) wechat.Reply
}

// replyTTL covers WeChat's retries: three more tries, 5 s apart, with room
// for slow networks.
const replyTTL = time.Minute

// replyCache makes a retried message (same MsgId, or same sender, time and
// event) get byte-identical reply content, and makes the rule behind it run
// once even when the retry arrives while the first try is still running.
//
// The first try claims the message with go-cache's insert-if-absent (Add);
// a retry finds the claim and waits for its reply. One cache operation per
// new message: this is on every callback's path.
type replyCache struct {
	rules   Replier
	forward Forwarder
	seen    *cache.Cache // DedupKey → *pendingReply
	now     func() time.Time
	log     *slog.Logger
}

// pendingReply is a claimed message. Its claimer holds mu until reply is
// set; a retry waits by taking mu. (A channel would cost one more
// allocation per message for a wait that almost never happens.)
type pendingReply struct {
	mu    sync.Mutex
	reply []byte
}

func newReplyCache(r Replier, f Forwarder, now func() time.Time, log *slog.Logger) *replyCache {
	return &replyCache{rules: r, forward: f, seen: cache.New(replyTTL, replyTTL), now: now, log: log}
}

func (rc *replyCache) reply(ctx context.Context, msg wechat.Message) []byte {
	key := wechat.DedupKey(msg)
	p := &pendingReply{}
	p.mu.Lock()
	for rc.seen.Add(key, p, cache.DefaultExpiration) != nil {
		v, ok := rc.seen.Get(key)
		if !ok {
			continue // expired between Add and Get: claim it again
		}
		// The first try is bounded by the rules (fast) or the forward
		// deadline (under 5 s), so this wait is too.
		first := v.(*pendingReply)
		first.mu.Lock()
		defer first.mu.Unlock()
		return first.reply
	}
	rc.fill(ctx, msg, p)
	return p.reply
}

// fill computes the reply and releases the retries waiting for it, also
// when a rule panics (they then get "success").
func (rc *replyCache) fill(ctx context.Context, msg wechat.Message, p *pendingReply) {
	defer p.mu.Unlock()
	p.reply = wechat.SuccessReply
	p.reply = rc.compute(ctx, msg)
}

func (rc *replyCache) compute(ctx context.Context, msg wechat.Message) []byte {
	if _, ok := msg.(*wechat.Unknown); ok {
		return wechat.SuccessReply
	}
	res, err := rc.rules.Match(msg)
	if err != nil {
		rc.log.Error("reply rule failed", "rule", res.Rule, "err", err)
		return wechat.SuccessReply
	}
	reply := res.Reply
	if res.Forward != nil {
		if rc.forward == nil {
			rc.log.Error("rule forwards but forwarding is not configured", "rule", res.Rule)
			return wechat.SuccessReply
		}
		reply = rc.forward.Forward(ctx, res.Forward, msg)
	}
	if reply == nil {
		return wechat.SuccessReply
	}
	h := msg.Head()
	b, err := wechat.MarshalReply(h.FromUserName, h.ToUserName, rc.now().Unix(), reply)
	if err != nil {
		rc.log.Error("render reply", "rule", res.Rule, "err", err)
		return wechat.SuccessReply
	}
	return b
}
