package token

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// oddFiles are things an operator's mistake or an attacker can put where
// the token file (or the fetch counter) belongs. Each must read as "no
// token" at once, cost no memory, be logged once, and be replaced by the
// next save without the save following it anywhere.
var oddFiles = []struct {
	name     string
	make     func(t *testing.T, path string)
	replaced bool // the next save can replace it (a directory it cannot)
}{
	{"symlink to /dev/zero", func(t *testing.T, path string) {
		if err := os.Symlink("/dev/zero", path); err != nil {
			t.Fatal(err)
		}
	}, true},
	{"500 MB sparse file", func(t *testing.T, path string) {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := f.Truncate(500 << 20); err != nil {
			t.Fatal(err)
		}
	}, true},
	{"FIFO", func(t *testing.T, path string) {
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			t.Fatal(err)
		}
		// Should a read block on it, a writer opening it releases the reader
		// at cleanup, so a failing test ends instead of hanging.
		t.Cleanup(func() {
			if f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				f.Close()
			}
		})
	}, true},
	{"directory", func(t *testing.T, path string) {
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
	}, false},
	{"valid JSON over the size limit", func(t *testing.T, path string) {
		big := `{"access_token":"` + strings.Repeat("A", maxRecord) + `","expires_at":"2030-01-01T00:00:00Z"}`
		if err := os.WriteFile(path, []byte(big), 0o600); err != nil {
			t.Fatal(err)
		}
	}, true},
}

// bounded runs fn and fails the test if it has not returned within limit:
// a store operation that blocks (a FIFO, a device) must not hang its caller.
func bounded(t *testing.T, what string, limit time.Duration, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(limit):
		t.Fatalf("%s still running after %v", what, limit)
	}
}

// allocated returns the bytes fn allocated (the test runs nothing else).
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestFileStoreOddTokenFile(t *testing.T) {
	for _, tt := range oddFiles {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "access_token.json")
			tt.make(t, path)
			var logs logBuf
			fst, err := NewFileStore(path, logs.logger())
			if err != nil {
				t.Fatal(err)
			}
			var lerr error
			var mem uint64
			bounded(t, "Load", 10*time.Second, func() {
				mem = allocated(func() {
					for range 3 {
						_, lerr = fst.Load(context.Background())
					}
				})
			})
			if !errors.Is(lerr, ErrNoToken) {
				t.Errorf("Load() = %v; want ErrNoToken", lerr)
			}
			if mem > 1<<20 {
				t.Errorf("three Loads allocated %d KiB; want a few (a token record is under 1 KiB)", mem>>10)
			}
			if n := strings.Count(logs.String(), "token file"); n != 1 {
				t.Errorf("three Loads logged %d lines about the token file; want 1:\n%s", n, logs.String())
			}

			f := newFakeFetcher(nil)
			m := mustManager(t, Config{Store: NewCachedStore(fst), Fetcher: f, Logger: logs.logger()})
			var got Token
			bounded(t, "ForceRefresh", 20*time.Second, func() {
				got, err = m.ForceRefresh(context.Background())
			})
			if err != nil || got.Value.Reveal() != f.tokens()[0] {
				t.Fatalf("ForceRefresh() = %q, %v; want the fetched token", got.Value.Reveal(), err)
			}
			fi, err := os.Lstat(path)
			if !tt.replaced {
				if err != nil || !fi.IsDir() {
					t.Errorf("Lstat(path) = %v, %v; want the directory left alone", fi, err)
				}
				eventually(t, "Health to report the unusable token file", func() bool { return m.Health() != nil })
				if !strings.Contains(logs.String(), "token store unavailable") {
					t.Errorf("no log line says the store is unavailable:\n%s", logs.String())
				}
				return
			}
			if err != nil || !fi.Mode().IsRegular() || fi.Size() > maxRecord {
				t.Fatalf("after the refresh the token file is %v, %v; want a small regular file", fi, err)
			}
			if st, err := fst.Load(context.Background()); err != nil || st.Value.Reveal() != got.Value.Reveal() {
				t.Errorf("Load() after the refresh = %q, %v; want the new token", st.Value.Reveal(), err)
			}
			eventually(t, "the watcher to find the store healthy", func() bool { return m.Health() == nil })
			assertNoSecrets(t, logs.String(), f.tokens()...)
		})
	}
}

func TestFileStoreOddCounterFile(t *testing.T) {
	for _, tt := range oddFiles {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "access_token.json")
			var logs logBuf
			s, err := NewFileStore(path, logs.logger())
			if err != nil {
				t.Fatal(err)
			}
			count := s.(*fileStore).countPath
			tt.make(t, count)
			var n1, n2 int64
			var err1, err2 error
			var mem uint64
			bounded(t, "CountFetch", 10*time.Second, func() {
				mem = allocated(func() {
					n1, err1 = s.CountFetch(context.Background(), "2026-03-01")
					n2, err2 = s.CountFetch(context.Background(), "2026-03-01")
				})
			})
			if mem > 1<<20 {
				t.Errorf("two CountFetch calls allocated %d KiB; want a few", mem>>10)
			}
			if !tt.replaced {
				var se *StoreError
				if !errors.As(err1, &se) || !errors.As(err2, &se) {
					t.Errorf("CountFetch() with a directory as the counter = %v, %v; want *StoreError", err1, err2)
				}
				return
			}
			if n1 != 1 || n2 != 2 || err1 != nil || err2 != nil {
				t.Errorf("CountFetch() twice = %d, %v; %d, %v; want 1 and 2 (the odd file restarts the count)", n1, err1, n2, err2)
			}
			if n := strings.Count(logs.String(), "fetch counter file"); n != 1 {
				t.Errorf("logged %d lines about the counter file; want 1:\n%s", n, logs.String())
			}
			if fi, err := os.Lstat(count); err != nil || !fi.Mode().IsRegular() {
				t.Errorf("counter file afterwards = %v, %v; want a regular file", fi, err)
			}
		})
	}
}

// A token file that is a symlink to a regular file is read through the
// link; a save replaces the link itself, so a link can never steer a write
// to another file.
func TestFileStoreSymlinkToRegularFile(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere", "token.json")
	path := filepath.Join(dir, "state", "access_token.json")
	for _, d := range []string{filepath.Dir(target), filepath.Dir(path)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	exp, fetched := now.Add(time.Hour).UTC().Format(time.RFC3339Nano), now.Add(-time.Hour).UTC().Format(time.RFC3339Nano)
	rec := `{"access_token":"LINKED-` + strings.Repeat("l", 20) + `","expires_at":"` + exp + `","fetched_at":"` + fetched + `"}`
	if err := os.WriteFile(target, []byte(rec), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	s, err := NewFileStore(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeFetcher(nil)
	m := mustManager(t, Config{Store: NewCachedStore(s), Fetcher: f})
	if v, err := m.Token(context.Background()); err != nil || !strings.HasPrefix(v, "LINKED-") || f.calls.Load() != 0 {
		t.Fatalf("Token() = %q, %v after %d fetches; want the linked file's token and no fetch", v, err, f.calls.Load())
	}
	if _, err := m.ForceRefresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(target); err != nil || string(b) != rec {
		t.Errorf("the link's target after a save = %q, %v; want it untouched", b, err)
	}
	if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("Lstat(token file) after a save = %v, %v; want a regular file in place of the link", fi, err)
	}
}
