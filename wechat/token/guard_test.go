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

// fakeChecker answers token checks like WeChat's get_api_domain_ip: err
// for every token, counting calls.
type fakeChecker struct {
	calls atomic.Int64
	mu    sync.Mutex
	err   error
}

func (c *fakeChecker) Check(ctx context.Context, _ string) error {
	c.calls.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *fakeChecker) set(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.err = err
}

var errInvalid = &wechat.APIError{Code: 40001, Endpoint: "/cgi-bin/get_api_domain_ip"}

// reports sends n reports of stale, concurrently or one after another.
func reports(m *Manager, stale string, n int, concurrent bool) ([]Token, []error) {
	toks, errs := make([]Token, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		if concurrent {
			wg.Go(func() { toks[i], errs[i] = m.RefreshIfCurrent(context.Background(), stale) })
		} else {
			toks[i], errs[i] = m.RefreshIfCurrent(context.Background(), stale)
		}
	}
	wg.Wait()
	return toks, errs
}

// A token WeChat still accepts is answered as is, however many reports
// arrive and however concurrent: no fetch, and checks only once per memo.
func TestReportOfAcceptedTokenFetchesNothing(t *testing.T) {
	for _, concurrent := range []bool{false, true} {
		name := map[bool]string{false: "sequential", true: "concurrent"}[concurrent]
		t.Run(name, func(t *testing.T) {
			clk := newFakeClock()
			f := newFakeFetcher(clk.Now)
			chk := &fakeChecker{}
			m := mustManager(t, Config{Store: NewMemoryStore(), Fetcher: f, Checker: chk, Now: clk.Now})
			cur, err := m.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			toks, errs := reports(m, cur, 100, concurrent)
			for i := range toks {
				if errs[i] != nil || toks[i].Value.Reveal() != cur {
					t.Fatalf("report #%d = %q, %v; want the accepted %q", i, toks[i].Value.Reveal(), errs[i], cur)
				}
			}
			if n := f.calls.Load(); n != 1 {
				t.Errorf("upstream fetches after 100 reports of an accepted token = %d; want 1 (the first)", n)
			}
			if n := chk.calls.Load(); n != 1 {
				t.Errorf("checks = %d; want 1 (shared, then remembered for %v)", n, DefaultCheckMemo)
			}
			clk.Advance(DefaultCheckMemo + time.Second)
			reports(m, cur, 10, concurrent)
			if n, c := f.calls.Load(), chk.calls.Load(); n != 1 || c != 2 {
				t.Errorf("after the memo: fetches %d, checks %d; want 1 and 2", n, c)
			}
			s := m.Stats()
			if s.Checks["accepted"] != 2 || s.Reports != 110 || !concurrent && s.Checks["cached"] != 108 {
				t.Errorf("Stats() checks %v reports %d; want 2 accepted (and 108 cached when sequential), 110 reports", s.Checks, s.Reports)
			}
		})
	}
}

// A token WeChat rejects costs exactly one fetch for any number of reports,
// and is never served again.
func TestReportOfRejectedTokenFetchesOnce(t *testing.T) {
	f := newFakeFetcher(nil)
	chk := &fakeChecker{err: errInvalid}
	m := mustManager(t, Config{Store: NewMemoryStore(), Fetcher: f, Checker: chk})
	stale, err := m.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	release := f.hold()
	var wg sync.WaitGroup
	var toks []Token
	wg.Go(func() { toks, _ = reports(m, stale, 50, true) })
	eventually(t, "the fetch to start", func() bool { return f.calls.Load() == 2 })
	// Callers now wait for the new token instead of getting the rejected one.
	var during string
	wg.Go(func() { during, _ = m.Token(context.Background()) })
	time.Sleep(20 * time.Millisecond)
	release()
	wg.Wait()
	if during != f.tokens()[1] {
		t.Errorf("Token() during the refresh = %q; want to wait for the new %q", during, f.tokens()[1])
	}
	for i, tk := range toks {
		if tk.Value.Reveal() != f.tokens()[1] {
			t.Fatalf("report #%d = %q; want the new %q", i, tk.Value.Reveal(), f.tokens()[1])
		}
	}
	if n, c := f.calls.Load(), chk.calls.Load(); n != 2 || c != 1 {
		t.Errorf("fetches %d, checks %d; want 2 (initial + one refresh) and 1", n, c)
	}
}

// A check that cannot tell fetches nothing and keeps the token in service.
func TestReportCheckInconclusive(t *testing.T) {
	f := newFakeFetcher(nil)
	chk := &fakeChecker{err: &wechat.APIError{Code: -1, Endpoint: "/cgi-bin/get_api_domain_ip"}}
	m := mustManager(t, Config{Store: NewMemoryStore(), Fetcher: f, Checker: chk})
	cur, _ := m.Token(context.Background())
	if _, err := m.RefreshIfCurrent(context.Background(), cur); !errors.Is(err, wechat.ErrSystemBusy) {
		t.Errorf("RefreshIfCurrent() with a failing check = %v; want the check's error", err)
	}
	if v, err := m.Token(context.Background()); v != cur || err != nil || f.calls.Load() != 1 {
		t.Errorf("Token() = %q, %v after %d fetches; want %q after 1", v, err, f.calls.Load(), cur)
	}
	if s := m.Stats(); s.Checks["failed"] != 1 {
		t.Errorf("Stats().Checks = %v; want 1 failed", s.Checks)
	}
}

// Rejected, and the fetch fails: nothing valid remains, so callers get the
// error (remembered) rather than the token WeChat refuses.
func TestRejectedTokenIsNotServedWhenTheFetchFails(t *testing.T) {
	f := newFakeFetcher(nil)
	chk := &fakeChecker{err: errInvalid}
	m := mustManager(t, Config{Store: NewMemoryStore(), Fetcher: f, Checker: chk})
	stale, _ := m.Token(context.Background())
	f.setErr(&wechat.APIError{Code: 45009, Endpoint: "/cgi-bin/token"})
	if _, err := m.RefreshIfCurrent(context.Background(), stale); !errors.Is(err, wechat.ErrQuotaExceeded) {
		t.Fatalf("RefreshIfCurrent() = %v; want 45009", err)
	}
	if v, err := m.Token(context.Background()); err == nil || v == stale {
		t.Errorf("Token() after the rejection = %q, %v; want an error, not the rejected token", v, err)
	}
	if n := f.calls.Load(); n != 2 {
		t.Errorf("fetches = %d; want 2 (the remembered failure answers the Token call)", n)
	}
}

// A check that cannot tell is the reporter's error only: it is not
// remembered as a failed fetch (callers of an instance holding no token in
// memory still get the stored one, and the next real failure's back-off
// does not grow), it is not logged as the token being unavailable, and it
// is reused for CheckMemo like an accepted check.
func TestReportCheckFailureIsNotRemembered(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{"busy", &wechat.APIError{Code: -1, Endpoint: "/cgi-bin/get_api_domain_ip"}},
		{"network", errors.New("dial tcp: connection refused")},
		{"timeout", context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			f := newFakeFetcher(clk.Now)
			shared := NewMemoryStore()
			a := mustManager(t, Config{Store: shared, Fetcher: f, Now: clk.Now})
			cur, err := a.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			// b shares the store but holds no token in memory yet.
			chk := &fakeChecker{err: tt.err}
			var logs logBuf
			b := mustManager(t, Config{Store: shared, Fetcher: f, Checker: chk, Now: clk.Now, Logger: logs.logger()})
			for i := range 3 {
				if _, err := b.RefreshIfCurrent(context.Background(), cur); !errors.Is(err, tt.err) {
					t.Fatalf("RefreshIfCurrent() #%d with a failing check = %v; want the check's error", i, err)
				}
			}
			if n := chk.calls.Load(); n != 1 {
				t.Errorf("checks for 3 reports within CheckMemo = %d; want 1", n)
			}
			if v, err := b.Token(context.Background()); v != cur || err != nil {
				t.Errorf("Token() after the failed check = %q, %v; want the stored %q", v, err, cur)
			}
			if s := b.Stats(); s.LastError != nil || s.Checks["failed"] != 1 || s.Checks["cached"] != 2 {
				t.Errorf("Stats() LastError %v, checks %v; want no failure remembered, 1 failed and 2 cached checks", s.LastError, s.Checks)
			}
			if strings.Contains(logs.String(), "token unavailable") {
				t.Errorf("a failed check was logged as the token being unavailable:\n%s", logs.String())
			}
			clk.Advance(DefaultCheckMemo + time.Millisecond)
			chk.set(nil)
			if tk, err := b.RefreshIfCurrent(context.Background(), cur); tk.Value.Reveal() != cur || err != nil {
				t.Errorf("RefreshIfCurrent() after the memo = %q, %v; want the accepted %q", tk.Value.Reveal(), err, cur)
			}
			if n, c := f.calls.Load(), chk.calls.Load(); n != 1 || c != 2 {
				t.Errorf("fetches %d, checks %d; want 1 and 2", n, c)
			}
		})
	}
}
