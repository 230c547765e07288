package dedup

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"wxoa/internal/redistest"
)

// boundPair is two Binders that should agree on bindings, as two
// instances behind a load balancer, and how to list what one holds.
type boundPair struct {
	a, b Binder
	keys func(t *testing.T) []string // nil: not inspectable
}

func redisPair(t *testing.T, newClient func(t *testing.T) redis.UniversalClient) boundPair {
	t.Helper()
	prefix := testPrefix(t)
	var stores [2]*Redis
	for i := range stores {
		s, err := NewRedis(RedisConfig{Client: newClient(t), Prefix: prefix, PollEvery: 2 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		stores[i] = s
	}
	raw := newClient(t)
	return boundPair{a: stores[0], b: stores[1], keys: func(t *testing.T) []string {
		t.Helper()
		for _, s := range stores {
			s.Flush(context.Background()) // the removal of a claim made in vain
		}
		var mu sync.Mutex // ForEachMaster scans the masters at once
		var keys []string
		scan := func(ctx context.Context, c *redis.Client) error {
			k, err := c.Keys(ctx, prefix+"*").Result()
			mu.Lock()
			keys = append(keys, k...)
			mu.Unlock()
			return err
		}
		var err error
		if cc, ok := raw.(*redis.ClusterClient); ok {
			err = cc.ForEachMaster(context.Background(), scan)
		} else {
			err = scan(context.Background(), raw.(*redis.Client))
		}
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}}
}

func bindPairs() []struct {
	name string
	pair func(t *testing.T) boundPair
} {
	return []struct {
		name string
		pair func(t *testing.T) boundPair
	}{
		{"memory", func(t *testing.T) boundPair {
			m := NewMemory(MemoryConfig{Bytes: MinMemoryBytes, PollEvery: time.Millisecond})
			return boundPair{a: m, b: m}
		}},
		{"redis, two instances", func(t *testing.T) boundPair {
			url := redistest.URL(t)
			return redisPair(t, func(t *testing.T) redis.UniversalClient { return client(t, url) })
		}},
		{"redis cluster, two instances", func(t *testing.T) boundPair {
			cl := redistest.StartCluster(t, 3)
			return redisPair(t, func(t *testing.T) redis.UniversalClient { return cl.Client(t) })
		}},
		{"redis sentinel, two instances", func(t *testing.T) boundPair {
			sent := redistest.StartSentinel(t)
			return redisPair(t, func(t *testing.T) redis.UniversalClient { return sent.Client(t) })
		}},
		{"fallback, redis down", func(t *testing.T) boundPair {
			srv := redistest.Start(t)
			r, err := NewRedis(RedisConfig{Client: client(t, srv.URL()), OpTimeout: 100 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			srv.Stop()
			s := WithFallback(r, NewMemory(MemoryConfig{Bytes: MinMemoryBytes, PollEvery: time.Millisecond}), nil)
			return boundPair{a: s, b: s}
		}},
	}
}

// One signed query carries one message: the first body binds it, a retry
// of that body gets the first answer, any other body is refused without a
// claim, on either instance.
func TestClaimBoundRefusesAnotherBody(t *testing.T) {
	ctx := context.Background()
	const query, sig = "1700000000", "0123456789abcdef0123456789abcdef01234567"
	first := Bind(query, "captured", sig, []byte("<xml>first</xml>"))
	for _, tt := range bindPairs() {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.pair(t)
			if ok, _, err := p.a.ClaimBound(ctx, "msg:1", first); !ok || err != nil {
				t.Fatalf("first ClaimBound = %v, %v; want claimed", ok, err)
			}
			if err := p.a.Done(ctx, "msg:1", []byte("answer")); err != nil {
				t.Fatal(err)
			}
			for i, body := range []string{"<xml>second</xml>", "<xml>third</xml>", ""} {
				forged := Bind(query, "captured", sig, []byte(body))
				for _, s := range []Binder{p.a, p.b} {
					if ok, reply, err := s.ClaimBound(ctx, "msg:"+body, forged); ok || reply != nil || !errors.Is(err, ErrReplayed) {
						t.Errorf("body %d on the bound query = %v, %q, %v; want ErrReplayed", i+2, ok, reply, err)
					}
				}
			}
			if ok, reply, err := p.b.ClaimBound(ctx, "msg:1", first); ok || err != nil || string(reply) != "answer" {
				t.Errorf("retry of the first body = %v, %q, %v; want the first answer", ok, reply, err)
			}
			if p.keys != nil {
				// The claim and the binding: the refused bodies left nothing.
				if keys := p.keys(t); len(keys) != 2 {
					t.Errorf("keys = %q; want the first message's claim and its query's binding", keys)
				}
			}
			// Nothing was claimed for the refused bodies: their messages,
			// on a query of their own, are new.
			other := Bind(query, "other nonce", sig, []byte("<xml>second</xml>"))
			if ok, _, err := p.b.ClaimBound(ctx, "msg:<xml>second</xml>", other); !ok || err != nil {
				t.Errorf("the second body on its own query = %v, %v; want claimed", ok, err)
			}
		})
	}
}

// A binding expires with the claims, after the store's TTL.
func TestRedisBindingExpiresWithTTL(t *testing.T) {
	ctx := context.Background()
	a, _, raw := twoInstances(t, RedisConfig{TTL: time.Minute})
	b := Bind("1700000000", "n", "sig", []byte("body"))
	a.ClaimBound(ctx, "msg:1", b)
	keys, err := raw.Keys(ctx, a.prefix+"bind:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("binding keys = %q, %v; want one", keys, err)
	}
	ttl, err := raw.PTTL(ctx, keys[0]).Result()
	if err != nil || ttl <= 0 || ttl > time.Minute {
		t.Errorf("PTTL(binding) = %v, %v; want in (0, 1m]", ttl, err)
	}
	if v, _ := raw.Get(ctx, keys[0]).Bytes(); !bytes.Equal(v, b.Body[:]) {
		t.Errorf("binding holds %x; want the body's 16-byte digest %x", v, b.Body)
	}
}

// A query bound on the fallback while Redis was down stays bound once
// Redis is back, and one bound on Redis stays bound while it is down.
func TestFallbackKeepsBindingsAcrossOutage(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	c := client(t, srv.URL())
	r, err := NewRedis(RedisConfig{Client: c, Prefix: testPrefix(t), OpTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s := WithFallback(r, NewMemory(MemoryConfig{Bytes: MinMemoryBytes}), nil)
	before := Bind("1", "before", "s", []byte("one"))
	if ok, _, err := s.ClaimBound(ctx, "msg:1", before); !ok || err != nil {
		t.Fatalf("ClaimBound with Redis up = %v, %v", ok, err)
	}
	s.Done(ctx, "msg:1", []byte("r1"))
	s.Close()
	srv.Stop()
	during := Bind("2", "during", "s", []byte("two"))
	if ok, _, err := s.ClaimBound(ctx, "msg:2", during); !ok || err != nil {
		t.Fatalf("ClaimBound with Redis down = %v, %v", ok, err)
	}
	s.Done(ctx, "msg:2", []byte("r2"))
	if _, _, err := s.ClaimBound(ctx, "msg:x", Bind("1", "before", "s", []byte("forged"))); !errors.Is(err, ErrReplayed) {
		t.Errorf("query bound before the outage, other body, Redis down = %v; want ErrReplayed", err)
	}
	srv.Restart()
	eventually(t, "the client to reconnect", func() bool { return c.Ping(ctx).Err() == nil })
	s.downUntil.Store(0)
	if _, _, err := s.ClaimBound(ctx, "msg:y", Bind("2", "during", "s", []byte("forged"))); !errors.Is(err, ErrReplayed) {
		t.Errorf("query bound during the outage, other body, Redis back = %v; want ErrReplayed", err)
	}
}
