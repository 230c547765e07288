package handlers

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"wxoa/handlers/rules"
	"wxoa/wechat"
	"wxoa/wechat/dedup"
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

// replyCache makes a retried message (same MsgId, or same sender, time and
// event) get byte-identical reply content, and makes the rule behind it run
// once, even when the retry arrives while the first try is still running
// and, with a Redis dedup store, when it lands on another instance.
//
// The first try claims the message; a retry finds the claim and waits for
// its reply, up to the reply deadline (the store's MaxWait), then answers
// "success" rather than run the rule again.
type replyCache struct {
	rules   Replier
	forward Forwarder
	store   dedup.Store
	now     func() time.Time
	log     *slog.Logger
}

func newReplyCache(r Replier, f Forwarder, store dedup.Store, now func() time.Time, log *slog.Logger) *replyCache {
	return &replyCache{rules: r, forward: f, store: store, now: now, log: log}
}

// ReplyKey is the dedup key of msg: the account (ToUserName, so that
// accounts sharing a Redis never collide) and wechat.DedupKey.
func ReplyKey(msg wechat.Message) string {
	return msg.Head().ToUserName + ":" + wechat.DedupKey(msg)
}

func (rc *replyCache) reply(ctx context.Context, msg wechat.Message) []byte {
	key := ReplyKey(msg)
	claimed, b, err := rc.store.Claim(ctx, key)
	switch {
	case err == nil && !claimed:
		return b
	case errors.Is(err, dedup.ErrPending), errors.Is(err, dedup.ErrNoReply):
		return wechat.SuccessReply
	case err != nil:
		// The store failed and could not fall back: answering without it
		// could run the rule twice, answering "success" loses one reply.
		rc.log.Error("reply dedup store failed; answering success", "err", err)
		return wechat.SuccessReply
	}
	// The reply outlives the request: a retry may be waiting for it.
	done := context.WithoutCancel(ctx)
	finished := false
	defer func() {
		if !finished { // the rule panicked: waiters answer "success"
			rc.store.Abandon(done, key)
		}
	}()
	b = rc.compute(ctx, msg)
	if err := rc.store.Done(done, key, b); err != nil {
		rc.log.Warn("reply not remembered; a retry of this message would get success", "err", err)
	}
	finished = true
	return b
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

// DefaultReplyWait is how long a retry waits for the first try's reply
// when no store is configured: REPLY_DEADLINE's default.
const DefaultReplyWait = 4500 * time.Millisecond

// DedupTTL is how long a message is remembered: twice the clock-skew window
// (a request is accepted from skew before its timestamp to skew after, so
// its replay can come 2×skew after the first try), at least two minutes;
// with the check off (0), dedup.DefaultTTL.
func DedupTTL(skew time.Duration) time.Duration {
	if skew <= 0 {
		return dedup.DefaultTTL
	}
	return max(2*skew+time.Minute, 2*time.Minute)
}
