package dedup

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
}

// Redis is a Store shared by every instance that uses the same Redis and
// Prefix, so that a retry landing on another instance behind the load
// balancer still gets the first try's reply. A claim is SET NX PX with a
// pending marker; the reply replaces it with the same TTL. Values start
// with a one-byte tag, so a stored reply is the exact bytes after it.
//
// A claimer that dies leaves its pending marker for the TTL: retries wait
// until their context ends and answer "success" rather than run the rule
// again.
type Redis struct {
	c         redis.UniversalClient
	prefix    string
	ttl       time.Duration
	poll      time.Duration
	maxWait   time.Duration
	opTimeout time.Duration
	maxReply  int
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

// Claim implements Store.
func (r *Redis) Claim(ctx context.Context, key string) (bool, []byte, error) {
	k := r.replyKey(key)
	w := waiter{poll: r.poll, maxWait: r.maxWait}
	defer w.stop()
	for {
		ok, err := r.setNX(ctx, k, []byte{tagPending})
		if err != nil {
			return false, nil, fmt.Errorf("dedup redis: claim: %w", err)
		}
		if ok {
			return true, nil, nil
		}
		for {
			v, err := r.get(ctx, k)
			if errors.Is(err, redis.Nil) {
				break // expired since SET NX: claim it again
			}
			if err != nil {
				// Someone holds the claim: whether Redis failed or ctx
				// ended, running the rule here too would run it twice.
				return false, nil, fmt.Errorf("dedup redis: claim: %w: %w", ErrPending, err)
			}
			reply, pending, err := decode(v)
			if !pending {
				return false, reply, err
			}
			if err := w.wait(ctx); err != nil {
				return false, nil, err
			}
		}
	}
}

// Done implements Store.
func (r *Redis) Done(ctx context.Context, key string, reply []byte) error {
	v := []byte{tagNoReply}
	if len(reply) <= r.maxReply {
		v = append(append(make([]byte, 0, 1+len(reply)), tagReply), reply...)
	}
	if err := r.set(ctx, r.replyKey(key), v); err != nil {
		return fmt.Errorf("dedup redis: done: %w", err)
	}
	return nil
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
