package dedup

import (
	"cmp"
	"context"
	"fmt"

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

// claimOnce runs one claim of k: claimed, or the value k holds. With b,
// the binding is checked in the same round trip and ErrReplayed returned
// when it does not hold.
func (r *Redis) claimOnce(ctx context.Context, k string, b *Binding) (v []byte, claimed bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, r.opTimeout)
	defer cancel()
	if b != nil && r.sharded {
		return r.claimAcrossSlots(ctx, k, b)
	}
	keys, args := []string{k}, []any{r.ttlMillis}
	if b != nil {
		keys, args = append(keys, r.bindKey(b)), append(args, b.Body[:])
	}
	res, err := r.script(claimScript)(ctx, r.c, keys, args...).Result()
	if err != nil {
		return nil, false, err
	}
	r.loaded.Store(true)
	return claimResult(res)
}

// script returns how to call s: by its source until a call has
// succeeded, so that the first claims on a fresh Redis, often many at
// once, cost one round trip rather than a NOSCRIPT and a retry each; by
// its hash after (Run sends the source again if Redis lost it).
func (r *Redis) script(s *redis.Script) func(context.Context, redis.Scripter, []string, ...any) *redis.Cmd {
	if r.loaded.Load() {
		return s.Run
	}
	return s.Eval
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

// claimAcrossSlots is a bound claim on a Cluster (or Ring). Its two keys
// cannot share a script: the binding is found by the query alone and the
// claim by the message alone, so their slots differ, and a hash tag that
// put them together would put every message of the namespace on one node.
// So both go out in one pipeline, to their two nodes at once: one round
// trip, as in one script. The claim is made before the binding's answer is
// known: when the query turns out bound to another body, a claim it made
// is dropped again (asynchronously, if still pending), so a replay leaves
// nothing behind but costs Redis two writes; a retry of that message that
// saw the marker meanwhile waits and then claims it.
func (r *Redis) claimAcrossSlots(ctx context.Context, k string, b *Binding) ([]byte, bool, error) {
	bk := r.bindKey(b)
	var bind, claim *redis.Cmd
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		bindCall, claimCall := bindScript.EvalSha, claimScript.EvalSha
		if !r.loaded.Load() {
			bindCall, claimCall = bindScript.Eval, claimScript.Eval
		}
		bind = bindCall(ctx, p, []string{bk}, r.ttlMillis, b.Body[:])
		claim = claimCall(ctx, p, []string{k}, r.ttlMillis)
		return nil
	})
	// A node that lost its scripts (restarted, failed over) gets the
	// source; a command that did run is not run again.
	if redis.HasErrorPrefix(bind.Err(), "NOSCRIPT") {
		bind = bindScript.Eval(ctx, r.c, []string{bk}, r.ttlMillis, b.Body[:])
	}
	if redis.HasErrorPrefix(claim.Err(), "NOSCRIPT") {
		claim = claimScript.Eval(ctx, r.c, []string{k}, r.ttlMillis)
	}
	if bind.Err() == nil && claim.Err() == nil {
		r.loaded.Store(true)
	}
	if bind.Err() != nil || claim.Err() != nil {
		if claim.Err() == nil {
			r.dropIfClaimed(k, claim.Val())
		}
		return nil, false, cmp.Or(bind.Err(), claim.Err(), err)
	}
	v, claimed, err := claimResult(claim.Val())
	if err != nil {
		return nil, false, err
	}
	if bound, _ := bind.Val().(int64); bound != 1 {
		r.dropIfClaimed(k, claim.Val())
		return nil, false, ErrReplayed
	}
	return v, claimed, nil
}

// dropIfClaimed queues the removal of a claim that claimScript's answer res
// says this call made but must not keep.
func (r *Redis) dropIfClaimed(k string, res any) {
	if n, ok := res.(int64); ok && n == 1 {
		r.later.add(write{key: k, unclaim: true})
	}
}
