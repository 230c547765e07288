package token

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"wxoa/wechat"
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
			store, _, err := Open(spec, "access_token", nil)
			if err != nil {
				t.Fatal(err)
			}
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
	store, _, _ := Open("memory", "access_token", nil)
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

// upstreamErrors are what WeChat's token endpoint fails with.
var upstreamErrors = []struct {
	name string
	err  error
	is   error
}{
	{"busy -1", &wechat.APIError{Code: -1, Endpoint: "/cgi-bin/stable_token"}, wechat.ErrSystemBusy},
	{"quota 45009", &wechat.APIError{Code: 45009, Endpoint: "/cgi-bin/stable_token"}, wechat.ErrQuotaExceeded},
	{"server error", errors.New("wechat /cgi-bin/stable_token: HTTP 502"), nil},
	{"hang", nil, context.DeadlineExceeded},
}

func TestUpstreamFailureKeepsServingValidToken(t *testing.T) {
	for _, tt := range upstreamErrors {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			f := newFakeFetcher(clk.Now)
			var logs logBuf
			m := mustManager(t, Config{Store: NewMemoryStore(), Fetcher: f, Now: clk.Now,
				FetchTimeout: 50 * time.Millisecond, Logger: logs.logger()})
			good, err := m.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			fail(f, tt.err)

			// Outside the margin nothing is fetched.
			clk.Advance(time.Hour)
			if v, err := m.Token(context.Background()); v != good || err != nil || f.calls.Load() != 1 {
				t.Errorf("Token() outside the margin = %q, %v after %d calls; want %q, nil after 1", v, err, f.calls.Load(), good)
			}
			// Inside it the background refresh fails; callers still get the good token.
			clk.Advance(time.Hour - time.Minute)
			if v, err := m.Token(context.Background()); v != good || err != nil {
				t.Errorf("Token() inside the margin = %q, %v; want %q, nil", v, err, good)
			}
			eventually(t, "the background refresh to fail", func() bool {
				return strings.Contains(logs.String(), "refresh failed")
			})
			if v, err := m.Token(context.Background()); v != good || err != nil {
				t.Errorf("Token() after a failed refresh = %q, %v; want %q, nil", v, err, good)
			}
			assertNoSecrets(t, logs.String(), f.tokens()...)
		})
	}
}

func TestUpstreamFailureWithoutTokenReturnsWrappedError(t *testing.T) {
	for _, tt := range upstreamErrors {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeFetcher(nil)
			fail(f, tt.err)
			m := mustManager(t, Config{Name: "access_token", Store: NewMemoryStore(), Fetcher: f, FetchTimeout: 50 * time.Millisecond})
			_, err := m.Token(context.Background())
			if err == nil || !strings.HasPrefix(err.Error(), "token access_token: ") {
				t.Fatalf("Token() = %v; want an error starting %q", err, "token access_token: ")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Token() = %v; want errors.Is(err, %v)", err, tt.is)
			}
		})
	}
}

// fail makes f return err, or hang until its context ends when err is nil.
func fail(f *fakeFetcher, err error) {
	if err == nil {
		f.hold()
		return
	}
	f.setErr(err)
}

func TestBackgroundRefreshBacksOff(t *testing.T) {
	clk := newFakeClock()
	f := newFakeFetcher(clk.Now)
	m := mustManager(t, Config{Store: NewMemoryStore(), Fetcher: f, Now: clk.Now})
	if _, err := m.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.setErr(&wechat.APIError{Code: -1, Endpoint: "/cgi-bin/stable_token"})
	clk.Advance(7200*time.Second - 4*time.Minute)
	m.Token(context.Background())
	eventually(t, "the failed refresh", func() bool { return f.calls.Load() == 2 && !m.bgBusy.Load() })
	for range 100 {
		m.Token(context.Background())
	}
	if c := f.calls.Load(); c != 2 {
		t.Errorf("upstream calls during back-off = %d; want 2", c)
	}
	clk.Advance(minBackoff + time.Millisecond)
	f.setErr(nil)
	m.Token(context.Background())
	eventually(t, "the retry", func() bool { return f.calls.Load() == 3 && !m.bgBusy.Load() })
	if v, _ := m.Token(context.Background()); v != f.tokens()[1] {
		t.Errorf("Token() after the retry = %q; want %q", v, f.tokens()[1])
	}
}

func TestQuotaCounterSharedAndWarned(t *testing.T) {
	clk := newFakeClock()
	store := NewMemoryStore()
	var logs logBuf
	f := newFakeFetcher(clk.Now)
	var ms []*Manager
	for range 2 {
		ms = append(ms, mustManager(t, Config{Store: store, Fetcher: f, Now: clk.Now, DailyLimit: 5, Logger: logs.logger()}))
	}
	for i := range 4 {
		if _, err := ms[i%2].ForceRefresh(context.Background()); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute)
	}
	day := clk.Now().In(shanghai()).Format(time.DateOnly)
	if n, _ := store.CountFetch(context.Background(), day); n != 5 {
		t.Errorf("CountFetch after 4 fetches by two managers = %d; want 5", n)
	}
	if got := strings.Count(logs.String(), "80% used"); got != 1 {
		t.Errorf("80%% warnings = %d; want 1\n%s", got, logs.String())
	}
	if _, err := ms[0].ForceRefresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "quota reached") {
		t.Errorf("no error logged at 100%% of the quota:\n%s", logs.String())
	}
	assertNoSecrets(t, logs.String(), f.tokens()...)
}

func TestQuotaDayIsBeijingDate(t *testing.T) {
	// 16:30 UTC is 00:30 the next day in Beijing.
	now := time.Date(2026, 3, 1, 16, 30, 0, 0, time.UTC)
	store := NewMemoryStore()
	f := newFakeFetcher(func() time.Time { return now })
	m := mustManager(t, Config{Store: store, Fetcher: f, Now: func() time.Time { return now }})
	if _, err := m.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, _ := store.CountFetch(context.Background(), "2026-03-02"); n != 2 {
		t.Errorf("CountFetch(2026-03-02) = %d; want 2 (one fetch counted on the Beijing date)", n)
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

func TestStoreFailuresAreSurvivable(t *testing.T) {
	f := newFakeFetcher(nil)
	broken := &stubStore{Store: NewMemoryStore(), saveErr: errors.New("disk full")}
	var logs logBuf
	m := mustManager(t, Config{Store: NewCachedStore(broken), Fetcher: f, Logger: logs.logger()})
	v, err := m.Token(context.Background())
	if err != nil || v != f.tokens()[0] {
		t.Fatalf("Token() with an unwritable store = %q, %v; want the fetched token", v, err)
	}
	if v2, _ := m.Token(context.Background()); v2 != v || f.calls.Load() != 1 {
		t.Errorf("second Token() = %q after %d calls; want %q after 1", v2, f.calls.Load(), v)
	}
	if !strings.Contains(logs.String(), "disk full") {
		t.Errorf("save failure not logged:\n%s", logs.String())
	}
}

type stubStore struct {
	Store
	saveErr error
}

func (s *stubStore) Save(ctx context.Context, t Token) (Token, error) {
	if s.saveErr != nil {
		return Token{}, fmt.Errorf("stub: %w", s.saveErr)
	}
	return s.Store.Save(ctx, t)
}
