package token

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// mode says what a refresh is for, and so when the re-read after locking
// shows it has nothing left to do.
type mode int

const (
	modeNormal mode = iota // no usable token, or it is inside the margin
	modeStale              // WeChat rejected a token: replace it if still current
	modeForce              // an operator asked for a new token
)

// errStoreDown stops a background refresh that could not take the shared
// lock: the token in memory stays in service, and fetching without the lock
// could invalidate the token the rest of the fleet is using.
var errStoreDown = errors.New("shared store unavailable; keeping the current token")

// keptError is a fetch that failed while a token that still works remained:
// the refresh answers with that token (callers never see this error), and
// the background refresh backs off by the fetch's error.
type keptError struct{ err error }

func (e *keptError) Error() string { return "fetch failed; kept the current token: " + e.err.Error() }
func (e *keptError) Unwrap() error { return e.err }

// kept reports whether err is a *keptError: a refresh that still answered
// with a token.
func kept(err error) bool {
	var k *keptError
	return errors.As(err, &k)
}

// countsAsFailure reports whether a refresh's error leaves callers without
// a token, and so is remembered (see failure). A failed check of a reported
// token leaves it in service, and a kept token is served.
func countsAsFailure(err error) bool {
	var ce *checkError
	return err != nil && !kept(err) && !errors.As(err, &ce)
}

// wait joins (or starts) the one refresh for its key and waits for it on
// ctx. The refresh itself runs detached from ctx, bounded by FetchTimeout
// and by Close, so a caller giving up does not cancel it for the others.
// While a failed attempt is remembered (see failure), callers without a
// token get its error at once.
func (m *Manager) wait(ctx context.Context, md mode, stale string, started time.Time) (Token, error) {
	if md != modeForce {
		if err := m.remembered(); err != nil {
			return Token{}, err
		}
	}
	key := "normal"
	switch md {
	case modeStale:
		key = "stale\x00" + stale
	case modeForce:
		key = "force"
	}
	ch := m.group.DoChan(key, func() (any, error) {
		if !m.acquire() {
			return Token{}, errClosed
		}
		defer m.wg.Done()
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.fetchTimeout)
		defer cancel()
		defer context.AfterFunc(m.done, cancel)()
		t, err := m.refresh(fctx, md, stale, started)
		if countsAsFailure(err) && m.done.Err() == nil {
			m.failed(err)
		}
		return t, err
	})
	select {
	case r := <-ch:
		if r.Err != nil && !kept(r.Err) {
			return Token{}, fmt.Errorf("token %s: %w", m.name, r.Err)
		}
		t := r.Val.(Token)
		if r.Err == nil {
			m.failures.Store(0)
		}
		m.remember(t, m.now())
		return t, nil
	case <-ctx.Done():
		return Token{}, fmt.Errorf("token %s: %w", m.name, ctx.Err())
	}
}

// refreshAhead starts one background refresh for a token inside the margin,
// unless one is running or a recent one failed.
func (m *Manager) refreshAhead(now time.Time) {
	if now.UnixNano() < m.retryAt.Load() || !m.bgBusy.CompareAndSwap(false, true) {
		return
	}
	if !m.acquire() {
		m.bgBusy.Store(false)
		return
	}
	go m.background(now)
}

func (m *Manager) background(started time.Time) {
	defer m.wg.Done()
	defer m.bgBusy.Store(false)
	ctx, cancel := context.WithTimeout(m.done, m.fetchTimeout)
	defer cancel()
	v, err, _ := m.group.Do("normal", func() (any, error) {
		return m.refresh(ctx, modeNormal, "", started)
	})
	if err == nil && v.(Token).Fresh(m.now(), m.margin) {
		m.remember(v.(Token), m.now())
		m.failures.Store(0)
		m.retryAt.Store(0)
		return
	}
	// The same back-off as callers waiting on a remembered failure get, by
	// the same error: a quota WeChat resets at midnight is not asked for
	// again every minute of the margin.
	cause := err
	var k *keptError
	switch {
	case errors.As(err, &k):
		cause = k.err // logged by fetch
	case err == nil:
		cause = errInsideMargin
	}
	wait := backoff(cause, int(m.failures.Add(1)))
	m.retryAt.Store(m.now().Add(wait).UnixNano())
	if err == nil || k != nil || errors.Is(err, errClosed) || m.done.Err() != nil {
		return
	}
	if errors.Is(err, errStoreDown) {
		m.log.Warn("background token refresh postponed: the shared store is unavailable; serving the current token", "retry_in", wait)
		return
	}
	m.log.Error("background token refresh failed; serving the current token", "err", err, "retry_in", wait)
}

// refresh settles md from what is already known — the token in memory, the
// store — and only then takes the store's lock, re-reads the store (another
// goroutine, process or host may have refreshed while we waited) and
// fetches if the token it holds still calls for it. A fetch that failed
// while a token that still works remained answers with that token and a
// *keptError.
func (m *Manager) refresh(ctx context.Context, md mode, stale string, started time.Time) (Token, error) {
	stored, ok := m.settled(ctx, md, stale, started)
	if ok {
		return stored, nil
	}
	if md == modeStale {
		if t, done, err := m.checkStale(ctx, stale, stored); done {
			return t, err
		}
	}
	for {
		waitStart := time.Now()
		unlock, err := m.store.Lock(ctx)
		m.stats.lockWait(time.Since(waitStart))
		if errors.Is(err, errTokenChanged) {
			if t, ok := m.settled(ctx, md, stale, started); ok {
				return t, nil
			}
			continue
		}
		if err != nil {
			var se *StoreError
			if ctx.Err() != nil || !errors.As(err, &se) {
				return Token{}, fmt.Errorf("lock: %w", err)
			}
			m.storeFailed(err)
			if _, ok := m.hotToken(); ok && md == modeNormal {
				return Token{}, errStoreDown
			}
			// Nothing valid in memory and nobody to coordinate with: a
			// token fetched alone beats none at all. It is shared once the
			// store answers again (resync).
			m.log.Warn("shared store unavailable; fetching a token for this process alone", "err", err)
			return m.fetch(ctx, md, stale, Token{})
		}
		m.storeOK()
		t, err := m.refreshLocked(ctx, md, stale, started)
		unlock()
		return t, err
	}
}

func (m *Manager) refreshLocked(ctx context.Context, md mode, stale string, started time.Time) (Token, error) {
	cur, ok := m.settled(ctx, md, stale, started)
	if ok {
		return cur, nil
	}
	return m.fetch(ctx, md, stale, cur)
}

// fetch asks WeChat for a token and saves it; cur is what the store held.
func (m *Manager) fetch(ctx context.Context, md mode, stale string, cur Token) (Token, error) {
	if hot, ok := m.hotToken(); ok && (cur.Value == "" || hot.FetchedAt.After(cur.FetchedAt)) {
		cur = hot
	}
	// Force (stable_token's force_refresh, 20 a day) only when WeChat may
	// otherwise hand back the very token it rejected.
	force := md == modeForce || md == modeStale && stale != "" && (cur.Value.Equal(stale) || m.isRejected(cur.Value))
	m.countFetch(ctx)
	t, err := m.fetcher.Fetch(ctx, force)
	m.stats.fetched(err)
	if err != nil {
		if md == modeNormal && cur.Valid(m.now()) && !m.isRejected(cur.Value) {
			// A failed fetch never takes away a token that still works.
			m.log.Error("token refresh failed; serving the current token", "err", err)
			return cur, &keptError{err: err}
		}
		return Token{}, fmt.Errorf("fetch: %w", err)
	}
	now := m.now()
	// The token is stamped by this clock, and lives no longer than WeChat
	// issues tokens for, whatever the fetcher computed.
	if t.FetchedAt.IsZero() || t.FetchedAt.After(now) {
		t.FetchedAt = now
	}
	t.ExpiresAt = minTime(t.ExpiresAt, now.Add(maxLifetime))
	if t.By == "" {
		t.By = m.instance
	}
	if err := checkSavable(t); err != nil {
		return Token{}, fmt.Errorf("fetch: %w", err)
	}
	if !t.ExpiresAt.After(now) {
		return Token{}, errors.New("fetch: token already expired")
	}
	m.remember(t, now)
	var rejected string
	if md == modeStale {
		rejected = stale
	}
	saved, err := m.store.Save(ctx, t, m.supersede(now, rejected))
	if err == nil && (!saved.Valid(now) || m.isRejected(saved.Value)) {
		// A store keeps only a newer token it can vouch for; one that is
		// neither is not served in place of the token just fetched.
		m.log.Warn("the store kept a token that is expired or rejected; serving the fetched token")
		saved = t
	}
	if err != nil {
		// The token is good; only sharing it failed. Serve it, and share it
		// when the store is back.
		m.storeFailed(err)
		m.log.Error("token store save failed; using the fetched token in this process only", "err", err)
		return t, nil
	}
	m.storeOK()
	m.log.Info("token refreshed", "expires_at", saved.ExpiresAt, "forced", force)
	if !saved.Fresh(now, m.margin) {
		m.log.Warn("new token expires within the refresh margin; is Margin too long?", "margin", m.margin)
	}
	return saved, nil
}

// settled reports whether what the store (or, before that, memory) holds
// makes a fetch unnecessary for md, and returns the store's token (the zero
// Token if the store could not be read or holds none).
func (m *Manager) settled(ctx context.Context, md mode, stale string, started time.Time) (Token, bool) {
	now := m.now()
	if hot, ok := m.hotToken(); ok {
		switch {
		case md == modeNormal && hot.Fresh(now, m.margin):
			return hot, true
		case md == modeStale && !hot.Value.Equal(stale):
			return hot, true
		}
	}
	t, err := m.load(ctx)
	if err != nil {
		if !errors.Is(err, ErrNoToken) {
			m.storeFailed(err)
		}
		return Token{}, false
	}
	usable := t.Valid(now) && !m.isRejected(t.Value)
	switch md {
	case modeStale:
		return t, usable && !t.Value.Equal(stale)
	case modeForce:
		// Someone else refreshed after we were asked: that is the new token.
		return t, usable && t.FetchedAt.After(started)
	}
	return t, usable && t.Fresh(now, m.margin)
}

// countFetch records one upstream fetch against the day's quota (days
// change at midnight in Beijing, when WeChat resets the quota) and warns as
// the quota nears its end.
func (m *Manager) countFetch(ctx context.Context) {
	day := m.now().In(m.zone).Format(time.DateOnly)
	n, err := m.store.CountFetch(ctx, day)
	if err != nil {
		m.storeFailed(err)
		m.log.Warn("could not count the fetch against the daily quota", "err", err)
		return
	}
	m.stats.today(day, n)
	switch {
	case n >= m.limit:
		m.log.Error("daily token fetch quota reached", "day", day, "fetches", n, "limit", m.limit)
	case n*5 >= m.limit*4:
		m.mu.Lock()
		first := m.warnedDay != day
		m.warnedDay = day
		m.mu.Unlock()
		if first {
			m.log.Warn("daily token fetch quota 80% used", "day", day, "fetches", n, "limit", m.limit)
		}
	}
}

// shanghai is WeChat's quota clock. Without tzdata, a fixed +8 zone is
// exact: China has kept UTC+8 without daylight saving since 1991.
func shanghai() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*60*60)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// checkSavable rejects a token a store must not hold.
func checkSavable(t Token) error {
	if t.Value == "" {
		return errors.New("empty token")
	}
	if t.ExpiresAt.IsZero() {
		return errors.New("token without expiry")
	}
	return nil
}
