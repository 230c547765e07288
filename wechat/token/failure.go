package token

import (
	"context"
	"errors"
	"fmt"
	"time"

	"wxoa/wechat"
)

// failure is an attempt that left callers without a token. Until `until`,
// callers get err at once: a WeChat that refuses (45009, a wrong secret, an
// IP not whitelisted) or is down is asked again after a back-off, not once
// per caller.
type failure struct {
	err   error
	at    time.Time
	until time.Time // monotonic with the real clock
	n     int       // consecutive failures
}

// Back-off after a failed attempt, by what WeChat said: the one policy for
// callers waiting on a remembered failure and for the background refresh
// ahead of expiry. Transient failures (errcode -1, timeouts, 5xx, a store
// down) are retried within seconds; those an operator must fix, or that last
// until WeChat's quota resets, wait longer. Each consecutive failure doubles
// the wait, up to the ceiling.
var backoffs = []struct {
	is         func(error) bool
	base, ceil time.Duration
}{
	{func(err error) bool { return errors.Is(err, wechat.ErrQuotaExceeded) }, time.Minute, 10 * time.Minute},
	{func(err error) bool {
		return errors.Is(err, wechat.ErrBadCredentials) || errors.Is(err, wechat.ErrIPNotWhitelisted)
	}, 30 * time.Second, 2 * time.Minute},
	// WeChat keeps answering with a token already inside the margin (stable
	// mode hands out a new one only in a token's last five minutes): asking
	// again within seconds would only get the same answer.
	{func(err error) bool { return errors.Is(err, errInsideMargin) }, 2 * time.Second, time.Minute},
}

// Back-off for every failure no row of backoffs matches: the transient ones.
const (
	transientBackoff     = time.Second
	transientBackoffCeil = 30 * time.Second
)

// errInsideMargin is a background refresh whose new token already expires
// within the margin; it only picks the back-off.
var errInsideMargin = errors.New("new token expires within the refresh margin")

// backoff returns how long to wait after the n-th consecutive failure err.
func backoff(err error, n int) time.Duration {
	base, ceil := transientBackoff, transientBackoffCeil
	for _, b := range backoffs {
		if b.is(err) {
			base, ceil = b.base, b.ceil
			break
		}
	}
	return min(base<<min(max(n-1, 0), 16), ceil)
}

// failed remembers a failed attempt (one log line per attempt, however many
// callers were waiting on it).
func (m *Manager) failed(err error) {
	if errors.Is(err, errClosed) {
		return
	}
	n := 1
	if prev := m.fail.Load(); prev != nil {
		n = prev.n + 1
	}
	now := m.now()
	d := backoff(err, n)
	m.fail.Store(&failure{err: err, at: now, until: now.Add(d), n: n})
	m.log.Error("token unavailable: attempt failed; callers get this error until the next attempt",
		"err", err, "attempt", n, "retry_in", d)
}

// remembered returns the remembered failure's error while it lasts.
func (m *Manager) remembered() error {
	f := m.fail.Load()
	if f == nil || !m.before(f.until) {
		return nil
	}
	m.stats.remembered.Add(1)
	left := f.until.Sub(m.now()).Round(100 * time.Millisecond)
	return &RememberedError{Err: fmt.Errorf("token %s: %w", m.name, f.err), RetryIn: max(left, 0)}
}

// RememberedError is a recent failure handed to a caller without asking
// WeChat again. It unwraps to that failure, so errors.Is sees WeChat's
// errcode sentinels.
type RememberedError struct {
	Err     error
	RetryIn time.Duration // until the next attempt is allowed
}

func (e *RememberedError) Error() string {
	return fmt.Sprintf("%v (remembered; next attempt in %s)", e.Err, e.RetryIn)
}
func (e *RememberedError) Unwrap() error { return e.Err }

// checkMemo is WeChat's last answer on a check of a token: accepted (err
// nil) or unknown (err), and until when that answer is reused.
type checkMemo struct {
	value string
	until time.Time
	err   error // the failed check's error; nil: WeChat accepted the token
}

// checkError is a check of a reported token that could not tell whether
// WeChat still accepts it. It goes back to the reporter only: the token
// stays in service, so it is no failure to remember (see failure) and no
// reason to back off the next fetch.
type checkError struct{ err error }

func (e *checkError) Error() string {
	return "check the reported token with WeChat: " + e.err.Error()
}
func (e *checkError) Unwrap() error { return e.err }

// checkStale asks WeChat whether stale — still the token in memory or, with
// none there, stored (the store's token as settled just read it) — really
// is rejected. done reports whether the answer settles the report: WeChat
// accepts the token (returned as is, nothing fetched), or the check itself
// failed (a *checkError). Otherwise the token is marked rejected and the
// caller fetches.
func (m *Manager) checkStale(ctx context.Context, stale string, stored Token) (Token, bool, error) {
	if m.checker == nil || stale == "" {
		return Token{}, false, nil
	}
	cur, ok := m.hotToken()
	if !ok && stored.Valid(m.now()) {
		cur, ok = stored, true
	}
	if !ok || !cur.Value.Equal(stale) {
		return Token{}, false, nil // nothing valid to keep: fetch
	}
	// Both answers are reused for CheckMemo, so a client reporting the token
	// in a loop costs WeChat one check per CheckMemo, whether WeChat accepts
	// it or cannot answer.
	if c := m.checked.Load(); c != nil && c.value == stale && m.before(c.until) {
		m.stats.checks[checkCached].Add(1)
		if c.err != nil {
			return Token{}, true, c.err
		}
		return cur, true, nil
	}
	err := m.checker.Check(ctx, stale)
	switch {
	case err == nil:
		m.stats.checks[checkAccepted].Add(1)
		m.checked.Store(&checkMemo{value: stale, until: m.now().Add(m.checkMemo)})
		m.log.Info("a reported stale token is accepted by WeChat; kept it, fetched nothing (is the reporting client using another appid?)")
		return cur, true, nil
	case errors.Is(err, wechat.ErrTokenInvalid):
		m.stats.checks[checkRejected].Add(1)
		m.reject(stale)
		m.log.Info("WeChat rejects the current token; fetching a new one")
		return Token{}, false, nil
	default:
		m.stats.checks[checkFailed].Add(1)
		cerr := &checkError{err: err}
		m.checked.Store(&checkMemo{value: stale, until: m.now().Add(m.checkMemo), err: cerr})
		m.log.Warn("could not check a reported token with WeChat; keeping it in service", "err", err)
		return Token{}, true, cerr
	}
}
