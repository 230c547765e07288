package token

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"wxoa/wechat"
)

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

// A failing background refresh backs off by what failed, as callers waiting
// on a remembered failure do: WeChat is not asked again before the back-off
// ends (a quota used up is not retried every minute of the margin), and is
// asked once after it.
func TestBackgroundRefreshBacksOff(t *testing.T) {
	tests := []struct {
		name  string
		err   error         // the failed fetch; nil: a fetch that succeeds with ttl
		ttl   time.Duration // lifetime of the fetched token when err is nil
		cause error         // what the back-off is chosen by
	}{
		{"busy", &wechat.APIError{Code: -1, Endpoint: "/cgi-bin/stable_token"}, 0, nil},
		{"quota", &wechat.APIError{Code: 45009, Endpoint: "/cgi-bin/stable_token"}, 0, nil},
		{"ip whitelist", &wechat.APIError{Code: 40164, Endpoint: "/cgi-bin/stable_token"}, 0, nil},
		{"store down", nil, 0, errStoreDown},
		{"new token inside the margin", nil, 3 * time.Minute, errInsideMargin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			f := newFakeFetcher(clk.Now)
			store := &flakyStore{Store: NewMemoryStore()}
			m := mustManager(t, Config{Store: store, Fetcher: f, Now: clk.Now})
			if _, err := m.Token(context.Background()); err != nil {
				t.Fatal(err)
			}
			cause := cmp.Or(tt.cause, tt.err)
			wantCalls := int64(2)
			switch {
			case tt.err != nil:
				f.setErr(tt.err)
			case tt.ttl != 0:
				f.ttl = tt.ttl // no fetch runs: the next starts after this write
			default:
				store.down.Store(true)
				wantCalls = 1
			}
			clk.Advance(7200*time.Second - 4*time.Minute)
			m.Token(context.Background())
			eventually(t, "the failed refresh", func() bool { return f.calls.Load() == wantCalls && !m.bgBusy.Load() })
			wait := backoff(cause, 1)
			clk.Advance(wait - time.Millisecond)
			for range 100 {
				m.Token(context.Background())
			}
			eventually(t, "no background refresh", func() bool { return !m.bgBusy.Load() })
			if c := f.calls.Load(); c != wantCalls {
				t.Errorf("upstream calls during the %v back-off = %d; want %d", wait, c, wantCalls)
			}
			clk.Advance(time.Millisecond)
			f.setErr(nil)
			f.ttl = 7200 * time.Second
			store.down.Store(false)
			m.Token(context.Background())
			eventually(t, "the retry", func() bool { return f.calls.Load() == wantCalls+1 && !m.bgBusy.Load() })
			minted := f.tokens()
			if v, _ := m.Token(context.Background()); v != minted[len(minted)-1] {
				t.Errorf("Token() after the retry = %q; want the new %q", v, minted[len(minted)-1])
			}
		})
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

func (s *stubStore) Save(ctx context.Context, t Token, sup Supersede) (Token, error) {
	if s.saveErr != nil {
		return Token{}, fmt.Errorf("stub: %w", s.saveErr)
	}
	return s.Store.Save(ctx, t, sup)
}
