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

// Back-off after a failed attempt, by what WeChat said. Transient failures
// (errcode -1, timeouts, 5xx, a store down) are retried within seconds;
// those an operator must fix, or that last until WeChat's quota resets, wait
// longer. Each consecutive failure doubles the wait, up to the ceiling.
var backoffs = []struct {
	is         func(error) bool
	base, ceil time.Duration
}{
	{func(err error) bool { return errors.Is(err, wechat.ErrQuotaExceeded) }, time.Minute, 10 * time.Minute},
	{func(err error) bool {
		return errors.Is(err, wechat.ErrBadCredentials) || errors.Is(err, wechat.ErrIPNotWhitelisted)
	}, 30 * time.Second, 2 * time.Minute},
	{func(error) bool { return true }, time.Second, 30 * time.Second},
}

// backoff returns how long to remember the n-th consecutive failure err.
func backoff(err error, n int) time.Duration {
	for _, b := range backoffs {
		if b.is(err) {
			return min(b.base<<min(n-1, 16), b.ceil)
		}
	}
	return time.Second
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

// checkMemo is a token WeChat accepted on a check, and until when that
// answer is reused.
type checkMemo struct {
	value string
	until time.Time
}

// checkStale asks WeChat whether stale — the token the store and memory
// still hold — really is rejected. done reports whether the answer settles
// the report: WeChat accepts the token (returned as is, nothing fetched), or
// the check itself failed (err). Otherwise the token is marked rejected and
// the caller fetches.
func (m *Manager) checkStale(ctx context.Context, stale string) (Token, bool, error) {
	if m.checker == nil || stale == "" {
		return Token{}, false, nil
	}
	cur, ok := m.hotToken()
	if !ok {
		if t, err := m.store.Load(ctx); err == nil && t.Valid(m.now()) {
			cur, ok = t, true
		}
	}
	if !ok || !cur.Value.Equal(stale) {
		return Token{}, false, nil // nothing valid to keep: fetch
	}
	if c := m.checked.Load(); c != nil && c.value == stale && m.before(c.until) {
		m.stats.checks[checkCached].Add(1)
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
		return Token{}, true, fmt.Errorf("check the reported token with WeChat: %w", err)
	}
}
