package revoke

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// opTimeout bounds each Redis command: an admin page must not hang on a
// stalled Redis.
const opTimeout = time.Second

// Redis keeps sign-outs in the Redis the fleet shares: the generation at
// PREFIX:generation, each revoked session at PREFIX:revoked:<id> until its
// cookie expires. PREFIX carries a hash tag, so a check is one pipelined
// round trip to one Cluster slot, and what is kept expires by itself.
type Redis struct {
	c      redis.UniversalClient
	prefix string
}

// DefaultRedisPrefix is the key prefix of the admin sessions' state.
const DefaultRedisPrefix = "{wxoa:admin}:"

// NewRedis returns a Redis store on c under prefix ("": DefaultRedisPrefix).
func NewRedis(c redis.UniversalClient, prefix string) *Redis {
	if prefix == "" {
		prefix = DefaultRedisPrefix
	}
	return &Redis{c: c, prefix: prefix}
}

func (r *Redis) genKey() string              { return r.prefix + "generation" }
func (r *Redis) revokedKey(id string) string { return r.prefix + "revoked:" + id }

func (r *Redis) Generation(ctx context.Context) (uint64, error) {
	g, _, err := r.Check(ctx, "")
	return g, err
}

func (r *Redis) Check(ctx context.Context, id string) (uint64, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	var gen *redis.StringCmd
	var revoked *redis.IntCmd
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		gen = p.Get(ctx, r.genKey())
		if id != "" {
			revoked = p.Exists(ctx, r.revokedKey(id))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) && !redis.HasErrorPrefix(gen.Err(), "WRONGTYPE") {
		return 0, false, err
	}
	if revoked != nil && revoked.Err() != nil {
		return 0, false, revoked.Err()
	}
	g, err := strconv.ParseUint(gen.Val(), 10, 64)
	if gen.Err() != nil || err != nil || g == 0 {
		// No generation (a new or flushed Redis): start one, unless
		// another instance just did.
		if g, err = r.start(ctx); err != nil {
			return 0, false, err
		}
	}
	return g, revoked != nil && revoked.Val() > 0, nil
}

// start sets a random generation unless a valid one is set, and returns
// the one set. What is not a generation — a non-number, 0, a key of
// another type — is replaced: SETNX would keep it, and every check would
// fail with it, signing no one in.
func (r *Redis) start(ctx context.Context) (uint64, error) {
	v, err := startScript.Run(ctx, r.c, []string{r.genKey()}, strconv.FormatUint(randomGeneration(), 10)).Text()
	if err != nil {
		return 0, err
	}
	if g, err := strconv.ParseUint(v, 10, 64); err == nil && g != 0 {
		return g, nil
	}
	return r.NewGeneration(ctx) // 20 digits past uint64
}

var startScript = redis.NewScript(`
local v = redis.pcall('GET', KEYS[1])
if type(v) == 'string' and string.match(v, '^[1-9]%d*$') and #v <= 20 then return v end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]`)

func (r *Redis) Revoke(ctx context.Context, id string, until time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	ttl := time.Until(until)
	if ttl <= 0 {
		return nil
	}
	return r.c.Set(ctx, r.revokedKey(id), "1", ttl).Err()
}

func (r *Redis) NewGeneration(ctx context.Context) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	g := randomGeneration()
	if err := r.c.Set(ctx, r.genKey(), strconv.FormatUint(g, 10), 0).Err(); err != nil {
		return 0, err
	}
	return g, nil
}
