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

// Background refreshes that fail wait minBackoff, doubling to maxBackoff,
// before the next attempt, so a broken upstream is not hammered.
const (
	minBackoff = 2 * time.Second
	maxBackoff = time.Minute
)

// wait joins (or starts) the one refresh for its key and waits for it on
// ctx. The refresh itself runs detached from ctx, bounded by FetchTimeout
// and by Close, so a caller giving up does not cancel it for the others.
func (m *Manager) wait(ctx context.Context, md mode, stale string, started time.Time) (Token, error) {
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
		return m.refresh(fctx, md, stale, started)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return Token{}, fmt.Errorf("token %s: %w", m.name, r.Err)
		}
		t := r.Val.(Token)
		m.failures.Store(0)
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
		m.failures.Store(0)
		m.retryAt.Store(0)
		return
	}
	n := m.failures.Add(1)
	wait := min(minBackoff<<min(n-1, 10), maxBackoff)
	m.retryAt.Store(m.now().Add(wait).UnixNano())
	// With err == nil the fetch failed while a valid token remained (logged
	// by refreshLocked) or WeChat answered with a token already inside the
	// margin; either way, retrying at once would only repeat that.
	if err == nil || errors.Is(err, errClosed) || m.done.Err() != nil {
		return
	}
	m.log.Error("background token refresh failed; serving the current token", "err", err, "retry_in", wait)
}

// refresh takes the store's lock, re-reads the store — another goroutine,
// process or host may have refreshed while we waited — and fetches only if
// the token it holds still calls for it.
func (m *Manager) refresh(ctx context.Context, md mode, stale string, started time.Time) (Token, error) {
	for {
		unlock, err := m.store.Lock(ctx)
		if errors.Is(err, errTokenChanged) {
			if t, ok := m.settled(ctx, md, stale, started); ok {
				return t, nil
			}
			continue
		}
		if err != nil {
			return Token{}, fmt.Errorf("lock: %w", err)
		}
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
	// Force (stable_token's force_refresh, 20 a day) only when WeChat may
	// otherwise hand back the very token it rejected.
	force := md == modeForce || md == modeStale && stale != "" && cur.Value.Equal(stale)
	m.countFetch(ctx)
	t, err := m.fetcher.Fetch(ctx, force)
	if err != nil {
		if md == modeNormal && cur.Valid(m.now()) {
			// A failed fetch never takes away a token that still works.
			m.log.Error("token refresh failed; serving the current token", "err", err)
			return cur, nil
		}
		return Token{}, fmt.Errorf("fetch: %w", err)
	}
	now := m.now()
	if t.FetchedAt.IsZero() {
		t.FetchedAt = now
	}
	if err := checkSavable(t); err != nil {
		return Token{}, fmt.Errorf("fetch: %w", err)
	}
	if !t.ExpiresAt.After(now) {
		return Token{}, errors.New("fetch: token already expired")
	}
	saved, err := m.store.Save(ctx, t)
	if err != nil {
		// The token is good; only sharing it failed. Serve it.
		m.log.Error("token store save failed; using the fetched token in this process only", "err", err)
		return t, nil
	}
	m.log.Info("token refreshed", "expires_at", saved.ExpiresAt, "forced", force)
	if !saved.Fresh(now, m.margin) {
		m.log.Warn("new token expires within the refresh margin; is Margin too long?", "margin", m.margin)
	}
	return saved, nil
}

// settled re-reads the store and reports whether what it holds makes a
// fetch unnecessary for md.
func (m *Manager) settled(ctx context.Context, md mode, stale string, started time.Time) (Token, bool) {
	t, err := m.store.Load(ctx)
	if err != nil {
		if !errors.Is(err, ErrNoToken) {
			m.log.Warn("token store load failed", "err", err)
		}
		return Token{}, false
	}
	now := m.now()
	switch md {
	case modeStale:
		return t, t.Valid(now) && !t.Value.Equal(stale)
	case modeForce:
		// Someone else refreshed after we were asked: that is the new token.
		return t, t.Valid(now) && t.FetchedAt.After(started)
	}
	return t, t.Fresh(now, m.margin)
}

// countFetch records one upstream fetch against the day's quota (days
// change at midnight in Beijing, when WeChat resets the quota) and warns as
// the quota nears its end.
func (m *Manager) countFetch(ctx context.Context) {
	day := m.now().In(m.zone).Format(time.DateOnly)
	n, err := m.store.CountFetch(ctx, day)
	if err != nil {
		m.log.Warn("could not count the fetch against the daily quota", "err", err)
		return
	}
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
