package token

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"wxoa/internal/redistest"
)

// hubPair is two "processes", each with one Hub watching n tokens that
// the two share (the file store's directory, or Redis keys): every
// account's access_token of a fleet of two.
func hubPair(t *testing.T, kind string, n int) (a, b []*Manager, f *fakeFetcher) {
	t.Helper()
	f = newFakeFetcher(nil)
	spec := Spec{Kind: KindFile, Path: filepath.Join(t.TempDir(), "state", "access_token.json")}
	if kind == "redis" {
		r, err := ParseSpec(redistest.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		spec = r
	}
	prefix := redisKey(t) // keys of their own on a Redis shared with other tests
	for range 2 {
		var client redis.UniversalClient
		if kind == "redis" {
			client = spec.Redis.NewClient()
			t.Cleanup(func() { client.Close() })
		}
		hub := NewHub(client, nil)
		t.Cleanup(func() { hub.Close() })
		ms := make([]*Manager, n)
		for i := range ms {
			tag := fmt.Sprintf("acct%03d", i)
			store, closer, err := Open(spec, Options{Name: "access_token", AppID: prefix + tag, FileTag: tag, Redis: client, Hub: hub})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { closer.Close() })
			ms[i] = mustManager(t, Config{Store: store, Fetcher: f})
		}
		if a == nil {
			a = ms
		} else {
			b = ms
		}
	}
	return a, b, f
}

// Many tokens watched through one Hub per process: a replaced token
// reaches the other process within a second, and only that token moves.
func TestHubPropagates(t *testing.T) {
	for _, kind := range []string{"file", "redis"} {
		t.Run(kind, func(t *testing.T) {
			const n = 40
			a, b, f := hubPair(t, kind, n)
			ctx := context.Background()
			first := make([]string, n)
			for i := range a {
				v, err := a[i].Token(ctx)
				if err != nil {
					t.Fatal(err)
				}
				first[i] = v
				if w, _ := b[i].Token(ctx); w != v {
					t.Fatalf("B[%d] = %q; want the shared %q", i, w, v)
				}
			}
			const moved = 17
			fresh, err := a[moved].RefreshIfCurrent(ctx, first[moved])
			if err != nil {
				t.Fatal(err)
			}
			d := propagated(t, b[moved], fresh.Value.Reveal())
			t.Logf("%s: propagated in %v through the hub", kind, d)
			if d > time.Second {
				t.Errorf("B served the new token after %v; want within 1s", d)
			}
			for i := range b {
				if v, _ := b[i].Token(ctx); i != moved && v != first[i] {
					t.Errorf("B[%d] moved to %q; only token %d was replaced", i, v, moved)
				}
			}
			if got := f.calls.Load(); got != n+1 {
				t.Errorf("upstream fetches = %d; want %d (one per token, one refresh)", got, n+1)
			}
		})
	}
}

// One Hub watches any number of tokens with a fixed number of goroutines
// of its own (besides each Manager's waiting one) and, on Redis, one
// subscription connection.
func TestHubIsShared(t *testing.T) {
	before := runtime.NumGoroutine()
	a, _, _ := hubPair(t, "redis", 60)
	for _, m := range a {
		if _, err := m.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// 2 processes × (60 managers' watchers + the hub's listener and poller).
	if got, most := runtime.NumGoroutine()-before, 2*(60+2)+20; got > most {
		t.Errorf("goroutines for 2×60 tokens = %d; want at most %d: one subscription and one poller per hub", got, most)
	}
}

// Tokens fetched together (a start-up, a Redis flush) are refreshed ahead
// of expiry spread over Spread, not all in the same second.
func TestSpreadSpreadsRefreshes(t *testing.T) {
	clock := wechattestClock()
	var first, last time.Time
	for i := range 200 {
		f := newFakeFetcher(clock)
		m := mustManager(t, Config{Store: NewMemoryStore(), Fetcher: f, Now: clock, Margin: 5 * time.Minute, Spread: 2 * time.Minute})
		if _, err := m.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
		next := m.Stats().NextRefresh
		if i == 0 || next.Before(first) {
			first = next
		}
		if next.After(last) {
			last = next
		}
		expires := m.Stats().Token.ExpiresAt
		if d := expires.Sub(next); d <= 3*time.Minute || d > 5*time.Minute {
			t.Fatalf("refresh %v before expiry; want within (margin-spread, margin]", d)
		}
	}
	if spread := last.Sub(first); spread < 90*time.Second {
		t.Errorf("200 tokens fetched at one instant refresh within %v of each other; want spread over most of 2m", spread)
	}
}

// wechattestClock is a frozen clock: every manager fetches at one instant.
func wechattestClock() func() time.Time {
	t0 := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	return func() time.Time { return t0 }
}
