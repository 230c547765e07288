package token

import (
	"crypto/rand"
	"testing"

	"github.com/redis/go-redis/v9"

	"wxoa/internal/redistest"
)

// mustRedis returns a client for a real Redis: REDIS_URL if set, else a
// redis-server started on a free 127.0.0.1 port and killed on cleanup.
// Without either, the test is skipped locally and fails in CI.
func mustRedis(t testing.TB) redis.UniversalClient {
	t.Helper()
	return redistest.Client(t)
}

// redisKey is a key no other test or earlier run (with a shared REDIS_URL)
// has used.
func redisKey(t testing.TB) string {
	return "{wxoatest:" + rand.Text()[:8] + "}:" + t.Name()
}

// mustOpen parses spec and opens the store for name, closing it on cleanup.
func mustOpen(tb testing.TB, spec, name string) Store {
	tb.Helper()
	s, err := ParseSpec(spec)
	if err != nil {
		tb.Fatalf("ParseSpec(%q) = %v", spec, err)
	}
	st, c, err := Open(s, Options{Name: name, AppID: "wxtest"})
	if err != nil {
		tb.Fatalf("Open(%q, %q) = %v", spec, name, err)
	}
	tb.Cleanup(func() { c.Close() })
	return st
}
