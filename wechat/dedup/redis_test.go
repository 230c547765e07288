package dedup

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"wxoa/internal/redistest"
)

// client returns a client of its own for url, as each instance of the
// service has, closed on cleanup.
func client(t *testing.T, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("redis URL: %v", err)
	}
	opts.ContextTimeoutEnabled = true
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

// testPrefix keeps tests apart on a shared REDIS_URL.
func testPrefix(t *testing.T) string {
	var b [4]byte
	rand.Read(b[:])
	return "dedup-test:" + hex.EncodeToString(b[:]) + ":"
}

// twoInstances returns two Redis stores on separate clients of one Redis,
// as two instances behind a load balancer have, and a third client to look
// at the keys.
func twoInstances(t *testing.T, cfg RedisConfig) (a, b *Redis, raw *redis.Client) {
	t.Helper()
	url := redistest.URL(t)
	cfg.Prefix = testPrefix(t)
	if cfg.PollEvery == 0 {
		cfg.PollEvery = 2 * time.Millisecond
	}
	stores := make([]*Redis, 2)
	for i := range stores {
		cfg.Client = client(t, url)
		s, err := NewRedis(cfg)
		if err != nil {
			t.Fatal(err)
		}
		stores[i] = s
	}
	raw = client(t, url)
	if err := raw.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis not answering: %v", err)
	}
	t.Cleanup(func() { // a shared REDIS_URL outlives the test
		ctx := context.Background()
		keys, _ := raw.Keys(ctx, cfg.Prefix+"*").Result()
		if len(keys) > 0 {
			raw.Del(ctx, keys...)
		}
	})
	return stores[0], stores[1], raw
}

func TestRedisRetryOnOtherInstance(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		key   string
		reply []byte
	}{
		{"text reply", "msg:1", []byte("<xml><Content><![CDATA[hi]]></Content></xml>")},
		{"binary, tag bytes first", "msg:2", fill(300, 1)},
		{"empty", "msg:3", []byte{}},
		{"forward answer 70 KB", "msg:4", fill(70_000, 2)},
		{"long key", "evt:" + strings.Repeat("u", 60_000) + ":1:CLICK:k", fill(300, 3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b, raw := twoInstances(t, RedisConfig{})
			if ok, _, err := a.Claim(ctx, tt.key); !ok || err != nil {
				t.Fatalf("A: Claim = %v, %v; want true, nil", ok, err)
			}
			time.AfterFunc(30*time.Millisecond, func() { a.Done(ctx, tt.key, tt.reply) })
			// B's retry arrives while A still computes: it waits.
			if ok, got, err := b.Claim(ctx, tt.key); ok || err != nil || !bytes.Equal(got, tt.reply) {
				t.Fatalf("B: waiting Claim = %v, %d bytes, %v; want A's %d bytes", ok, len(got), err, len(tt.reply))
			}
			// A later retry gets them at once.
			if ok, got, err := b.Claim(ctx, tt.key); ok || err != nil || !bytes.Equal(got, tt.reply) {
				t.Fatalf("B: Claim after Done = %v, %d bytes, %v; want A's %d bytes", ok, len(got), err, len(tt.reply))
			}
			keys, err := raw.Keys(ctx, a.prefix+"*").Result()
			if err != nil || len(keys) != 1 {
				t.Fatalf("keys = %q, %v; want one", keys, err)
			}
			if len(keys[0]) > len(a.prefix)+len("reply:")+maxPlainKey+1 {
				t.Errorf("key is %d bytes; want long keys stored as their digest", len(keys[0]))
			}
		})
	}
}

func TestRedisWaiter(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		finish func(s *Redis, key string) // what the claimer does; nil: nothing
		want   error
	}{
		{"claimer still running", nil, ErrPending},
		{"reply too large", func(s *Redis, key string) { s.Done(ctx, key, fill(2000, 1)) }, ErrNoReply},
		{"claimer abandoned", func(s *Redis, key string) { s.Abandon(ctx, key) }, ErrNoReply},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b, _ := twoInstances(t, RedisConfig{MaxReply: 1000})
			if ok, _, err := a.Claim(ctx, "msg:7"); !ok || err != nil {
				t.Fatalf("A: Claim = %v, %v; want true, nil", ok, err)
			}
			if tt.finish != nil {
				time.AfterFunc(20*time.Millisecond, func() { tt.finish(a, "msg:7") })
			}
			wctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
			defer cancel()
			ok, reply, err := b.Claim(wctx, "msg:7")
			if ok || reply != nil || !errors.Is(err, tt.want) {
				t.Errorf("B: Claim = %v, %q, %v; want false, nil, %v", ok, reply, err, tt.want)
			}
		})
	}
}

func TestRedisConcurrentClaimsOneRunner(t *testing.T) {
	a, b, _ := twoInstances(t, RedisConfig{})
	claimRace(t, 40, a, b)
}

func TestRedisOnceAcrossInstances(t *testing.T) {
	a, b, _ := twoInstances(t, RedisConfig{})
	onceRace(t, a, b)
}

func TestRedisEveryKeyExpires(t *testing.T) {
	ctx := context.Background()
	a, _, raw := twoInstances(t, RedisConfig{TTL: time.Minute})
	a.Claim(ctx, "msg:pending")
	a.Claim(ctx, "msg:done")
	a.Done(ctx, "msg:done", []byte("r"))
	a.Claim(ctx, "msg:abandoned")
	a.Abandon(ctx, "msg:abandoned")
	a.Done(ctx, "msg:too-large", fill(DefaultMaxReply+1, 1))
	a.Once(ctx, "msg:once")
	keys, err := raw.Keys(ctx, a.prefix+"*").Result()
	if err != nil || len(keys) != 5 {
		t.Fatalf("keys = %q, %v; want 5", keys, err)
	}
	for _, k := range keys {
		ttl, err := raw.PTTL(ctx, k).Result()
		if err != nil || ttl <= 0 || ttl > time.Minute {
			t.Errorf("PTTL(%q) = %v, %v; want in (0, 1m]", k, ttl, err)
		}
	}
}

func TestNewRedisConfig(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { c.Close() })
	tests := []struct {
		name    string
		cfg     RedisConfig
		wantErr bool
	}{
		{"defaults", RedisConfig{Client: c}, false},
		{"account prefix", RedisConfig{Client: c, Prefix: "wxoa:gh_123:dedup:"}, false},
		{"empty braces are no tag", RedisConfig{Client: c, Prefix: "a{}b:"}, false},
		{"no client", RedisConfig{}, true},
		{"hash tag", RedisConfig{Client: c, Prefix: "{wxoa}:dedup:"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewRedis(tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Errorf("NewRedis(%+v) error = %v; want error %v", tt.cfg, err, tt.wantErr)
			}
		})
	}
}
