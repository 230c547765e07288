package token

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// storeOps calls each operation of s once and returns their errors by name.
func storeOps(s Store) map[string]error {
	ctx := context.Background()
	now := time.Now()
	errs := map[string]error{}
	_, errs["load"] = s.Load(ctx)
	_, errs["save"] = s.Save(ctx, tok("T", now.Add(time.Hour), now), Supersede{Now: now})
	_, errs["count"] = s.CountFetch(ctx, "2026-03-01")
	if unlock, err := s.Lock(ctx); err == nil {
		unlock()
	} else {
		errs["lock"] = err
	}
	return errs
}

// A file system that stops answering (a dead network mount) costs each
// store operation its deadline, not the caller's request: here an I/O
// that never ends is stood for by holding the store's I/O turn.
func TestFileStoreOperationsHaveADeadline(t *testing.T) {
	var logs logBuf
	s, err := NewFileStore(filepath.Join(t.TempDir(), "access_token.json"), logs.logger())
	if err != nil {
		t.Fatal(err)
	}
	fst := s.(*fileStore)
	fst.opTimeout = 100 * time.Millisecond
	if err := fst.io.lock(context.Background()); err != nil { // the hung I/O
		t.Fatal(err)
	}
	var errs map[string]error
	bounded(t, "the store's operations", 10*time.Second, func() { errs = storeOps(s) })
	for _, op := range []string{"load", "save", "count", "lock"} {
		var se *StoreError
		if !errors.As(errs[op], &se) || !strings.Contains(errs[op].Error(), "no answer from the file system") {
			t.Errorf("%s on a hung file system = %v; want a *StoreError saying so", op, errs[op])
		}
	}

	// The Manager: a forced refresh answers within a bounded time (with a
	// token fetched for this process alone), says why in the log, and
	// Health reports the store until it answers again.
	f := newFakeFetcher(nil)
	m := mustManager(t, Config{Store: NewCachedStore(s), Fetcher: f, Logger: logs.logger(), FetchTimeout: 10 * time.Second})
	var got Token
	bounded(t, "ForceRefresh", 10*time.Second, func() { got, err = m.ForceRefresh(context.Background()) })
	if err != nil || got.Value.Reveal() != f.tokens()[0] {
		t.Errorf("ForceRefresh() on a hung file system = %q, %v; want the fetched token", got.Value.Reveal(), err)
	}
	if m.Health() == nil || !strings.Contains(logs.String(), "token store unavailable") {
		t.Errorf("Health() = %v; want the store's failure, logged:\n%s", m.Health(), logs.String())
	}
	// Its watcher does not hang either: a Manager closes at once.
	other, err := NewManager(Config{Store: NewCachedStore(s), Fetcher: f})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * DefaultFilePoll) // a look or two, each timing out
	bounded(t, "Close", 5*time.Second, func() { other.Close() })

	fst.io.unlock() // the file system answers again
	eventually(t, "the token to reach the file", func() bool {
		st, err := s.Load(context.Background())
		return err == nil && st.Value.Equal(got.Value.Reveal())
	})
	eventually(t, "Health to recover", func() bool { return m.Health() == nil })
}

// A Redis that accepts connections and never answers, reached by a client
// configured without timeouts of its own: every operation still ends at
// the store's deadline.
func TestRedisStoreOperationsHaveADeadline(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	c := redis.NewClient(&redis.Options{Addr: l.Addr().String(), ReadTimeout: -1, WriteTimeout: -1,
		ContextTimeoutEnabled: true, MaxRetries: -1, Protocol: 2})
	t.Cleanup(func() { c.Close() })
	s := NewRedisStore(c, redisKey(t), nil)
	s.(*redisStore).opTimeout = 100 * time.Millisecond
	var errs map[string]error
	bounded(t, "the store's operations", 10*time.Second, func() { errs = storeOps(s) })
	for _, op := range []string{"load", "save", "count", "lock"} {
		var se *StoreError
		var ne net.Error
		timedOut := errors.Is(errs[op], context.DeadlineExceeded) || errors.As(errs[op], &ne) && ne.Timeout()
		if !errors.As(errs[op], &se) || !timedOut {
			t.Errorf("%s on a silent Redis = %v; want a *StoreError for its deadline", op, errs[op])
		}
	}
}
