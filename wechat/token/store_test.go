package token

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wxoa/wechat"
)

// storeMakers builds each Store kind afresh for a test.
func storeMakers(t *testing.T) map[string]func(t *testing.T) Store {
	return map[string]func(t *testing.T) Store{
		"memory": func(t *testing.T) Store { return NewMemoryStore() },
		"file": func(t *testing.T) Store {
			s, err := NewFileStore(filepath.Join(t.TempDir(), "d", "access_token.json"), nil)
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		"redis":         func(t *testing.T) Store { return NewRedisStore(mustRedis(t), redisKey(t), nil) },
		"cached memory": func(t *testing.T) Store { return NewCachedStore(NewMemoryStore()) },
	}
}

func TestStoreSaveNeverReplacesNewerToken(t *testing.T) {
	now := time.Now()
	newer := tok("NEWER-"+strings.Repeat("n", 20), now.Add(2*time.Hour), now)
	older := tok("OLDER-"+strings.Repeat("o", 20), now.Add(time.Hour), now.Add(-time.Minute))
	for name, mk := range storeMakers(t) {
		t.Run(name, func(t *testing.T) {
			s := mk(t)
			ctx := context.Background()
			if _, err := s.Load(ctx); !errors.Is(err, ErrNoToken) {
				t.Errorf("Load() on an empty store = %v; want ErrNoToken", err)
			}
			if got, err := s.Save(ctx, newer, Supersede{}); err != nil || got.Value != newer.Value {
				t.Fatalf("Save(newer) = %q, %v; want %q", got.Value.Reveal(), err, newer.Value.Reveal())
			}
			got, err := s.Save(ctx, older, Supersede{})
			if err != nil || got.Value != newer.Value {
				t.Errorf("Save(older) = %q, %v; want the newer token kept", got.Value.Reveal(), err)
			}
			loaded, err := s.Load(ctx)
			if err != nil || loaded.Value != newer.Value || !loaded.ExpiresAt.Equal(newer.ExpiresAt.Truncate(time.Microsecond)) && !loaded.ExpiresAt.Equal(newer.ExpiresAt) {
				t.Errorf("Load() = %q, %v, %v; want %q expiring %v", loaded.Value.Reveal(), loaded.ExpiresAt, err, newer.Value.Reveal(), newer.ExpiresAt)
			}
			if _, err := s.Save(ctx, Token{ExpiresAt: now}, Supersede{}); err == nil {
				t.Error("Save(empty token) = nil error; want an error")
			}
		})
	}
}

func TestStoreLongTokenRoundTrips(t *testing.T) {
	long := strings.Repeat("A1b2-_", 100) // 600 chars; WeChat asks for room for 512
	now := time.Now()
	for name, mk := range storeMakers(t) {
		t.Run(name, func(t *testing.T) {
			s := mk(t)
			if _, err := s.Save(context.Background(), tok(long, now.Add(time.Hour), now), Supersede{}); err != nil {
				t.Fatal(err)
			}
			got, err := s.Load(context.Background())
			if err != nil || got.Value.Reveal() != long {
				t.Errorf("Load() = %d chars, %v; want the %d-char token", len(got.Value), err, len(long))
			}
		})
	}
}

func TestStoreCountFetch(t *testing.T) {
	for name, mk := range storeMakers(t) {
		t.Run(name, func(t *testing.T) {
			s := mk(t)
			ctx := context.Background()
			for want := int64(1); want <= 3; want++ {
				if n, err := s.CountFetch(ctx, "2026-03-01"); n != want || err != nil {
					t.Errorf("CountFetch(2026-03-01) = %d, %v; want %d", n, err, want)
				}
			}
			if n, _ := s.CountFetch(ctx, "2026-03-02"); n != 1 {
				t.Errorf("CountFetch(next day) = %d; want 1", n)
			}
		})
	}
}

func TestStoreLockHonoursContext(t *testing.T) {
	for name, mk := range storeMakers(t) {
		t.Run(name, func(t *testing.T) {
			s := mk(t)
			unlock, err := s.Lock(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			if _, err := s.Lock(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Lock() while held = %v; want context.DeadlineExceeded", err)
			}
			unlock()
			unlock() // harmless
			unlock2, err := s.Lock(context.Background())
			if err != nil {
				t.Fatalf("Lock() after unlock = %v", err)
			}
			unlock2()
		})
	}
}

func TestFileStoreLockExcludesOtherStoresOnTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access_token.json")
	a, _ := NewFileStore(path, nil)
	b, _ := NewFileStore(path, nil)
	unlock, err := a.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := b.Lock(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second store's Lock() while the first holds it = %v; want context.DeadlineExceeded", err)
	}
	unlock()
	unlockB, err := b.Lock(context.Background())
	if err != nil {
		t.Fatalf("second store's Lock() after release = %v", err)
	}
	unlockB()
}

func TestFileStoreCorruptFileIsRecovered(t *testing.T) {
	tests := []struct {
		name    string
		content string
	}{
		{"garbage", "\x00\xffnot json at all"},
		{"truncated", `{"access_token":"SECRETPART`},
		{"empty", ""},
		{"wrong shape", `["a","b"]`},
		{"no token", `{"expires_at":"2030-01-01T00:00:00Z"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "access_token.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			var logs logBuf
			s, err := NewFileStore(path, logs.logger())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Load(context.Background()); !errors.Is(err, ErrNoToken) {
				t.Errorf("Load(%q) = %v; want ErrNoToken", tt.content, err)
			}
			if !strings.Contains(logs.String(), "token file") {
				t.Errorf("Load(%q) logged nothing:\n%s", tt.content, logs.String())
			}
			assertNoSecrets(t, logs.String(), "SECRETPART")

			f := newFakeFetcher(nil)
			m := mustManager(t, Config{Store: s, Fetcher: f, Logger: logs.logger()})
			v, err := m.Token(context.Background())
			if err != nil || f.calls.Load() != 1 {
				t.Fatalf("Token() = %q, %v after %d calls; want a token after 1", v, err, f.calls.Load())
			}
			if got, _ := s.Load(context.Background()); got.Value.Reveal() != v {
				t.Errorf("file holds %q after the fetch; want %q", got.Value.Reveal(), v)
			}
			assertNoSecrets(t, logs.String(), f.tokens()...)
		})
	}
}

func TestFileStoreModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "wxoa")
	path := filepath.Join(dir, "access_token.json")
	s, err := NewFileStore(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := s.Save(context.Background(), tok("T", now.Add(time.Hour), now), Supersede{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		want os.FileMode
	}{{dir, 0o700 | os.ModeDir}, {path, 0o600}} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != c.want {
			t.Errorf("Stat(%q).Mode() = %v; want %v", c.path, fi.Mode(), c.want)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temp file %q left behind", e.Name())
		}
	}
}

func TestFailedFetchLeavesFileUntouched(t *testing.T) {
	clk := newFakeClock()
	path := filepath.Join(t.TempDir(), "access_token.json")
	s, _ := NewFileStore(path, nil)
	f := newFakeFetcher(clk.Now)
	m := mustManager(t, Config{Store: s, Fetcher: f, Now: clk.Now})
	if _, err := m.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f.setErr(&wechat.APIError{Code: 45009, Endpoint: "/cgi-bin/stable_token"})
	clk.Advance(3 * time.Hour) // expired: callers wait for the fetch, which fails
	if _, err := m.Token(context.Background()); !errors.Is(err, wechat.ErrQuotaExceeded) {
		t.Errorf("Token() = %v; want ErrQuotaExceeded", err)
	}
	if _, err := m.RefreshIfCurrent(context.Background(), f.tokens()[0]); !errors.Is(err, wechat.ErrQuotaExceeded) {
		t.Errorf("RefreshIfCurrent() = %v; want ErrQuotaExceeded", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Errorf("token file changed after failed fetches:\nbefore %s\nafter  %s", before, after)
	}
}

func TestCachedStorePicksUpNewerTokenOnLock(t *testing.T) {
	inner := NewMemoryStore()
	c := NewCachedStore(inner)
	ctx := context.Background()
	now := time.Now()
	c.Save(ctx, tok("A", now.Add(time.Hour), now), Supersede{})
	// Another process writes the shared store behind the cache.
	inner.Save(ctx, tok("B", now.Add(2*time.Hour), now.Add(time.Second)), Supersede{})
	if got, _ := c.Load(ctx); got.Value != "A" {
		t.Errorf("Load() = %q; want the cached %q", got.Value.Reveal(), "A")
	}
	unlock, err := c.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if got, _ := c.Load(ctx); got.Value != "B" {
		t.Errorf("Load() after Lock = %q; want the shared store's %q", got.Value.Reveal(), "B")
	}
}
