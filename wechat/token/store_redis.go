package token

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"wxoa/wechat"
)

// redisLockTTL bounds how long a dead holder blocks the others. It matches
// the default FetchTimeout, the longest a live holder keeps the lock.
const redisLockTTL = 30 * time.Second

// DefaultRedisPoll is how often a Redis store's watcher compares the stored
// token's version with the last it saw: the fallback for a change message
// lost while the subscription reconnected (a Redis restart, a failover).
const DefaultRedisPoll = 500 * time.Millisecond

// redisStore shares the token among hosts. The token is a hash at key
// (value, expires_at and fetched_at in Unix microseconds, which Lua numbers
// hold exactly, and by); the refresh lock is key:lock, owned by a random
// value; every save that changes the token is published on key:changed.
// Give key a hash tag ("{wxoa:APPID}:access_token") so that the key, its
// lock and its counters live on one Cluster slot.
type redisStore struct {
	c         redis.UniversalClient
	key       string
	lockKey   string
	channel   string
	log       *slog.Logger
	opTimeout time.Duration // bounds each command, whatever the client's own timeouts
	hub       *Hub          // nil: Watch subscribes and polls by itself

	warned atomic.Pointer[string] // the corrupt record last logged
}

var (
	_ Store   = (*redisStore)(nil)
	_ Watcher = (*redisStore)(nil)
)

// NewRedisStore returns a Store kept in Redis under key, shared by every
// host that uses the same key.
func NewRedisStore(client redis.UniversalClient, key string, logger *slog.Logger) Store {
	if logger == nil {
		logger = discard()
	}
	return &redisStore{c: client, key: key, lockKey: key + ":lock", channel: key + ":changed",
		log: logger.With("store", "redis", "key", key), opTimeout: storeOpTimeout}
}

// op bounds one command by the store's deadline as well as ctx's.
func (s *redisStore) op(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.opTimeout)
}

// saveScript stores the token unless the stored one was fetched later and
// is neither untrusted at the saver's clock (fetched beyond ARGV[7] ahead
// of ARGV[6], or expiring beyond ARGV[8] after it) nor the value WeChat
// rejected (ARGV[9]; "" for none): the rule of Supersede.keeps. It
// announces a change on ARGV[5] and returns what is stored afterwards;
// comparing in Lua keeps the check, the write and the announcement atomic
// across hosts. It touches one key, so it runs on a Cluster as is.
// Timestamps are Unix microseconds, which Lua's doubles hold exactly.
var saveScript = redis.NewScript(`
local cur = redis.call('HMGET', KEYS[1], 'value', 'expires_at', 'fetched_at')
local fetched, expires = tonumber(cur[3]), tonumber(cur[2])
local now = tonumber(ARGV[6])
if cur[1] and fetched and expires and fetched > tonumber(ARGV[3])
  and fetched <= now + tonumber(ARGV[7]) and expires <= now + tonumber(ARGV[8])
  and (ARGV[9] == '' or cur[1] ~= ARGV[9]) then
  return redis.call('HMGET', KEYS[1], 'value', 'expires_at', 'fetched_at', 'by')
end
local same = cur[3] == ARGV[3] and cur[1] == ARGV[1]
redis.call('HSET', KEYS[1], 'value', ARGV[1], 'expires_at', ARGV[2], 'fetched_at', ARGV[3], 'by', ARGV[4])
if not same then
  redis.call('PUBLISH', ARGV[5], ARGV[3])
end
return {ARGV[1], ARGV[2], ARGV[3], ARGV[4]}
`)

// unlockScript deletes the lock only if we still own it: after our TTL
// ran out another host may hold it, and deleting theirs would let a third in.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

func (s *redisStore) Load(ctx context.Context) (Token, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	vals, err := s.c.HMGet(ctx, s.key, "value", "expires_at", "fetched_at", "by").Result()
	if err != nil {
		return Token{}, &StoreError{Op: "load", Err: err}
	}
	return s.parse(vals)
}

func (s *redisStore) parse(vals []any) (Token, error) {
	if len(vals) != 4 || vals[0] == nil {
		return Token{}, ErrNoToken
	}
	v, _ := vals[0].(string)
	exp, err1 := micros(vals[1])
	fetched, err2 := micros(vals[2])
	by, _ := vals[3].(string)
	if v == "" || err1 != nil || err2 != nil || exp.IsZero() {
		// Once per record, not on every Load until a fetch replaces it.
		version := fmt.Sprint(vals[1], vals[2], len(v))
		if old := s.warned.Swap(&version); old == nil || *old != version {
			s.log.Warn("token record corrupt; treating it as empty: the next fetch replaces it")
		}
		return Token{}, ErrNoToken
	}
	return Token{Value: wechat.Secret(v), ExpiresAt: exp, FetchedAt: fetched, By: by}, nil
}

func micros(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, errors.New("not a string")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	if n == 0 {
		return time.Time{}, nil
	}
	return time.UnixMicro(n), nil
}

func (s *redisStore) Save(ctx context.Context, t Token, sup Supersede) (Token, error) {
	if err := checkSavable(t); err != nil {
		return Token{}, err
	}
	var fetched int64
	if !t.FetchedAt.IsZero() {
		fetched = t.FetchedAt.UnixMicro()
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	res, err := saveScript.Run(ctx, s.c, []string{s.key},
		t.Value.Reveal(), t.ExpiresAt.UnixMicro(), fetched, t.By, s.channel,
		sup.now().UnixMicro(), clockSkew.Microseconds(), (maxLifetime + clockSkew).Microseconds(), sup.Rejected.Reveal()).Slice()
	if err != nil {
		return Token{}, &StoreError{Op: "save", Err: err}
	}
	saved, err := s.parse(res)
	if err != nil {
		return Token{}, fmt.Errorf("token redis store: save: unexpected reply")
	}
	return saved, nil
}

// Lock takes key:lock with SET NX PX. While another host holds it, Lock
// polls; if the stored token changes meanwhile (the holder saved a new one)
// it returns errTokenChanged without the lock, so the caller re-reads and
// most likely has nothing left to do.
func (s *redisStore) Lock(ctx context.Context) (func(), error) {
	var b [16]byte
	crand.Read(b[:]) // never fails (crypto/rand crashes the program instead)
	owner := hex.EncodeToString(b[:])
	before, err := s.fetchedAt(ctx)
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, s.lockErr(ctx, err)
	}
	for {
		octx, cancel := s.op(ctx)
		ok, err := s.c.SetNX(octx, s.lockKey, owner, redisLockTTL).Result()
		cancel()
		if err != nil {
			return nil, s.lockErr(ctx, err)
		}
		if ok {
			return once(func() { s.unlock(owner) }), nil
		}
		t := time.NewTimer(20*time.Millisecond + rand.N(30*time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("token redis store: lock: %w", ctx.Err())
		case <-t.C:
		}
		now, err := s.fetchedAt(ctx)
		if err == nil && now != before {
			return nil, errTokenChanged
		}
	}
}

// fetchedAt reads the stored token's version.
func (s *redisStore) fetchedAt(ctx context.Context) (string, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	return s.c.HGet(ctx, s.key, "fetched_at").Result()
}

// lockErr tells a caller that gave up (ctx) from a Redis that failed.
func (s *redisStore) lockErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("token redis store: lock: %w", ctx.Err())
	}
	return &StoreError{Op: "lock", Err: err}
}

func (s *redisStore) unlock(owner string) {
	// The caller's context may be over; releasing must still happen.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := unlockScript.Run(ctx, s.c, []string{s.lockKey}, owner).Err(); err != nil {
		s.log.Error("token redis store: unlock failed; the lock expires by itself", "err", err, "ttl", redisLockTTL)
	}
}

// CountFetch increments key:fetches:<day>, which expires after 48 hours.
func (s *redisStore) CountFetch(ctx context.Context, day string) (int64, error) {
	k := s.key + ":fetches:" + day
	ctx, cancel := s.op(ctx)
	defer cancel()
	var incr *redis.IntCmd
	_, err := s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		incr = p.Incr(ctx, k)
		p.Expire(ctx, k, 48*time.Hour)
		return nil
	})
	if err != nil {
		return 0, &StoreError{Op: "count", Err: err}
	}
	return incr.Val(), nil
}

// Watch follows key:changed, and polls the stored version (fetched_at)
// every DefaultRedisPoll in case a message was lost while the subscription
// was down; through the store's Hub, if it has one, which does both for
// every token at once. go-redis re-subscribes by itself after a reconnect.
func (s *redisStore) Watch(ctx context.Context, changed func(), probe func(error)) {
	if s.hub != nil {
		s.hub.watchRedis(ctx, s.key, s.channel, changed, probe)
		return
	}
	ps := s.c.Subscribe(ctx, s.channel)
	defer ps.Close()
	msgs := ps.Channel()
	tick := time.NewTicker(DefaultRedisPoll)
	defer tick.Stop()
	last, known := "", false
	poll := func() {
		pctx, cancel := context.WithTimeout(ctx, watchOpTimeout)
		defer cancel()
		v, err := s.c.HGet(pctx, s.key, "fetched_at").Result()
		if errors.Is(err, redis.Nil) {
			v, err = "", nil
		}
		if ctx.Err() != nil {
			return
		}
		probe(err)
		if err != nil {
			return
		}
		if known && v != last {
			changed()
		}
		last, known = v, true
	}
	poll()
	for {
		select {
		case <-ctx.Done():
			return
		case msg, ok := <-msgs:
			if !ok {
				return
			}
			if msg.Payload != last {
				last, known = msg.Payload, true
				changed()
			}
		case <-tick.C:
			poll()
		}
	}
}
