package token

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// twoHosts returns two Managers sharing one Redis key through their own
// caches, as two hosts would, and one fetcher counting upstream calls.
func twoHosts(t *testing.T) (a, b *Manager, f *fakeFetcher, key string) {
	c := mustRedis(t)
	key = redisKey(t)
	f = newFakeFetcher(nil)
	a = mustManager(t, Config{Store: NewCachedStore(NewRedisStore(c, key, nil)), Fetcher: f})
	b = mustManager(t, Config{Store: NewCachedStore(NewRedisStore(c, key, nil)), Fetcher: f})
	return a, b, f, key
}

func TestRedisTwoManagersFetchOnce(t *testing.T) {
	a, b, f, _ := twoHosts(t)
	release := f.hold()
	const n = 100
	got := make([]string, 2*n)
	errs := make([]error, 2*n)
	var wg sync.WaitGroup
	for i := range 2 * n {
		m := a
		if i%2 == 1 {
			m = b
		}
		wg.Go(func() { got[i], errs[i] = m.Token(context.Background()) })
	}
	eventually(t, "the fetch to start", func() bool { return f.calls.Load() == 1 })
	time.Sleep(100 * time.Millisecond) // let the other host reach its lock wait
	release()
	wg.Wait()
	if c := f.calls.Load(); c != 1 {
		t.Errorf("upstream calls = %d; want 1", c)
	}
	for i := range got {
		if errs[i] != nil || got[i] != f.tokens()[0] {
			t.Fatalf("Token() #%d = %q, %v; want %q", i, got[i], errs[i], f.tokens()[0])
		}
	}
}

func TestRedisRefreshIfCurrentAcrossHosts(t *testing.T) {
	a, b, f, _ := twoHosts(t)
	stale, err := a.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := b.Token(context.Background()); v != stale {
		t.Fatalf("second host Token() = %q; want %q from the shared store", v, stale)
	}
	var wg sync.WaitGroup
	res := make([]Token, 40)
	for i := range res {
		m := []*Manager{a, b}[i%2]
		wg.Go(func() { res[i], _ = m.RefreshIfCurrent(context.Background(), stale) })
	}
	wg.Wait()
	if c := f.calls.Load(); c != 2 {
		t.Errorf("upstream calls = %d; want 2 (initial + one refresh for both hosts)", c)
	}
	for i, r := range res {
		if r.Value.Reveal() != f.tokens()[1] {
			t.Fatalf("RefreshIfCurrent #%d = %q; want %q", i, r.Value.Reveal(), f.tokens()[1])
		}
	}
}

func TestRedisRestartReadsPersistedToken(t *testing.T) {
	c := mustRedis(t)
	key := redisKey(t)
	f := newFakeFetcher(nil)
	first := mustManager(t, Config{Store: NewCachedStore(NewRedisStore(c, key, nil)), Fetcher: f})
	want, err := first.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	first.Close()
	f2 := newFakeFetcher(nil)
	second := mustManager(t, Config{Store: NewCachedStore(NewRedisStore(c, key, nil)), Fetcher: f2})
	if got, err := second.Token(context.Background()); got != want || err != nil {
		t.Errorf("Token() after restart = %q, %v; want %q", got, err, want)
	}
	if n := f2.calls.Load(); n != 0 {
		t.Errorf("upstream calls after restart = %d; want 0", n)
	}
}

func TestRedisUnlockKeepsAnotherOwnersLock(t *testing.T) {
	c := mustRedis(t)
	key := redisKey(t)
	s := NewRedisStore(c, key, nil)
	ctx := context.Background()
	unlock, err := s.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Our TTL ran out and another host took the lock.
	c.Set(ctx, key+":lock", "someone-else", time.Minute)
	unlock()
	if v, _ := c.Get(ctx, key+":lock").Result(); v != "someone-else" {
		t.Errorf("lock owner after our unlock = %q; want %q untouched", v, "someone-else")
	}
}

func TestRedisLockExpiresWhenHolderDies(t *testing.T) {
	c := mustRedis(t)
	key := redisKey(t)
	ctx := context.Background()
	// A dead host's lock, with the TTL it would have had left.
	c.Set(ctx, key+":lock", "dead-host", 300*time.Millisecond)
	s := NewRedisStore(c, key, nil)
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	unlock, err := s.Lock(lctx)
	if err != nil {
		t.Fatalf("Lock() after the dead holder's TTL = %v; want the lock", err)
	}
	defer unlock()
	if ttl := c.PTTL(ctx, key+":lock").Val(); ttl <= 0 || ttl > redisLockTTL {
		t.Errorf("PTTL(lock) = %v; want within (0, %v]", ttl, redisLockTTL)
	}
}

func TestRedisLockWaiterSeesNewToken(t *testing.T) {
	c := mustRedis(t)
	key := redisKey(t)
	ctx := context.Background()
	holder := NewRedisStore(c, key, nil)
	unlock, err := holder.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	waiter := NewRedisStore(c, key, nil)
	done := make(chan error, 1)
	go func() {
		_, err := waiter.Lock(ctx)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	now := time.Now()
	holder.Save(ctx, tok("NEW", now.Add(time.Hour), now), Supersede{})
	if err := <-done; !errors.Is(err, errTokenChanged) {
		t.Errorf("waiting Lock() after the holder saved = %v; want errTokenChanged", err)
	}
}

func TestRedisQuotaSharedByHosts(t *testing.T) {
	c := mustRedis(t)
	key := redisKey(t)
	var logs logBuf
	f := newFakeFetcher(nil)
	clk := newFakeClock()
	ms := []*Manager{
		mustManager(t, Config{Store: NewRedisStore(c, key, nil), Fetcher: f, DailyLimit: 5, Logger: logs.logger(), Now: clk.Now}),
		mustManager(t, Config{Store: NewRedisStore(c, key, nil), Fetcher: f, DailyLimit: 5, Logger: logs.logger(), Now: clk.Now}),
	}
	for i := range 4 {
		if _, err := ms[i%2].ForceRefresh(context.Background()); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute)
	}
	day := clk.Now().In(shanghai()).Format(time.DateOnly)
	k := key + ":fetches:" + day
	if n, _ := c.Get(context.Background(), k).Int(); n != 4 {
		t.Errorf("GET %s = %d; want 4", k, n)
	}
	if ttl := c.TTL(context.Background(), k).Val(); ttl <= 47*time.Hour {
		t.Errorf("TTL(%s) = %v; want about 48h", k, ttl)
	}
	if !contains(logs.String(), "80% used") {
		t.Errorf("no warning at 4 of 5 fetches:\n%s", logs.String())
	}
	assertNoSecrets(t, logs.String(), f.tokens()...)
}
