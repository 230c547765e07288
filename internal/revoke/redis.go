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
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, false, err
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

// start sets a random generation if none is set, and returns the one set.
func (r *Redis) start(ctx context.Context) (uint64, error) {
	g := randomGeneration()
	if _, err := r.c.SetNX(ctx, r.genKey(), strconv.FormatUint(g, 10), 0).Result(); err != nil {
		return 0, err
	}
	v, err := r.c.Get(ctx, r.genKey()).Uint64()
	return v, err
}

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
