package token

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Defaults for the zero values of Config.
const (
	DefaultMargin           = 5 * time.Minute
	DefaultDailyLimit       = 2000
	DefaultFetchTimeout     = 30 * time.Second
	DefaultMinForceInterval = 30 * time.Second
)

// ErrRateLimited is returned by ForceRefresh when it is called again within
// MinForceInterval (WeChat allows a forced stable_token refresh every 30
// seconds and 20 times a day).
var ErrRateLimited = errors.New("forced refresh rate-limited")

var errClosed = errors.New("manager closed")

// errTokenChanged is returned by a Store's Lock that stopped waiting because
// the stored token changed while it waited (Redis): the caller re-reads the
// store and locks again only if it still has to fetch.
var errTokenChanged = errors.New("stored token changed while waiting for the lock")

// Config configures a Manager. Store and Fetcher are required.
type Config struct {
	Name             string        // "access_token" or "jsapi_ticket", for logs and errors
	Store            Store         // where the token lives, usually from Open
	Fetcher          Fetcher       // asks WeChat for a new token
	Margin           time.Duration // refresh this long before expiry; default 5m
	DailyLimit       int           // upstream fetches per day; warn at 80%; default 2000
	FetchTimeout     time.Duration // bound on one shared fetch; default 30s
	MinForceInterval time.Duration // minimum gap between ForceRefresh calls; default 30s
	Logger           *slog.Logger  // nil discards
	Now              func() time.Time
}

// Manager is the central control for one token: every caller in the
// process, and every process sharing its Store, gets the same token, and
// at most one of them asks WeChat for a new one at a time.
type Manager struct {
	name         string
	store        Store
	fetcher      Fetcher
	margin       time.Duration
	limit        int64
	fetchTimeout time.Duration
	minForce     time.Duration
	log          *slog.Logger
	now          func() time.Time
	zone         *time.Location

	// hot holds the last fresh token with the instant it enters the margin,
	// so the hot path is an atomic load and one clock read. With the real
	// clock that read is monotonic only (time.Until), half the cost of
	// time.Now. It can mask a newer token in a shared store only until the
	// margin; then the slow path re-reads the store and refreshes.
	hot       atomic.Pointer[hotEntry]
	realClock bool

	group singleflight.Group

	bgBusy   atomic.Bool  // a background refresh is running
	retryAt  atomic.Int64 // Unix ns before which no background refresh starts
	failures atomic.Int32 // consecutive failed background refreshes

	done context.Context // ends on Close, cancelling fetches in flight
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu        sync.Mutex // guards the fields below and wg.Add against Close
	closed    bool
	lastForce time.Time
	warnedDay string
}

// NewManager checks cfg and returns a Manager. It starts no goroutine until
// a refresh is needed.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Store == nil {
		return nil, errors.New("token manager: Store is required")
	}
	if cfg.Fetcher == nil {
		return nil, errors.New("token manager: Fetcher is required")
	}
	if cfg.Margin < 0 || cfg.FetchTimeout < 0 || cfg.MinForceInterval < 0 || cfg.DailyLimit < 0 {
		return nil, errors.New("token manager: Margin, DailyLimit, FetchTimeout and MinForceInterval must not be negative")
	}
	m := &Manager{
		name:         cmp.Or(cfg.Name, "access_token"),
		store:        cfg.Store,
		fetcher:      cfg.Fetcher,
		margin:       cmp.Or(cfg.Margin, DefaultMargin),
		limit:        int64(cmp.Or(cfg.DailyLimit, DefaultDailyLimit)),
		fetchTimeout: cmp.Or(cfg.FetchTimeout, DefaultFetchTimeout),
		minForce:     cmp.Or(cfg.MinForceInterval, DefaultMinForceInterval),
		log:          cfg.Logger,
		now:          cfg.Now,
		zone:         shanghai(),
	}
	if m.log == nil {
		m.log = discard()
	}
	m.log = m.log.With("token_name", m.name)
	if m.now == nil {
		m.now = time.Now
		m.realClock = true
	}
	m.done, m.stop = context.WithCancel(context.Background())
	return m, nil
}

// Token returns a valid token. It is the hot path: a fresh token costs an
// atomic load and a clock read, and no allocation. Inside the margin it still returns
// at once and refreshes in the background; only an absent or expired token
// makes the caller wait for a fetch.
func (m *Manager) Token(ctx context.Context) (string, error) {
	t, err := m.Current(ctx)
	if err != nil {
		return "", err
	}
	return t.Value.Reveal(), nil
}

// Current is Token with the expiry, for callers that pass the token on.
func (m *Manager) Current(ctx context.Context) (Token, error) {
	if e := m.hot.Load(); e != nil && m.before(e.freshUntil) {
		return e.tok, nil
	}
	return m.current(ctx)
}

func (m *Manager) current(ctx context.Context) (Token, error) {
	t, err := m.store.Load(ctx)
	if err == nil {
		now := m.now()
		if t.Fresh(now, m.margin) {
			m.remember(t, now)
			return t, nil
		}
		if t.Valid(now) {
			m.refreshAhead(now)
			return t, nil
		}
	} else if !errors.Is(err, ErrNoToken) {
		m.log.Warn("token store load failed; refreshing", "err", err)
	}
	return m.wait(ctx, modeNormal, "", m.now())
}

// RefreshIfCurrent replaces stale, a token WeChat just rejected (40001,
// 40014, 42001), if it is still the current one; otherwise someone already
// replaced it and the current token is returned without a fetch. Any number
// of concurrent calls with the same stale token, in this process or in
// others sharing the store, cause one fetch. Unlike Token, a failed fetch is
// returned as an error: the stale token is known to be bad.
func (m *Manager) RefreshIfCurrent(ctx context.Context, stale string) (Token, error) {
	now := m.now()
	if t, err := m.store.Load(ctx); err == nil && t.Valid(now) && !t.Value.Equal(stale) {
		return t, nil
	}
	return m.wait(ctx, modeStale, stale, now)
}

// ForceRefresh fetches a new token with force_refresh, invalidating the old
// one at WeChat (for a leaked token). Within MinForceInterval of the
// previous call it fetches nothing and returns the current token, if any,
// with an error matching ErrRateLimited.
func (m *Manager) ForceRefresh(ctx context.Context) (Token, error) {
	now := m.now()
	m.mu.Lock()
	if !m.lastForce.IsZero() && now.Sub(m.lastForce) < m.minForce {
		wait := m.minForce - now.Sub(m.lastForce)
		m.mu.Unlock()
		cur, err := m.store.Load(ctx)
		if err != nil || !cur.Valid(now) {
			cur = Token{}
		}
		return cur, fmt.Errorf("token %s: %w: retry in %s", m.name, ErrRateLimited, wait.Round(time.Second))
	}
	m.lastForce = now
	m.mu.Unlock()
	return m.wait(ctx, modeForce, "", now)
}

// Close stops background refreshes and fetches in flight and waits for
// their goroutines. Later calls that need a fetch fail.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	m.stop()
	m.wg.Wait()
	return nil
}

// acquire registers a goroutine with wg unless the Manager is closed; the
// mutex keeps wg.Add from racing with Close's wg.Wait.
func (m *Manager) acquire() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false
	}
	m.wg.Add(1)
	return true
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

type hotEntry struct {
	tok        Token
	freshUntil time.Time // carries a monotonic reading with the real clock
}

func (m *Manager) before(t time.Time) bool {
	if m.realClock {
		return time.Until(t) > 0
	}
	return m.now().Before(t)
}

// remember makes t the hot token if it is fresh and the one there is not
// both fresh and fetched later.
func (m *Manager) remember(t Token, now time.Time) {
	if !t.Fresh(now, m.margin) {
		return
	}
	e := &hotEntry{tok: t, freshUntil: now.Add(t.ExpiresAt.Sub(now) - m.margin)}
	for {
		old := m.hot.Load()
		if old != nil && old.tok.FetchedAt.After(t.FetchedAt) && m.before(old.freshUntil) {
			return
		}
		if m.hot.CompareAndSwap(old, e) {
			return
		}
	}
}
