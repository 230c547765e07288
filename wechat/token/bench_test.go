package token

import (
	"context"
	"testing"
	_ "wxoa/internal/soak" // accepts -soak (see package soak)
)

func benchManager(b *testing.B) *Manager {
	store := mustOpen(b, "memory", "access_token")
	m := mustManager(b, Config{Store: store, Fetcher: newFakeFetcher(nil)})
	if _, err := m.Token(context.Background()); err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkTokenHit is the hot path: a fresh token from the cache. It
// must stay allocation-free.
func BenchmarkTokenHit(b *testing.B) {
	m := benchManager(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Token(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTokenHitParallel(b *testing.B) {
	m := benchManager(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := m.Token(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func TestTokenHitDoesNotAllocate(t *testing.T) {
	store := mustOpen(t, "memory", "access_token")
	m := mustManager(t, Config{Store: store, Fetcher: newFakeFetcher(nil)})
	ctx := context.Background()
	if _, err := m.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { m.Token(ctx) }); n != 0 {
		t.Errorf("Token() on a fresh cached token allocates %v times; want 0", n)
	}
}
