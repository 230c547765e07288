package dedup

import (
	"cmp"
	"context"
	"fmt"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// claimScript claims KEYS[1] (a pending marker, for ARGV[1] ms) or returns
// what it holds; with KEYS[2], it first binds that query to the body
// digest ARGV[2], or returns 0 if the query is bound to another body, then
// touches nothing else. Returns 1 when claimed.
var claimScript = redis.NewScript(`
if KEYS[2] then
  local b = redis.call('GET', KEYS[2])
  if not b then
    redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[1])
  elseif b ~= ARGV[2] then
    return 0
  end
end
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], 'p', 'PX', ARGV[1])
return 1`)

// bindScript is claimScript's binding alone, for Cluster: binds KEYS[1] to
// ARGV[2] for ARGV[1] ms, returning 1, or 0 if bound to another body.
var bindScript = redis.NewScript(`
local b = redis.call('GET', KEYS[1])
if not b then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[1])
  return 1
end
if b == ARGV[2] then return 1 end
return 0`)

// unclaimScript drops KEYS[1] if it still holds a pending marker: the
// claim a replayed query made in Cluster before its binding said no.
var unclaimScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == 'p' then return redis.call('DEL', KEYS[1]) end
return 0`)

// claimCall is one claim waiting in the pipe for its batch.
type claimCall struct {
	k     string
	bind  Binding
	bound bool

	claim, bound1 *redis.Cmd // the commands in the batch; bound1 in Cluster only
	done          chan struct{}
	v             []byte
	claimed       bool
	err           error
	// state: callWaiting, then callAnswered (finish got there first) or
	// callAbandoned (its caller stopped waiting first).
	state atomic.Int32
}

const (
	callWaiting int32 = iota
	callAnswered
	callAbandoned
)

// claimOnce runs one claim of k: claimed, or the value k holds. With b,
// the binding is checked in the same round trip and ErrReplayed returned
// when it does not hold. The claim goes out in the pipe's next batch,
// with the claims and writes of every other message queued meanwhile: one
// round trip for this message, and under load one for many (go-redis
// would otherwise give each concurrent claim a connection and a round
// trip of its own, which costs Redis and this process a read and a write
// call each; see bench/redisclients).
func (r *Redis) claimOnce(ctx context.Context, k string, b *Binding) (v []byte, claimed bool, err error) {
	c := &claimCall{k: k, done: make(chan struct{})}
	if b != nil {
		c.bind, c.bound = *b, true
	}
	ctx, cancel := context.WithTimeout(ctx, r.opTimeout)
	defer cancel()
	r.pipe.add(c, write{})
	select {
	case <-c.done:
		return c.v, c.claimed, c.err
	case <-ctx.Done():
		if c.state.CompareAndSwap(callWaiting, callAbandoned) {
			// The batch may still claim k: finish then drops the marker,
			// which no one would finish, so that a retry claims it.
			return nil, false, ctx.Err()
		}
		<-c.done // answered meanwhile: the claim is this caller's
		return c.v, c.claimed, c.err
	}
}

// queue puts c's commands in the batch p. Until a script call has
// succeeded they carry the script's source, so that the first claims on a
// fresh Redis, often many at once, cost one round trip rather than a
// NOSCRIPT and a retry each; then its hash.
func (c *claimCall) queue(ctx context.Context, r *Redis, p redis.Pipeliner) {
	call := func(s *redis.Script, keys []string, args ...any) *redis.Cmd {
		if r.loaded.Load() {
			return s.EvalSha(ctx, p, keys, args...)
		}
		return s.Eval(ctx, p, keys, args...)
	}
	switch {
	case !c.bound:
		c.claim = call(claimScript, []string{c.k}, r.ttlMillis)
	case r.sharded:
		// The binding is found by the query alone and the claim by the
		// message alone, so their slots differ: one script cannot hold
		// both, and a hash tag that put them together would put every
		// message of the namespace on one node. Both go in the batch,
		// to their two nodes at once: still one round trip.
		c.bound1 = call(bindScript, []string{r.bindKey(&c.bind)}, r.ttlMillis, c.bind.Body[:])
		c.claim = call(claimScript, []string{c.k}, r.ttlMillis)
	default:
		c.claim = call(claimScript, []string{c.k, r.bindKey(&c.bind)}, r.ttlMillis, c.bind.Body[:])
	}
}

// finish reads c's answers once its batch is back, and releases its
// caller. A command that met NOSCRIPT (a node that lost its scripts:
// restarted, failed over) is sent again with the source, alone.
func (c *claimCall) finish(ctx context.Context, r *Redis) {
	defer func() {
		if !c.state.CompareAndSwap(callWaiting, callAnswered) && c.claimed {
			r.dropIfClaimed(c.k, c.claim.Val())
		}
		close(c.done)
	}()
	if redis.HasErrorPrefix(c.claim.Err(), "NOSCRIPT") {
		c.claim = r.reclaim(ctx, c)
	}
	if c.bound1 != nil && redis.HasErrorPrefix(c.bound1.Err(), "NOSCRIPT") {
		c.bound1 = bindScript.Eval(ctx, r.c, []string{r.bindKey(&c.bind)}, r.ttlMillis, c.bind.Body[:])
	}
	var bindErr error
	if c.bound1 != nil {
		bindErr = c.bound1.Err()
	}
	if err := cmp.Or(bindErr, c.claim.Err()); err != nil {
		if c.claim.Err() == nil {
			r.dropIfClaimed(c.k, c.claim.Val()) // the binding failed: no claim without it
		}
		c.err = err
		return
	}
	r.loaded.Store(true)
	c.v, c.claimed, c.err = claimResult(c.claim.Val())
	if c.err == nil && c.bound1 != nil {
		if ok, _ := c.bound1.Val().(int64); ok != 1 {
			// A replay: drop the claim it made before its binding said no,
			// so it leaves nothing behind (it cost Redis two writes); a
			// retry of that message that saw the marker meanwhile waits,
			// then claims it.
			r.dropIfClaimed(c.k, c.claim.Val())
			c.v, c.claimed, c.err = nil, false, ErrReplayed
		}
	}
}

// reclaim sends c's claim again, alone, with the script's source.
func (r *Redis) reclaim(ctx context.Context, c *claimCall) *redis.Cmd {
	if c.bound && !r.sharded {
		return claimScript.Eval(ctx, r.c, []string{c.k, r.bindKey(&c.bind)}, r.ttlMillis, c.bind.Body[:])
	}
	return claimScript.Eval(ctx, r.c, []string{c.k}, r.ttlMillis)
}

// claimResult reads claimScript's answer.
func claimResult(res any) (v []byte, claimed bool, err error) {
	switch res := res.(type) {
	case int64:
		if res == 0 {
			return nil, false, ErrReplayed
		}
		return nil, true, nil
	case string:
		return []byte(res), false, nil
	}
	return nil, false, fmt.Errorf("unexpected script answer %T", res)
}

// dropIfClaimed queues the removal of a claim that claimScript's answer res
// says this call made but must not keep.
func (r *Redis) dropIfClaimed(k string, res any) {
	if n, ok := res.(int64); ok && n == 1 {
		r.pipe.add(nil, write{key: k, unclaim: true})
	}
}
