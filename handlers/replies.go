package handlers

import (
	"context"
	"log/slog"
	"time"

	"github.com/patrickmn/go-cache"
	"golang.org/x/sync/singleflight"

	"wxoa/handlers/rules"
	"wxoa/wechat"
)

// Replier picks the reply to a message (the rules engine).
type Replier interface {
	Match(msg wechat.Message) (rules.Result, error)
}

// Forwarder answers a message through a team's own endpoint. A nil reply
// means "success": the answer, if any, is delivered later.
type Forwarder interface {
	Forward(ctx context.Context, f *rules.Forward, msg wechat.Message) wechat.Reply
}

// replyTTL covers WeChat's retries: three more tries, 5 s apart, with room
// for slow networks.
const replyTTL = time.Minute

// replyCache makes a retried message (same MsgId, or same sender, time and
// event) get byte-identical reply content, and makes the rule behind it run
// once even when the retry arrives while the first try is still running.
type replyCache struct {
	rules    Replier
	forward  Forwarder
	done     *cache.Cache
	inflight singleflight.Group
	now      func() time.Time
	log      *slog.Logger
}

func newReplyCache(r Replier, f Forwarder, now func() time.Time, log *slog.Logger) *replyCache {
	return &replyCache{rules: r, forward: f, done: cache.New(replyTTL, replyTTL), now: now, log: log}
}

func (rc *replyCache) reply(ctx context.Context, msg wechat.Message) []byte {
	key := wechat.DedupKey(msg)
	if b, ok := rc.done.Get(key); ok {
		return b.([]byte)
	}
	v, _, _ := rc.inflight.Do(key, func() (any, error) {
		if b, ok := rc.done.Get(key); ok {
			return b, nil
		}
		b := rc.compute(ctx, msg)
		rc.done.SetDefault(key, b)
		return b, nil
	})
	return v.([]byte)
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
		// The forward outlives this request when it is late; it gets its own
		// context from the forwarder.
		reply = rc.forward.Forward(context.WithoutCancel(ctx), res.Forward, msg)
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
