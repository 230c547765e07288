package dedup

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	// DefaultRedisPrefix starts every key the Redis store writes.
	DefaultRedisPrefix = "dedup:"
	// DefaultRedisPoll is how often a waiting Claim reads the key again: a
	// GET every 10 ms for the seconds a retry may wait is a few hundred
	// commands per slow message.
	DefaultRedisPoll = 10 * time.Millisecond
	// DefaultRedisMaxBytes is the default reply budget: an hour-long
	// average of 100 messages a second with 1 KiB replies fits in it at
	// the default TTL.
	DefaultRedisMaxBytes = 64 << 20
	// DefaultOpTimeout bounds each Redis command, so that a stalled Redis
	// costs a message at most this much of WeChat's 5-second budget before
	// WithFallback takes over.
	DefaultOpTimeout = 300 * time.Millisecond
)

// RedisConfig configures NewRedis.
type RedisConfig struct {
	// Client is shared with the rest of the program. Each command is
	// bounded by OpTimeout through its context, which go-redis applies to
	// socket reads and writes only with ContextTimeoutEnabled; without it
	// a Redis that accepts connections but stops answering holds a command
	// for the client's ReadTimeout (5 s by default), all of WeChat's budget.
	Client redis.UniversalClient
	// Prefix starts every key (empty: DefaultRedisPrefix). Keys are
	// Prefix+"reply:"+key and Prefix+"once:"+key, one command each, so
	// they spread over a Redis Cluster's slots: a hash tag in Prefix would
	// put every message on one node.
	Prefix string
	// TTL is how long a claim, reply or Once key is kept (zero:
	// DefaultTTL); see MemoryConfig.TTL.
	TTL time.Duration
	// PollEvery is how often a waiting Claim reads again (zero:
	// DefaultRedisPoll).
	PollEvery time.Duration
	// MaxWait bounds how long a Claim waits for another instance's reply,
	// besides its ctx (zero: only ctx); see MemoryConfig.MaxWait.
	MaxWait time.Duration
	// OpTimeout bounds each command, within the caller's context (zero:
	// DefaultOpTimeout).
	OpTimeout time.Duration
	// MaxReply is the largest reply stored (zero: DefaultMaxReply); a
	// larger one is remembered as done without bytes.
	MaxReply int
	// MaxBytes bounds the reply bytes this store writes to Redis over any
	// TTL (zero: DefaultRedisMaxBytes). Every reply expires a TTL after it
	// is written, so the replies this instance keeps in Redis never hold
	// more than MaxBytes (plus what Redis has yet to reclaim of expired
	// keys), however many distinct messages arrive. A reply past the
	// budget is remembered as done without bytes: the message stays
	// claimed, so its rule still runs once, but a retry of it is answered
	// "success" (counted in Stats().OverBudget). Claims and bindings are
	// not bounded by it: about 200 bytes each; see README's Operations
	// section.
	//
	// The count is this instance's, not the fleet's: a shared counter
	// would be one more key every reply's write touches, a hot key on one
	// Cluster node, and a dependency between the write and the count that
	// Cluster cannot put in one script. A fleet of N instances keeps at
	// most N×MaxBytes of replies.
	MaxBytes int64
}

// Redis is a Store shared by every instance that uses the same Redis and
// Prefix, so that a retry landing on another instance behind the load
// balancer still gets the first try's reply. A claim sets a pending marker
// with the TTL unless the key exists, and returns what it holds, in one
// script; the reply replaces the marker with the same TTL. Values start
// with a one-byte tag, so a stored reply is the exact bytes after it.
//
// Claims go out in batches: those of concurrent messages share a pipeline
// and a round trip. Behind WithFallback the reply's write does not hold up
// the reply either: it is queued into the next batch, a round trip after
// the claim (sub-millisecond), long before WeChat's retry (5 s later); a
// retry that comes first finds the pending marker and waits, as it would
// for a slow rule. Flush waits for the queue.
//
// A claimer that dies leaves its pending marker for the TTL: retries wait
// until their context ends and answer "success" rather than run the rule
// again.
type Redis struct {
	c         redis.UniversalClient
	prefix    string
	ttl       time.Duration
	ttlMillis int64
	poll      time.Duration
	maxWait   time.Duration
	opTimeout time.Duration
	maxReply  int
	// sharded: a bound claim's two keys may live on different nodes
	// (Cluster, Ring), so they go out as a pipeline, not one script.
	sharded bool
	// loaded: a script call has succeeded, so Redis has the scripts.
	loaded atomic.Bool

	budget     window // reply bytes written over the last TTL
	overBudget atomic.Uint64
	pipe       pipe // claims and the writes a reply does not wait for, batched
}

var _ Store = (*Redis)(nil)

// NewRedis returns a Redis store. It fails without a client, or with a
// hash tag in Prefix.
func NewRedis(cfg RedisConfig) (*Redis, error) {
	if cfg.Client == nil {
		return nil, errors.New("dedup redis: no client")
	}
	if hasHashTag(cfg.Prefix) {
		return nil, fmt.Errorf("dedup redis: prefix %q has a hash tag: every key would land on one Cluster slot", cfg.Prefix)
	}
	r := &Redis{c: cfg.Client, prefix: cfg.Prefix, ttl: cfg.TTL, poll: cfg.PollEvery, maxWait: cfg.MaxWait,
		opTimeout: cfg.OpTimeout, maxReply: cfg.MaxReply}
	if r.prefix == "" {
		r.prefix = DefaultRedisPrefix
	}
	if r.ttl <= 0 {
		r.ttl = DefaultTTL
	}
	if r.poll <= 0 {
		r.poll = DefaultRedisPoll
	}
	if r.opTimeout <= 0 {
		r.opTimeout = DefaultOpTimeout
	}
	if r.maxReply <= 0 {
		r.maxReply = DefaultMaxReply
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultRedisMaxBytes
	}
	r.ttlMillis = r.ttl.Milliseconds()
	r.budget.init(cfg.MaxBytes, r.ttl, time.Now)
	r.pipe.r = r
	switch cfg.Client.(type) {
	case *redis.ClusterClient, *redis.Ring:
		r.sharded = true
	}
	return r, nil
}

// hasHashTag reports whether a Redis Cluster would hash only the part of
// s between braces: a '{' followed, later, by a '}' with something between.
func hasHashTag(s string) bool {
	open := strings.IndexByte(s, '{')
	return open >= 0 && strings.IndexByte(s[open+1:], '}') > 0
}

func (r *Redis) replyKey(key string) string { return r.prefix + "reply:" + storedKey(key) }
func (r *Redis) onceKey(key string) string  { return r.prefix + "once:" + storedKey(key) }

// bindKey names a query's binding: its digest in hex, so a binding costs
// Redis the same few dozen bytes whatever the query.
func (r *Redis) bindKey(b *Binding) string {
	return r.prefix + "bind:" + hex.EncodeToString(b.Query[:])
}

// Claim implements Store: one round trip (a script) claims key or reads
// what it holds; only a waiting Claim reads again.
func (r *Redis) Claim(ctx context.Context, key string) (bool, []byte, error) {
	return r.claim(ctx, key, nil)
}

// ClaimBound implements Binder: the binding is checked and the key claimed
// in the same round trip as Claim's: in the same script where both keys
// share a node; in Cluster, in the same batch, to both nodes at once (see
// claimCall.queue).
func (r *Redis) ClaimBound(ctx context.Context, key string, b Binding) (bool, []byte, error) {
	return r.claim(ctx, key, &b)
}

func (r *Redis) claim(ctx context.Context, key string, b *Binding) (bool, []byte, error) {
	k := r.replyKey(key)
	v, claimed, err := r.claimOnce(ctx, k, b)
	if err != nil {
		if errors.Is(err, ErrReplayed) {
			return false, nil, err
		}
		return false, nil, fmt.Errorf("dedup redis: claim: %w", err)
	}
	w := waiter{poll: r.poll, maxWait: r.maxWait}
	defer w.stop()
	for !claimed {
		reply, pending, err := decode(v)
		if !pending {
			return false, reply, err
		}
		if err := w.wait(ctx); err != nil {
			return false, nil, err
		}
		v, err = r.get(ctx, k)
		if errors.Is(err, redis.Nil) {
			// Expired since: claim it again; the binding, if any, is
			// in place.
			if v, claimed, err = r.claimOnce(ctx, k, nil); err != nil {
				return false, nil, fmt.Errorf("dedup redis: claim: %w", err)
			}
			continue
		}
		if err != nil {
			// Someone holds the claim: whether Redis failed or ctx
			// ended, running the rule here too would run it twice.
			return false, nil, fmt.Errorf("dedup redis: claim: %w: %w", ErrPending, err)
		}
	}
	return true, nil, nil
}

// Done implements Store.
func (r *Redis) Done(ctx context.Context, key string, reply []byte) error {
	if err := r.set(ctx, r.replyKey(key), r.value(reply)); err != nil {
		return fmt.Errorf("dedup redis: done: %w", err)
	}
	return nil
}

// value is what Done stores for reply: the reply, or the marker of a reply
// not kept, when it is larger than MaxReply or past the budget.
func (r *Redis) value(reply []byte) []byte {
	if len(reply) > r.maxReply {
		return []byte{tagNoReply}
	}
	if !r.budget.take(int64(1 + len(reply))) {
		r.overBudget.Add(1)
		return []byte{tagNoReply}
	}
	return append(append(make([]byte, 0, 1+len(reply)), tagReply), reply...)
}

// RedisStats is what a Redis store counts, for tests and metrics.
type RedisStats struct {
	// WindowBytes is the reply bytes written over the last TTL, against
	// the budget, MaxBytes.
	WindowBytes, MaxBytes int64
	// OverBudget counts the replies not stored because the budget was
	// spent: their messages stayed claimed, and a retry of one was (or
	// would have been) answered "success".
	OverBudget uint64
}

// Stats reports the store's counters.
func (r *Redis) Stats() RedisStats {
	used, limit := r.budget.usage()
	return RedisStats{WindowBytes: used, MaxBytes: limit, OverBudget: r.overBudget.Load()}
}

// Abandon implements Store.
func (r *Redis) Abandon(ctx context.Context, key string) error {
	if err := r.set(ctx, r.replyKey(key), []byte{tagNoReply}); err != nil {
		return fmt.Errorf("dedup redis: abandon: %w", err)
	}
	return nil
}

// Once implements Store.
func (r *Redis) Once(ctx context.Context, key string) (bool, error) {
	ok, err := r.setNX(ctx, r.onceKey(key), []byte{1})
	if err != nil {
		return false, fmt.Errorf("dedup redis: once: %w", err)
	}
	return ok, nil
}

// The commands, each bounded by OpTimeout within ctx.

func (r *Redis) setNX(ctx context.Context, k string, v []byte) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, r.opTimeout)
	defer cancel()
	return r.c.SetNX(ctx, k, v, r.ttl).Result()
}

func (r *Redis) set(ctx context.Context, k string, v []byte) error {
	ctx, cancel := context.WithTimeout(ctx, r.opTimeout)
	defer cancel()
	return r.c.Set(ctx, k, v, r.ttl).Err()
}

func (r *Redis) get(ctx context.Context, k string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, r.opTimeout)
	defer cancel()
	return r.c.Get(ctx, k).Bytes()
}
