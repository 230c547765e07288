package token

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var refreshedLine = regexp.MustCompile(`msg="token refreshed".* expires_at=(\S+)`)

// plant writes t into s behind the Manager's back, the way an attacker or
// a host with a wrong clock would: straight into the file or the hash.
func plant(t *testing.T, s Store, tk Token) {
	t.Helper()
	switch st := s.(type) {
	case *cachedStore:
		plant(t, st.inner, tk)
		st.forget()
	case watchingCachedStore:
		plant(t, st.cachedStore, tk)
	case *fileStore:
		b, _ := json.Marshal(fileRecord{AccessToken: tk.Value.Reveal(), ExpiresAt: tk.ExpiresAt, FetchedAt: tk.FetchedAt})
		if err := os.WriteFile(st.path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	case *redisStore:
		err := st.c.HSet(context.Background(), st.key, "value", tk.Value.Reveal(),
			"expires_at", strconv.FormatInt(tk.ExpiresAt.UnixMicro(), 10),
			"fetched_at", strconv.FormatInt(tk.FetchedAt.UnixMicro(), 10), "by", "attacker").Err()
		if err != nil {
			t.Fatal(err)
		}
	case *memoryStore:
		st.mu.Lock()
		st.tok = tk
		st.mu.Unlock()
	default:
		t.Fatalf("plant: unknown store %T", s)
	}
}

// A stored token WeChat could not have issued — fetched in the future, or
// expiring further ahead than any expires_in — is never served, is
// replaced by the next fetch whatever its timestamps, and a reader started
// afterwards (a restart) gets the replacement with an honest expiry.
func TestUntrustworthyStoredTokenIsReplaced(t *testing.T) {
	now := time.Now()
	planted := []struct {
		name string
		tok  Token
	}{
		{"the issue's planted record", tok("PLANTED", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))},
		{"expiry beyond expires_in's ceiling", tok("PLANTED", now.Add(maxLifetime+clockSkew+time.Minute), now.Add(-time.Minute))},
		{"fetched beyond the clock-skew allowance", tok("PLANTED", now.Add(time.Hour), now.Add(clockSkew+time.Minute))},
	}
	for kind, mk := range storeMakers(t) {
		for _, p := range planted {
			t.Run(kind+"/"+p.name, func(t *testing.T) {
				s := mk(t)
				plant(t, s, p.tok)
				var logs logBuf
				f := newFakeFetcher(nil)
				c := &fakeChecker{err: errInvalid} // WeChat never issued PLANTED
				m := mustManager(t, Config{Store: s, Fetcher: f, Checker: c, Logger: logs.logger()})
				got, err := m.Current(context.Background())
				if err != nil || got.Value == "PLANTED" || f.calls.Load() != 1 {
					t.Fatalf("Current() = %q, %v after %d fetches; want a fetched token", got.Value.Reveal(), err, f.calls.Load())
				}
				rep, err := m.RefreshIfCurrent(context.Background(), "PLANTED")
				if err != nil || !rep.Value.Equal(got.Value.Reveal()) {
					t.Errorf("RefreshIfCurrent(PLANTED) = %q, %v; want %q", rep.Value.Reveal(), err, got.Value.Reveal())
				}
				stored, err := s.Load(context.Background())
				if err != nil || !stored.Value.Equal(got.Value.Reveal()) {
					t.Errorf("store holds %q, %v; want the fetched %q", stored.Value.Reveal(), err, got.Value.Reveal())
				}
				// A restart: a new Manager on the same store.
				m2 := mustManager(t, Config{Store: s, Fetcher: f, Checker: c})
				again, err := m2.Current(context.Background())
				if err != nil || !again.Value.Equal(got.Value.Reveal()) || f.calls.Load() != 1 {
					t.Errorf("after a restart Current() = %q, %v after %d fetches; want %q and no fetch", again.Value.Reveal(), err, f.calls.Load(), got.Value.Reveal())
				}
				if left := time.Until(again.ExpiresAt); left > maxLifetime {
					t.Errorf("after a restart the token expires in %v; want at most %v", left.Round(time.Second), maxLifetime)
				}
				for _, m := range refreshedLine.FindAllStringSubmatch(logs.String(), -1) {
					if at, err := time.Parse(time.RFC3339Nano, m[1]); err != nil || time.Until(at) > maxLifetime {
						t.Errorf("logged \"token refreshed\" with expires_at=%s; want within %v", m[1], maxLifetime)
					}
				}
				if n := strings.Count(logs.String(), "cannot have issued"); n != 1 {
					t.Errorf("%d warnings about the planted record; want 1:\n%s", n, logs.String())
				}
			})
		}
	}
}

// A token WeChat rejects is replaced in the store even when its fetched_at
// is later than the replacement's (another host's clock runs a little
// ahead): the response and the store hold the new token.
func TestRejectedTokenIsReplacedWhateverItsTimestamps(t *testing.T) {
	for kind, mk := range storeMakers(t) {
		t.Run(kind, func(t *testing.T) {
			now := time.Now()
			s := mk(t)
			ahead := tok("AHEAD-"+strings.Repeat("a", 20), now.Add(time.Hour+time.Minute), now.Add(time.Minute))
			plant(t, s, ahead)
			f := newFakeFetcher(nil)
			c := &fakeChecker{}
			m := mustManager(t, Config{Store: s, Fetcher: f, Checker: c})
			if v, err := m.Token(context.Background()); err != nil || v != ahead.Value.Reveal() {
				t.Fatalf("Token() = %q, %v; want the stored token (a minute ahead is within the skew allowance)", v, err)
			}
			c.set(errInvalid)
			got, err := m.RefreshIfCurrent(context.Background(), ahead.Value.Reveal())
			if err != nil || got.Value.Reveal() != f.tokens()[0] {
				t.Fatalf("RefreshIfCurrent(rejected) = %q, %v; want the fetched token", got.Value.Reveal(), err)
			}
			if stored, err := s.Load(context.Background()); err != nil || stored.Value.Reveal() != f.tokens()[0] {
				t.Errorf("store holds %q, %v; want the fetched token over the rejected one", stored.Value.Reveal(), err)
			}
		})
	}
}

// A clock that jumped forward stamps tokens with the future. A host whose
// clock is right never serves such a token; the jumped host itself stops
// serving it once its clock is put right, and replaces it in the store.
func TestClockJumpedForward(t *testing.T) {
	for kind, mk := range storeMakers(t) {
		t.Run(kind, func(t *testing.T) {
			s := mk(t)
			clk := newFakeClock()
			clk.Advance(365 * 24 * time.Hour)
			fa := newFakeFetcher(clk.Now)
			var logs logBuf
			jumped := mustManager(t, Config{Store: s, Fetcher: fa, Now: clk.Now, Instance: "jumped-host"})
			future, err := jumped.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}

			fb := newFakeFetcherPrefix(nil, "RIGHT")
			right := mustManager(t, Config{Store: s, Fetcher: fb, Logger: logs.logger()})
			for i := range 20 { // while both watchers follow the store
				if v, err := right.Token(context.Background()); err != nil || v == future {
					t.Fatalf("a right clock's Token() #%d = %q, %v; want its own token, not the future one", i, v, err)
				}
				time.Sleep(DefaultFilePoll / 5)
			}
			if n := fb.calls.Load(); n != 1 {
				t.Errorf("the right clock's host fetched %d times; want 1", n)
			}
			if n := strings.Count(logs.String(), "jumped-host"); n != 1 {
				t.Errorf("%d warnings name the host with the wrong clock; want 1:\n%s", n, logs.String())
			}

			clk.Advance(-365 * 24 * time.Hour) // the jumped clock is put right
			v, err := jumped.Token(context.Background())
			if err != nil || v == future {
				t.Errorf("after the clock is put right Token() = %q, %v; want anything but the future token", v, err)
			}
			eventually(t, "the store to drop the future token", func() bool {
				st, err := s.Load(context.Background())
				return err == nil && st.Value.Reveal() != future
			})
		})
	}
}
