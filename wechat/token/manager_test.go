package token

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestNewManagerRejectsBadConfig(t *testing.T) {
	f := newFakeFetcher(nil)
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no store", Config{Fetcher: f}},
		{"no fetcher", Config{Store: NewMemoryStore()}},
		{"negative margin", Config{Store: NewMemoryStore(), Fetcher: f, Margin: -time.Second}},
		{"negative timeout", Config{Store: NewMemoryStore(), Fetcher: f, FetchTimeout: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewManager(tt.cfg); err == nil {
				t.Errorf("NewManager(%s) = nil error; want an error", tt.name)
			}
		})
	}
}

func TestColdManagerFetchesOnceForManyCallers(t *testing.T) {
	for _, spec := range []string{"memory", "file:" + t.TempDir() + "/t.json"} {
		t.Run(spec[:4], func(t *testing.T) {
			store := mustOpen(t, spec, "access_token")
			f := newFakeFetcher(nil)
			release := f.hold() // keep the fetch in flight until all callers queue
			m := mustManager(t, Config{Store: store, Fetcher: f})
			const n = 1000
			got := make([]string, n)
			errs := make([]error, n)
			var started, wg sync.WaitGroup
			started.Add(n)
			wg.Add(n)
			for i := range n {
				go func() {
					defer wg.Done()
					started.Done()
					got[i], errs[i] = m.Token(context.Background())
				}()
			}
			started.Wait()
			release()
			wg.Wait()
			if c := f.calls.Load(); c != 1 {
				t.Errorf("upstream calls = %d; want 1", c)
			}
			for i := range n {
				if errs[i] != nil || got[i] != got[0] || got[0] == "" {
					t.Fatalf("Token() #%d = %q, %v; want %q, nil", i, got[i], errs[i], got[0])
				}
			}
		})
	}
}

func TestCallerGivingUpDoesNotCancelTheFetch(t *testing.T) {
	f := newFakeFetcher(nil)
	release := f.hold()
	m := mustManager(t, Config{Store: NewMemoryStore(), Fetcher: f})

	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { _, err := m.Token(ctx); first <- err }()
	eventually(t, "the first fetch to start", func() bool { return f.calls.Load() == 1 })
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Errorf("Token(cancelled ctx) = %v; want context.Canceled", err)
	}
	second := make(chan string, 1)
	go func() { v, _ := m.Token(context.Background()); second <- v }()
	release()
	if v := <-second; v != f.tokens()[0] {
		t.Errorf("Token() = %q; want %q", v, f.tokens()[0])
	}
	if c := f.calls.Load(); c != 1 {
		t.Errorf("upstream calls = %d; want 1", c)
	}
}

func TestRefreshAheadServesOldTokenWhileOneBackgroundFetchRuns(t *testing.T) {
	clk := newFakeClock()
	f := newFakeFetcher(clk.Now)
	var logs logBuf
	store := mustOpen(t, "memory", "access_token")
	m := mustManager(t, Config{Store: store, Fetcher: f, Margin: 5 * time.Minute, Now: clk.Now, Logger: logs.logger()})

	old, err := m.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(7200*time.Second - 4*time.Minute) // inside the margin, still valid
	release := f.hold()
	for i := range 500 {
		// The fetch is blocked: each call returning proves callers do not wait.
		if v, err := m.Token(context.Background()); v != old || err != nil {
			t.Fatalf("Token() #%d inside the margin = %q, %v; want the old token %q", i, v, err, old)
		}
	}
	eventually(t, "the background fetch", func() bool { return f.calls.Load() == 2 })
	release()
	eventually(t, "the new token", func() bool {
		v, _ := m.Token(context.Background())
		return v != old
	})
	if c := f.calls.Load(); c != 2 {
		t.Errorf("upstream calls = %d; want 2 (cold fetch + one background refresh)", c)
	}
	if v, _ := m.Token(context.Background()); v != f.tokens()[1] {
		t.Errorf("Token() after refresh = %q; want %q", v, f.tokens()[1])
	}
	assertNoSecrets(t, logs.String(), f.tokens()...)
}

func TestRefreshIfCurrent(t *testing.T) {
	f := newFakeFetcher(nil)
	m := mustManager(t, Config{Store: NewCachedStore(NewMemoryStore()), Fetcher: f})
	stale, err := m.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	const n = 200
	release := f.hold()
	got := make([]Token, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i], errs[i] = m.RefreshIfCurrent(context.Background(), stale) })
	}
	eventually(t, "the refresh to start", func() bool { return f.calls.Load() == 2 })
	release()
	wg.Wait()
	if c := f.calls.Load(); c != 2 {
		t.Errorf("upstream calls = %d; want 2 (initial + one refresh)", c)
	}
	if f.forced.Load() != 1 {
		t.Errorf("forced fetches = %d; want 1", f.forced.Load())
	}
	fresh := f.tokens()[1]
	for i := range n {
		if errs[i] != nil || got[i].Value.Reveal() != fresh {
			t.Fatalf("RefreshIfCurrent(stale) #%d = %q, %v; want %q", i, got[i].Value.Reveal(), errs[i], fresh)
		}
	}

	// The stale token is no longer current: no fetch, the current token.
	cur, err := m.RefreshIfCurrent(context.Background(), stale)
	if err != nil || cur.Value.Reveal() != fresh {
		t.Errorf("RefreshIfCurrent(outdated) = %q, %v; want %q, nil", cur.Value.Reveal(), err, fresh)
	}
	if c := f.calls.Load(); c != 2 {
		t.Errorf("upstream calls after RefreshIfCurrent(outdated) = %d; want 2", c)
	}
}

func TestForceRefreshIsRateLimited(t *testing.T) {
	clk := newFakeClock()
	f := newFakeFetcher(clk.Now)
	m := mustManager(t, Config{Store: NewMemoryStore(), Fetcher: f, Now: clk.Now, MinForceInterval: 30 * time.Second})
	first, err := m.ForceRefresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(10 * time.Second)
	cur, err := m.ForceRefresh(context.Background())
	if !errors.Is(err, ErrRateLimited) {
		t.Errorf("ForceRefresh() within the interval = %v; want ErrRateLimited", err)
	}
	if cur.Value != first.Value {
		t.Errorf("ForceRefresh() within the interval returned %v; want the current token", cur.Value.Reveal())
	}
	if c := f.calls.Load(); c != 1 {
		t.Errorf("upstream calls = %d; want 1", c)
	}
	clk.Advance(21 * time.Second)
	second, err := m.ForceRefresh(context.Background())
	if err != nil || second.Value == first.Value {
		t.Errorf("ForceRefresh() after the interval = %q, %v; want a new token", second.Value.Reveal(), err)
	}
	if f.forced.Load() != 2 {
		t.Errorf("forced fetches = %d; want 2", f.forced.Load())
	}
}

func TestCloseStopsBackgroundRefresh(t *testing.T) {
	clk := newFakeClock()
	f := newFakeFetcher(clk.Now)
	m, err := NewManager(Config{Store: NewMemoryStore(), Fetcher: f, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.hold() // never released: only Close can end the background fetch
	clk.Advance(7200*time.Second - time.Minute)
	m.Token(context.Background())
	eventually(t, "the background fetch", func() bool { return f.calls.Load() == 2 })
	m.Close() // returns only once the goroutine is gone
	if m.bgBusy.Load() {
		t.Error("background refresh still running after Close")
	}
	clk.Advance(2 * time.Minute)
	if _, err := m.Token(context.Background()); !errors.Is(err, errClosed) {
		t.Errorf("Token() after Close with an expired token = %v; want errClosed", err)
	}
}

// Another process refreshing the shared store is noticed when our token
// enters the margin: the re-read finds the newer token and nothing is fetched.
func TestNewerTokenInSharedStoreIsPickedUpAtMargin(t *testing.T) {
	clk := newFakeClock()
	shared := NewMemoryStore()
	f := newFakeFetcher(clk.Now)
	a := mustManager(t, Config{Store: NewCachedStore(shared), Fetcher: f, Now: clk.Now})
	b := mustManager(t, Config{Store: NewCachedStore(shared), Fetcher: f, Now: clk.Now})
	t1, err := a.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	t2, err := b.RefreshIfCurrent(context.Background(), t1)
	if err != nil || t2.Value.Reveal() == t1 {
		t.Fatalf("RefreshIfCurrent(t1) on the other manager = %q, %v; want a new token", t2.Value.Reveal(), err)
	}
	if v, _ := a.Token(context.Background()); v != t1 {
		t.Errorf("Token() before the margin = %q; want the cached %q", v, t1)
	}
	clk.Advance(time.Hour - 2*time.Minute) // t1 inside the margin, t2 fresh
	a.Token(context.Background())
	eventually(t, "the re-read of the shared store", func() bool {
		v, _ := a.Token(context.Background())
		return v == t2.Value.Reveal()
	})
	if c := f.calls.Load(); c != 2 {
		t.Errorf("upstream calls = %d; want 2 (the re-read fetches nothing)", c)
	}
}

// A token WeChat rejected never becomes the hot token again, however a
// reject and a remember interleave. The clock is the hook: remember reads
// it between its rejection check and its swap, so a reject run from it
// lands exactly where it raced before.
func TestRememberNeverInstallsRejectedToken(t *testing.T) {
	tests := []struct {
		name   string
		during bool // reject while remember runs; else before
	}{
		{"rejected before", false},
		{"rejected while remembering", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			var m *Manager
			var armed atomic.Bool
			next := tok("NEXT-TOKEN-xxxxxxxxxxxxxxxx", clk.Now().Add(2*time.Hour), clk.Now().Add(time.Second))
			now := func() time.Time {
				if armed.CompareAndSwap(true, false) {
					m.reject(next.Value.Reveal())
				}
				return clk.Now()
			}
			f := newFakeFetcher(clk.Now)
			m = mustManager(t, Config{Store: NewMemoryStore(), Fetcher: f, Now: now})
			cur, err := m.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tt.during {
				armed.Store(true)
			} else {
				m.reject(next.Value.Reveal())
			}
			if m.remember(next, clk.Now()) {
				t.Error("remember(rejected token) = true; want false")
			}
			if armed.Load() {
				t.Fatal("the clock hook never ran: remember no longer reads the clock between its check and its swap")
			}
			if v, err := m.Token(context.Background()); v == next.Value.Reveal() || err != nil || v != cur {
				t.Errorf("Token() = %q, %v; want the previous %q, never the rejected one", v, err, cur)
			}
		})
	}
}
