package token

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wxoa/internal/logtest"
	"wxoa/wechat"
	"wxoa/wechat/wechattest"
)

// newFakeClock returns a clock tests move by hand. It starts at the real
// time so that go-cache's own wall-clock expiry (CachedStore) stays in step.
func newFakeClock() *wechattest.Clock { return wechattest.NewClock(time.Now()) }

// fakeFetcher mints tokens like WeChat: distinct values, expires_in from
// ttl. Block, if set, holds every fetch until it is closed; Err, if set,
// fails them.
type fakeFetcher struct {
	calls  atomic.Int64
	forced atomic.Int64
	now    func() time.Time
	ttl    time.Duration
	prefix string

	mu     sync.Mutex
	err    error
	block  chan struct{}
	minted []string
}

func newFakeFetcher(now func() time.Time) *fakeFetcher { return newFakeFetcherPrefix(now, "TOK") }

// newFakeFetcherPrefix mints tokens starting with prefix, so that two
// fetchers standing for two hosts mint different values.
func newFakeFetcherPrefix(now func() time.Time, prefix string) *fakeFetcher {
	if now == nil {
		now = time.Now
	}
	return &fakeFetcher{now: now, ttl: 7200 * time.Second, prefix: prefix}
}

func (f *fakeFetcher) Fetch(ctx context.Context, force bool) (Token, error) {
	n := f.calls.Add(1)
	if force {
		f.forced.Add(1)
	}
	f.mu.Lock()
	block, err := f.block, f.err
	f.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return Token{}, ctx.Err()
		}
	}
	if err != nil {
		return Token{}, err
	}
	now := f.now()
	v := fmt.Sprintf("%s%04d-%s", f.prefix, n, strings.Repeat("x", 24))
	f.mu.Lock()
	f.minted = append(f.minted, v)
	f.mu.Unlock()
	return Token{Value: wechat.Secret(v), ExpiresAt: now.Add(f.ttl), FetchedAt: now}, nil
}

func (f *fakeFetcher) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

// hold makes fetches block until the returned function is called.
func (f *fakeFetcher) hold() (release func()) {
	ch := make(chan struct{})
	f.mu.Lock()
	f.block = ch
	f.mu.Unlock()
	return sync.OnceFunc(func() {
		f.mu.Lock()
		f.block = nil
		f.mu.Unlock()
		close(ch)
	})
}

func (f *fakeFetcher) tokens() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.minted...)
}

// logBuf captures slog output from many goroutines.
type logBuf struct{ logtest.Buffer }

func (l *logBuf) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// assertNoSecrets fails if any token value appears in the logs.
func assertNoSecrets(t testing.TB, logs string, tokens ...string) {
	t.Helper()
	for _, tok := range tokens {
		if tok != "" && strings.Contains(logs, tok) {
			t.Errorf("logs contain token %q:\n%s", tok, logs)
		}
	}
}

// mustManager builds a Manager closed on cleanup.
func mustManager(t testing.TB, cfg Config) *Manager {
	t.Helper()
	m, err := NewManager(cfg)
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// eventually polls cond until it holds or a generous deadline passes; it
// synchronises with background goroutines, it does not measure speed.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func tok(v string, expires, fetched time.Time) Token {
	return Token{Value: wechat.Secret(v), ExpiresAt: expires, FetchedAt: fetched}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
