package token

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"wxoa/internal/redistest"
)

// sharedPair returns two Managers over two Store values sharing one file or
// one Redis key, each with its own cache and watcher, as two processes
// would have, and the fetcher they share.
func sharedPair(t *testing.T, kind string, now func() time.Time) (a, b *Manager, f *fakeFetcher) {
	t.Helper()
	f = newFakeFetcher(now)
	var mk func() Store
	switch kind {
	case "file":
		path := filepath.Join(t.TempDir(), "state", "access_token.json")
		mk = func() Store {
			s, err := NewFileStore(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			return NewCachedStore(s)
		}
	case "redis":
		url := redistest.URL(t)
		key := redisKey(t)
		mk = func() Store { return NewCachedStore(NewRedisStore(redistest.ClientFor(t, url), key, nil)) }
	}
	a = mustManager(t, Config{Store: mk(), Fetcher: f, Now: now})
	b = mustManager(t, Config{Store: mk(), Fetcher: f, Now: now})
	return a, b, f
}

// propagated waits until m serves want and returns how long that took.
func propagated(t *testing.T, m *Manager, want string) time.Duration {
	t.Helper()
	start := time.Now()
	eventually(t, "the new token to reach the other instance", func() bool {
		v, err := m.Token(context.Background())
		return err == nil && v == want
	})
	return time.Since(start)
}

// A token one instance replaces is what the other serves within a second,
// from its in-memory hot path, with no fetch of its own.
func TestReplacedTokenPropagates(t *testing.T) {
	for _, kind := range []string{"file", "redis"} {
		t.Run(kind, func(t *testing.T) {
			a, b, f := sharedPair(t, kind, nil)
			t1, err := a.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if v, _ := b.Token(context.Background()); v != t1 {
				t.Fatalf("B Token() = %q; want the shared %q", v, t1)
			}
			t2, err := a.RefreshIfCurrent(context.Background(), t1)
			if err != nil || t2.Value.Reveal() == t1 {
				t.Fatalf("A RefreshIfCurrent() = %q, %v; want a new token", t2.Value.Reveal(), err)
			}
			d := propagated(t, b, t2.Value.Reveal())
			t.Logf("%s: propagated in %v", kind, d)
			if d > time.Second {
				t.Errorf("B served the new token after %v; want within 1s", d)
			}
			if n := f.calls.Load(); n != 2 {
				t.Errorf("upstream fetches = %d; want 2 (one each, none by B)", n)
			}
		})
	}
}

// The jsapi_ticket propagates the same way, under its own file and key.
func TestReplacedTicketPropagates(t *testing.T) {
	for _, spec := range []string{"file:" + filepath.Join(t.TempDir(), "access_token.json"), redistest.URL(t)} {
		f := newFakeFetcher(nil)
		a := mustManager(t, Config{Name: "jsapi_ticket", Store: mustOpen(t, spec, "jsapi_ticket"), Fetcher: f})
		b := mustManager(t, Config{Name: "jsapi_ticket", Store: mustOpen(t, spec, "jsapi_ticket"), Fetcher: f})
		t1, err := a.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := b.Token(context.Background()); v != t1 {
			t.Fatalf("B ticket = %q; want the shared %q", v, t1)
		}
		t2, err := a.ForceRefresh(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if d := propagated(t, b, t2.Value.Reveal()); d > time.Second {
			t.Errorf("%s: B served the new ticket after %v; want within 1s", spec[:5], d)
		}
	}
}

// A Redis restart loses the token; the instances put theirs back instead
// of fetching, and a later refresh still propagates.
func TestRedisRestartReseedsAndPropagates(t *testing.T) {
	srv := redistest.Start(t)
	f := newFakeFetcher(nil)
	key := redisKey(t)
	mk := func() *Manager {
		return mustManager(t, Config{Store: NewCachedStore(NewRedisStore(srv.Client(t), key, nil)), Fetcher: f})
	}
	a, b := mk(), mk()
	t1, err := a.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b.Token(context.Background())
	srv.Restart()
	probe := srv.Client(t)
	eventually(t, "the token to be re-seeded after the restart", func() bool {
		v, _ := probe.HGet(context.Background(), key, "value").Result()
		return v == t1
	})
	t2, err := a.RefreshIfCurrent(context.Background(), t1)
	if err != nil {
		t.Fatalf("RefreshIfCurrent() after the restart = %v", err)
	}
	if d := propagated(t, b, t2.Value.Reveal()); d > time.Second {
		t.Errorf("B served the new token after %v; want within 1s", d)
	}
	if n := f.calls.Load(); n != 2 {
		t.Errorf("upstream fetches = %d; want 2", n)
	}
}

// The store going away inside the refresh margin — Redis stopped, the token
// file's directory removed — leaves callers with the valid token at once;
// Health reports it; when the store is back the Manager recovers alone.
func TestStoreGoneInsideMargin(t *testing.T) {
	type outage struct {
		name       string
		open       func(t *testing.T) Store
		down, back func(t *testing.T)
	}
	var srv *redistest.Server
	var dir string
	tests := []outage{
		{"redis stopped", func(t *testing.T) Store {
			srv = redistest.Start(t)
			return NewCachedStore(NewRedisStore(srv.Client(t), redisKey(t), nil))
		}, func(*testing.T) { srv.Stop() }, func(*testing.T) { srv.Restart() }},
		{"token directory removed", func(t *testing.T) Store {
			dir = filepath.Join(t.TempDir(), "state")
			s, err := NewFileStore(filepath.Join(dir, "access_token.json"), nil)
			if err != nil {
				t.Fatal(err)
			}
			return NewCachedStore(s)
		}, func(t *testing.T) {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T) {
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			f := newFakeFetcher(clk.Now)
			store := tt.open(t)
			m := mustManager(t, Config{Store: store, Fetcher: f, Now: clk.Now})
			good, err := m.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			tt.down(t)
			clk.Advance(7200*time.Second - 4*time.Minute)
			for i := range 50 {
				if v, err := m.Token(context.Background()); v != good || err != nil {
					t.Fatalf("Token() #%d with the store gone = %q, %v; want %q", i, v, err, good)
				}
			}
			eventually(t, "Health to report the store", func() bool { return m.Health() != nil })
			eventually(t, "the background attempt", func() bool { return !m.bgBusy.Load() })
			if n := f.calls.Load(); n != 1 {
				t.Errorf("fetches while the store was gone = %d; want 1", n)
			}
			tt.back(t)
			eventually(t, "Health to recover", func() bool { return m.Health() == nil })
			eventually(t, "the token to be back in the store", func() bool {
				st, err := store.Load(context.Background())
				return err == nil && st.Value.Reveal() == good
			})
			clk.Advance(backoff(errStoreDown, 1)) // past the background back-off
			m.Token(context.Background())
			eventually(t, "the refresh after recovery", func() bool { return f.calls.Load() == 2 && !m.bgBusy.Load() })
			if v, _ := m.Token(context.Background()); v != f.tokens()[1] {
				t.Errorf("Token() after recovery = %q; want the refreshed token", v)
			}
		})
	}
}
