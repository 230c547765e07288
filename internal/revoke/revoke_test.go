package revoke

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"wxoa/internal/redistest"
	"wxoa/wechat/wechattest"
)

var t0 = time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)

// stores returns one store of each kind with a small bound, and a way to
// open the same store again (a restart, another instance); memory has none.
func stores(t *testing.T, clock *wechattest.Clock) map[string]func() Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state", "admin_sessions.json")
	url := redistest.URL(t)
	prefix := "{wxoatest:" + filepath.Base(t.TempDir()) + "}:"
	mem := NewMemory(clock.Now)
	mem.max = 8
	return map[string]func() Store{
		"memory": func() Store { return mem },
		"file": func() Store {
			f, err := NewFile(path, clock.Now)
			if err != nil {
				t.Fatal(err)
			}
			f.max = 8
			return f
		},
		"redis": func() Store { return NewRedis(redistest.ClientFor(t, url), prefix) },
	}
}

func TestStores(t *testing.T) {
	ctx := context.Background()
	clock := wechattest.NewClock(t0)
	for name, open := range stores(t, clock) {
		t.Run(name, func(t *testing.T) {
			a, b := open(), open()
			g, err := a.Generation(ctx)
			if err != nil || g == 0 {
				t.Fatalf("Generation = %d, %v; want a generation", g, err)
			}
			if g2, _ := b.Generation(ctx); g2 != g {
				t.Errorf("two openings of one store see generations %d and %d; want one", g, g2)
			}
			until := clock.Now().Add(time.Hour)
			if name == "redis" {
				until = time.Now().Add(time.Hour) // Redis keeps its own time
			}
			if err := a.Revoke(ctx, "s1", until); err != nil {
				t.Fatal(err)
			}
			if _, revoked, err := b.Check(ctx, "s1"); err != nil || !revoked {
				t.Errorf("Check(s1) on the other opening = %v, %v; want revoked", revoked, err)
			}
			if _, revoked, _ := b.Check(ctx, "s2"); revoked {
				t.Error("Check(s2) = revoked; only s1 was")
			}
			g3, err := b.NewGeneration(ctx)
			if err != nil || g3 == g {
				t.Errorf("NewGeneration = %d, %v; want another generation than %d", g3, err, g)
			}
			if g4, _, _ := a.Check(ctx, "s1"); g4 != g3 {
				t.Errorf("after NewGeneration the other opening sees %d; want %d", g4, g3)
			}
		})
	}
}

// Past the bound, a sign-out moves the generation on: nothing is forgotten.
func TestBoundMovesTheGeneration(t *testing.T) {
	ctx := context.Background()
	clock := wechattest.NewClock(t0)
	for _, name := range []string{"memory", "file"} {
		t.Run(name, func(t *testing.T) {
			s := stores(t, clock)[name]()
			g, _ := s.Generation(ctx)
			for i := range 8 {
				if err := s.Revoke(ctx, string(rune('a'+i)), clock.Now().Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			if g2, _ := s.Generation(ctx); g2 != g {
				t.Fatalf("generation moved within the bound")
			}
			s.Revoke(ctx, "ninth", clock.Now().Add(time.Hour))
			if g2, _ := s.Generation(ctx); g2 == g {
				t.Error("the ninth sign-out past a bound of 8 neither was kept nor moved the generation")
			}
			// Entries expire with their sessions and free their room: four
			// kept, expired, then eight more fit in the bound of 8.
			for i := range 4 {
				s.Revoke(ctx, string(rune('A'+i)), clock.Now().Add(time.Hour))
			}
			clock.Advance(2 * time.Hour)
			g3, _ := s.Generation(ctx)
			for i := range 8 {
				s.Revoke(ctx, string(rune('a'+i)), clock.Now().Add(time.Hour))
			}
			if g4, _ := s.Generation(ctx); g4 != g3 {
				t.Error("expired entries were not pruned: the bound was hit again")
			}
		})
	}
}

// A file that is missing, garbage, too large, a FIFO or a symlink to a
// device starts a new generation (every earlier session ends) without
// blocking or reading past the bound, and is replaced, mode 0600.
func TestFileOddFiles(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name  string
		plant func(path string) error
	}{
		{"garbage", func(p string) error { return os.WriteFile(p, []byte("{not json"), 0o600) }},
		{"too large", func(p string) error { return os.Truncate(p, maxFile+1) }},
		{"fifo", func(p string) error { return syscall.Mkfifo(p, 0o600) }},
		{"dev zero", func(p string) error { return os.Symlink("/dev/zero", p) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "admin_sessions.json")
			f, err := NewFile(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			g, err := f.Generation(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if tt.name == "too large" {
				if err := os.WriteFile(path, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			} else {
				os.Remove(path)
			}
			if err := tt.plant(path); err != nil {
				t.Fatal(err)
			}
			done := make(chan uint64, 1)
			go func() {
				g2, _ := f.Generation(ctx)
				done <- g2
			}()
			select {
			case g2 := <-done:
				if g2 == g || g2 == 0 {
					t.Errorf("after a %s in place of the file the generation is %d; want a new one (was %d)", tt.name, g2, g)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("Generation blocked on a %s", tt.name)
			}
			fi, err := os.Lstat(path)
			if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
				t.Errorf("the file after a %s: %v, %v; want a regular file, mode 0600", tt.name, fi.Mode(), err)
			}
		})
	}
}

// A flushed Redis starts a new generation: a session revoked before the
// flush does not come back.
func TestRedisFlushEndsSessions(t *testing.T) {
	ctx := context.Background()
	url := redistest.URL(t)
	c := redistest.ClientFor(t, url)
	r := NewRedis(c, "{wxoatest:flush}:")
	g, err := r.Generation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Del(ctx, "{wxoatest:flush}:generation").Err(); err != nil {
		t.Fatal(err)
	}
	if g2, _ := r.Generation(ctx); g2 == g {
		t.Errorf("after losing its state Redis gives generation %d again; want a new one", g)
	}
	// What is not a generation is replaced by one, which then holds.
	key := "{wxoatest:flush}:generation"
	for what, plant := range map[string]func() error{
		"garbage":  func() error { return c.Set(ctx, key, "garbage", 0).Err() },
		"zero":     func() error { return c.Set(ctx, key, "0", 0).Err() },
		"a hash":   func() error { c.Del(ctx, key); return c.HSet(ctx, key, "f", "v").Err() },
		"too long": func() error { return c.Set(ctx, key, "99999999999999999999", 0).Err() },
	} {
		if err := plant(); err != nil {
			t.Fatal(err)
		}
		g1, err1 := r.Generation(ctx)
		g2, err2 := r.Generation(ctx)
		if err1 != nil || err2 != nil || g1 == 0 || g1 != g2 {
			t.Errorf("generation over %s: %d, %v then %d, %v; want one generation, kept", what, g1, err1, g2, err2)
		}
	}
}
