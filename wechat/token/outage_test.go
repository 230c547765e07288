package token

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wxoa/wechat"
)

// flakyStore is a shared store that can go down: while down, every
// operation fails with a *StoreError, as Redis stopped or a token
// directory removed would. Its watcher probes every few milliseconds.
type flakyStore struct {
	Store
	down atomic.Bool
}

var errDown = errors.New("connection refused")

func (s *flakyStore) check(op string) error {
	if s.down.Load() {
		return &StoreError{Op: op, Err: errDown}
	}
	return nil
}

func (s *flakyStore) Load(ctx context.Context) (Token, error) {
	if err := s.check("load"); err != nil {
		return Token{}, err
	}
	return s.Store.Load(ctx)
}

func (s *flakyStore) Save(ctx context.Context, t Token, sup Supersede) (Token, error) {
	if err := s.check("save"); err != nil {
		return Token{}, err
	}
	return s.Store.Save(ctx, t, sup)
}

func (s *flakyStore) Lock(ctx context.Context) (func(), error) {
	if err := s.check("lock"); err != nil {
		return nil, err
	}
	return s.Store.Lock(ctx)
}

func (s *flakyStore) CountFetch(ctx context.Context, day string) (int64, error) {
	if err := s.check("count"); err != nil {
		return 0, err
	}
	return s.Store.CountFetch(ctx, day)
}

func (s *flakyStore) Watch(ctx context.Context, changed func(), probe func(error)) {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		if s.down.Load() {
			probe(errDown)
		} else {
			probe(nil)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// A store outage inside the refresh margin costs callers nothing: the valid
// token in memory is served at once, nothing is fetched behind the fleet's
// back, the outage shows in Health, and the Manager recovers by itself.
func TestStoreOutageKeepsServingValidToken(t *testing.T) {
	clk := newFakeClock()
	f := newFakeFetcher(clk.Now)
	store := &flakyStore{Store: NewMemoryStore()}
	var logs logBuf
	m := mustManager(t, Config{Store: store, Fetcher: f, Now: clk.Now, Logger: logs.logger()})
	good, err := m.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	store.down.Store(true)
	clk.Advance(7200*time.Second - 4*time.Minute) // inside the 5-minute margin, 4 minutes left
	for i := range 100 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		v, err := m.Token(ctx)
		cancel()
		if v != good || err != nil {
			t.Fatalf("Token() #%d while the store is down = %q, %v; want the valid %q", i, v, err, good)
		}
	}
	eventually(t, "the outage to show in Health", func() bool { return m.Health() != nil })
	var se *StoreError
	if !errors.As(m.Health(), &se) {
		t.Errorf("Health() = %v; want a *StoreError", m.Health())
	}
	eventually(t, "the postponed background refresh", func() bool { return !m.bgBusy.Load() })
	if n := f.calls.Load(); n != 1 {
		t.Errorf("upstream calls while the store was down = %d; want 1 (no fetch without the shared lock)", n)
	}

	store.down.Store(false)
	eventually(t, "Health to recover", func() bool { return m.Health() == nil })
	clk.Advance(backoff(errStoreDown, 1)) // past the background back-off; still inside the margin
	if v, err := m.Token(context.Background()); v != good || err != nil {
		t.Fatalf("Token() after recovery = %q, %v; want %q while the refresh runs", v, err, good)
	}
	eventually(t, "the refresh after recovery", func() bool { return f.calls.Load() == 2 && !m.bgBusy.Load() })
	if v, _ := m.Token(context.Background()); v != f.tokens()[1] {
		t.Errorf("Token() after recovery = %q; want the refreshed %q", v, f.tokens()[1])
	}
	if c := strings.Count(logs.String(), "token store unavailable"); c != 1 {
		t.Errorf("logged the outage %d times; want once:\n%s", c, logs.String())
	}
	assertNoSecrets(t, logs.String(), f.tokens()...)
}

// With no token anywhere and the store down, one fetch for this process
// beats an outage; when the store is back the token is shared through it.
func TestStoreOutageWithoutTokenFetchesAloneThenShares(t *testing.T) {
	f := newFakeFetcher(nil)
	inner := NewMemoryStore()
	store := &flakyStore{Store: inner}
	store.down.Store(true)
	m := mustManager(t, Config{Store: store, Fetcher: f})
	var wg sync.WaitGroup
	got := make([]string, 20)
	for i := range got {
		wg.Go(func() { got[i], _ = m.Token(context.Background()) })
	}
	wg.Wait()
	for i, v := range got {
		if v != f.tokens()[0] {
			t.Fatalf("Token() #%d with the store down = %q; want the one token fetched alone", i, v)
		}
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("upstream calls = %d; want 1", n)
	}
	store.down.Store(false)
	eventually(t, "the token to reach the store", func() bool {
		st, err := inner.Load(context.Background())
		return err == nil && st.Value.Reveal() == f.tokens()[0]
	})
}

// WeChat refusing every fetch while no token exists: concurrent callers
// share one attempt, later callers get the remembered error at once, and
// the next attempt waits for the back-off.
func TestRefusedFetchesShareOneAttemptAndBackOff(t *testing.T) {
	clk := newFakeClock()
	f := newFakeFetcher(clk.Now)
	f.setErr(&wechat.APIError{Code: 45009, Endpoint: "/cgi-bin/token"})
	release := f.hold()
	var logs logBuf
	m := mustManager(t, Config{Store: NewMemoryStore(), Fetcher: f, Now: clk.Now, Logger: logs.logger()})
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() { _, errs[i] = m.Token(context.Background()) })
	}
	eventually(t, "the first attempt", func() bool { return f.calls.Load() == 1 })
	time.Sleep(20 * time.Millisecond) // let the others join it
	release()
	wg.Wait()
	for round := range 50 {
		for i := range errs {
			if errs[i] == nil || !errors.Is(errs[i], wechat.ErrQuotaExceeded) {
				t.Fatalf("round %d caller %d: Token() = %v; want the 45009 error", round, i, errs[i])
			}
			_, errs[i] = m.Token(context.Background())
		}
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("upstream calls for 1,020 callers during the back-off = %d; want 1", n)
	}
	if n := strings.Count(logs.String(), "attempt failed"); n != 1 {
		t.Errorf("failure logged %d times; want once per attempt:\n%s", n, logs.String())
	}
	var re *RememberedError
	if !errors.As(errs[0], &re) || re.RetryIn < 30*time.Second {
		t.Fatalf("remembered error = %v; want a RememberedError with a back-off of a minute for 45009", errs[0])
	}
	clk.Advance(re.RetryIn + time.Second)
	f.setErr(nil)
	if v, err := m.Token(context.Background()); err != nil || f.calls.Load() != 2 || v != f.tokens()[0] {
		t.Errorf("Token() after the back-off = %q, %v after %d calls; want a token after 2", v, err, f.calls.Load())
	}
}

func TestBackoffByError(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		n        int
		min, max time.Duration
	}{
		{"busy", &wechat.APIError{Code: -1}, 1, time.Second, time.Second},
		{"busy, doubling", &wechat.APIError{Code: -1}, 3, 4 * time.Second, 4 * time.Second},
		{"busy, capped", &wechat.APIError{Code: -1}, 40, 30 * time.Second, 30 * time.Second},
		{"timeout", context.DeadlineExceeded, 1, time.Second, time.Second},
		{"quota", &wechat.APIError{Code: 45009}, 1, time.Minute, time.Minute},
		{"quota, capped", &wechat.APIError{Code: 45009}, 9, 10 * time.Minute, 10 * time.Minute},
		{"ip whitelist", &wechat.APIError{Code: 40164}, 1, 30 * time.Second, 30 * time.Second},
		{"bad secret", &wechat.APIError{Code: 40125}, 5, 2 * time.Minute, 2 * time.Minute},
	}
	for _, tt := range tests {
		if d := backoff(tt.err, tt.n); d < tt.min || d > tt.max {
			t.Errorf("backoff(%s, %d) = %v; want %v..%v", tt.name, tt.n, d, tt.min, tt.max)
		}
	}
}

// A change seen while the store could not be read is read again at the
// next probe that succeeds, not lost until this process's own refresh.
func TestChangeSeenDuringOutageIsReadLater(t *testing.T) {
	f := newFakeFetcher(nil)
	store := &flakyStore{Store: NewMemoryStore()}
	m := mustManager(t, Config{Store: store, Fetcher: f})
	if _, err := m.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	newer := tok("FROM-ANOTHER-INSTANCE", now.Add(2*time.Hour), now.Add(time.Second))
	store.down.Store(true)
	if _, err := store.Store.Save(context.Background(), newer, Supersede{}); err != nil {
		t.Fatal(err)
	}
	m.onChange() // the notification arrives while the store cannot be read
	if v, _ := m.Token(context.Background()); v == newer.Value.Reveal() {
		t.Fatal("the change was read while the store was down")
	}
	store.down.Store(false)
	eventually(t, "the pending change to be read", func() bool {
		v, _ := m.Token(context.Background())
		return v == newer.Value.Reveal()
	})
}

// A failure remembered while the store was down does not hide the token the
// store holds once it answers again (another instance fetched it): the
// watcher has no change to report, having never read the store, so the
// recovery itself reads it. The clock never moves: only that read, not the
// end of the back-off, can bring the token.
func TestStoreRecoveryServesStoredTokenOverRememberedFailure(t *testing.T) {
	tests := []struct {
		name       string
		savedWhile bool // saved during the outage; else before it
	}{
		{"saved before the outage", false},
		{"saved during the outage", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			f := newFakeFetcher(clk.Now)
			f.setErr(&wechat.APIError{Code: 45009, Endpoint: "/cgi-bin/stable_token"})
			inner := NewMemoryStore()
			stored := tok("FROM-ANOTHER-INSTANCE-xxxxxxxx", clk.Now().Add(2*time.Hour), clk.Now())
			save := func() {
				if _, err := inner.Save(context.Background(), stored, Supersede{}); err != nil {
					t.Fatal(err)
				}
			}
			if !tt.savedWhile {
				save()
			}
			store := &flakyStore{Store: inner}
			store.down.Store(true)
			m := mustManager(t, Config{Store: store, Fetcher: f, Now: clk.Now})
			if _, err := m.Token(context.Background()); !errors.Is(err, wechat.ErrQuotaExceeded) {
				t.Fatalf("Token() with the store down = %v; want the 45009 error", err)
			}
			var re *RememberedError
			if _, err := m.Token(context.Background()); !errors.As(err, &re) {
				t.Fatalf("Token() right after = %v; want the remembered failure", err)
			}
			if tt.savedWhile {
				save()
			}
			store.down.Store(false)
			eventually(t, "the stored token to be served", func() bool {
				v, _ := m.Token(context.Background())
				return v == stored.Value.Reveal()
			})
			if n := f.calls.Load(); n != 1 {
				t.Errorf("upstream calls = %d; want 1 (the stored token needs no fetch)", n)
			}
			if s := m.Stats(); s.LastError != nil {
				t.Errorf("Stats().LastError = %v; want the failure forgotten", s.LastError)
			}
		})
	}
}
