package token

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"wxoa/wechat"
)

// Defaults for the zero values of Config.
const (
	DefaultMargin           = 5 * time.Minute
	DefaultDailyLimit       = 2000
	DefaultFetchTimeout     = 30 * time.Second
	DefaultMinForceInterval = 30 * time.Second
	// DefaultCheckMemo is how long WeChat's answer on a check of a reported
	// token — accepted, or no answer (busy, unreachable) — is reused without
	// asking again, so a client reporting it in a loop costs WeChat one check
	// a second instead of one per report, while a real rejection is acted on
	// within a second.
	DefaultCheckMemo = time.Second
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
	Name    string        // "access_token" or "jsapi_ticket", for logs and errors
	Store   Store         // where the token lives, usually from Open
	Fetcher Fetcher       // asks WeChat for a new token
	Checker Checker       // nil: a report of the current token always fetches
	Margin  time.Duration // refresh this long before expiry; default 5m
	// Spread narrows Margin by a random amount below it, drawn once per
	// Manager, so that the refreshes ahead of many accounts whose tokens
	// were fetched together (a start-up, a Redis flush) spread over Spread
	// instead of falling in one second; it must be less than Margin. It
	// never widens it: in stable mode WeChat issues a new token only in the
	// old one's last five minutes, so a refresh earlier than the default
	// margin would get the same token back and try again. 0: none.
	Spread           time.Duration
	DailyLimit       int           // upstream fetches per day; warn at 80%; default 2000
	FetchTimeout     time.Duration // bound on one shared fetch; default 30s
	MinForceInterval time.Duration // minimum gap between ForceRefresh calls; default 30s
	CheckMemo        time.Duration // see DefaultCheckMemo
	Instance         string        // names this process in Token.By; default host-pid
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
	checker      Checker
	margin       time.Duration
	limit        int64
	fetchTimeout time.Duration
	minForce     time.Duration
	checkMemo    time.Duration
	instance     string
	log          *slog.Logger
	now          func() time.Time
	zone         *time.Location

	// hot is the last valid token with the instants it enters the margin and
	// expires, so the hot path is an atomic load and one clock read. With the
	// real clock those readings are monotonic (time.Until), half the cost of
	// time.Now. The store's watcher replaces it when another process
	// refreshes; nothing but a newer token or WeChat's rejection removes it,
	// so a store outage never turns a valid token into an error.
	hot       atomic.Pointer[hotEntry]
	realClock bool

	// rejected is the value WeChat last rejected (checked upstream after a
	// report): never served again, even while a store still holds it.
	rejected atomic.Pointer[string]
	// fail is the last attempt that left callers without a token; until it
	// expires callers get its error at once instead of another attempt.
	fail atomic.Pointer[failure]
	// checked is WeChat's last answer on a check of a reported token
	// (CheckMemo).
	checked atomic.Pointer[checkMemo]
	// distrusted names the untrusted stored record last warned about.
	distrusted atomic.Pointer[string]

	group singleflight.Group

	bgBusy   atomic.Bool  // a background refresh is running
	retryAt  atomic.Int64 // Unix ns before which no background refresh starts
	failures atomic.Int32 // consecutive failed background refreshes

	health        atomic.Pointer[storeHealth] // nil: the store answers
	outage        outage                      // the store's failure as logged
	changePending atomic.Bool                 // a change was seen but not yet read
	stats         counters

	done context.Context // ends on Close, cancelling fetches in flight
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu        sync.Mutex // guards the fields below and wg.Add against Close
	closed    bool
	lastForce time.Time
	warnedDay string
}

// NewManager checks cfg and returns a Manager. When the store is a Watcher
// it starts one goroutine that follows other processes' refreshes; Close
// stops it.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Store == nil {
		return nil, errors.New("token manager: Store is required")
	}
	if cfg.Fetcher == nil {
		return nil, errors.New("token manager: Fetcher is required")
	}
	if cfg.Margin < 0 || cfg.Spread < 0 || cfg.FetchTimeout < 0 || cfg.MinForceInterval < 0 || cfg.DailyLimit < 0 || cfg.CheckMemo < 0 {
		return nil, errors.New("token manager: Margin, Spread, DailyLimit, FetchTimeout, MinForceInterval and CheckMemo must not be negative")
	}
	m := &Manager{
		name:         cmp.Or(cfg.Name, "access_token"),
		store:        cfg.Store,
		fetcher:      cfg.Fetcher,
		checker:      cfg.Checker,
		margin:       cmp.Or(cfg.Margin, DefaultMargin),
		limit:        int64(cmp.Or(cfg.DailyLimit, DefaultDailyLimit)),
		fetchTimeout: cmp.Or(cfg.FetchTimeout, DefaultFetchTimeout),
		minForce:     cmp.Or(cfg.MinForceInterval, DefaultMinForceInterval),
		checkMemo:    cmp.Or(cfg.CheckMemo, DefaultCheckMemo),
		instance:     cmp.Or(cfg.Instance, defaultInstance()),
		log:          cfg.Logger,
		now:          cfg.Now,
		zone:         shanghai(),
	}
	if cfg.Spread >= m.margin {
		return nil, fmt.Errorf("token manager: Spread %v must be less than Margin %v", cfg.Spread, m.margin)
	}
	if cfg.Spread > 0 {
		m.margin -= rand.N(cfg.Spread)
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
	if w, ok := m.store.(Watcher); ok && m.acquire() {
		go func() {
			defer m.wg.Done()
			w.Watch(m.done, m.onChange, m.onProbe)
		}()
	}
	return m, nil
}

func defaultInstance() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "wxoa"
	}
	return h + "-" + strconv.Itoa(os.Getpid())
}

// Name returns the token kind the Manager was configured with.
func (m *Manager) Name() string { return m.name }

// Token returns a valid token. It is the hot path: a fresh token costs an
// atomic load and a clock read, and no allocation. Inside the margin it
// still returns at once and refreshes in the background; only an absent or
// expired token makes the caller wait for a fetch.
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
	now := m.now()
	if e := m.hot.Load(); e != nil && m.before(e.validUntil) {
		// Inside the margin: the refresh runs in the background, and a store
		// or WeChat failure there leaves this token in service.
		m.refreshAhead(now)
		return e.tok, nil
	}
	return m.wait(ctx, modeNormal, "", now)
}

// RefreshIfCurrent replaces stale, a token WeChat rejected (40001, 40014,
// 42001) for some caller, if it is still the current one; otherwise
// someone already replaced it and the current token is returned without a
// fetch. With a Checker, a stale report of the current token is first
// checked with WeChat: a token WeChat still accepts is answered as is and
// costs no fetch (a misconfigured client reporting it in a loop would
// otherwise spend the daily quota). In this process, any number of
// concurrent reports of one token share one check and at most one fetch.
// Checks are not shared across processes: N instances reporting one token
// make N checks. Their fetches are, through the store's lock: the first
// fetches and the others re-read its token; with the store down, each
// instance fetches alone. A check that cannot tell (WeChat busy or
// unreachable) is returned as an error and the token stays in service; a
// failed fetch is returned as an error: the stale token is known to be bad.
func (m *Manager) RefreshIfCurrent(ctx context.Context, stale string) (Token, error) {
	m.stats.reports.Add(1)
	now := m.now()
	if e := m.hot.Load(); e != nil && m.before(e.validUntil) && !e.tok.Value.Equal(stale) {
		m.stats.reportsOutdated.Add(1)
		return e.tok, nil
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
		var cur Token
		if e := m.hot.Load(); e != nil && m.before(e.validUntil) {
			cur = e.tok
		}
		return cur, &RateLimitError{RetryAfter: wait, name: m.name}
	}
	m.lastForce = now
	m.mu.Unlock()
	return m.wait(ctx, modeForce, "", now)
}

// RateLimitError is ForceRefresh declining; it matches ErrRateLimited.
type RateLimitError struct {
	RetryAfter time.Duration // until the next forced refresh is allowed
	name       string
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("token %s: %v: retry in %s", e.name, ErrRateLimited, e.RetryAfter.Round(time.Second))
}

// Is makes errors.Is(err, ErrRateLimited) true.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// Close stops background refreshes, the store watcher and fetches in
// flight and waits for their goroutines. Later calls that need a fetch fail.
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
	freshUntil time.Time // enters the margin; monotonic with the real clock
	validUntil time.Time // expires; monotonic with the real clock
}

// before reports whether t, an instant the Manager computed from its clock
// (a token's expiry, a back-off's end), is still ahead — and no further
// ahead than a token can live: should a configured clock be set back, what
// it computed before counts as passed, not as years to come.
func (m *Manager) before(t time.Time) bool {
	var d time.Duration
	if m.realClock {
		d = time.Until(t)
	} else {
		d = t.Sub(m.now())
	}
	return d > 0 && d <= maxLifetime+clockSkew
}

// remember makes t the hot token unless it is expired, rejected, or older
// than a valid hot token. It reports whether t is the hot token afterwards.
func (m *Manager) remember(t Token, now time.Time) bool {
	if !t.Valid(now) {
		return false
	}
	left := t.ExpiresAt.Sub(now)
	e := &hotEntry{tok: t, freshUntil: now.Add(left - m.margin), validUntil: now.Add(left)}
	for {
		// Checked on every turn: a reject racing with this loop may already
		// have looked at hot, found another token and left.
		if m.isRejected(t.Value) {
			return false
		}
		old := m.hot.Load()
		if old != nil && m.before(old.validUntil) && !m.isRejected(old.tok.Value) {
			if old.tok.FetchedAt.After(t.FetchedAt) {
				return false
			}
			if old.tok.Value.Equal(t.Value.Reveal()) && old.tok.FetchedAt.Equal(t.FetchedAt) {
				return true // the same token: keep the entry, spare the CAS
			}
		}
		if !m.hot.CompareAndSwap(old, e) {
			continue
		}
		// reject marks the value before it looks at hot, so a reject that
		// looked before the swap is seen here: take the token back out.
		if m.isRejected(t.Value) {
			m.hot.CompareAndSwap(e, old)
			return false
		}
		m.fail.Store(nil) // a valid token exists: forget the failure
		return true
	}
}

// hotToken returns the hot token if it is still valid.
func (m *Manager) hotToken() (Token, bool) {
	if e := m.hot.Load(); e != nil && m.before(e.validUntil) && !m.isRejected(e.tok.Value) {
		return e.tok, true
	}
	return Token{}, false
}

func (m *Manager) isRejected(v wechat.Secret) bool {
	r := m.rejected.Load()
	return r != nil && v.Equal(*r)
}

// supersede is what a save at now replaces although it is newer: anything
// untrusted at now, and the value WeChat last rejected (or, for a report,
// the value reported).
func (m *Manager) supersede(now time.Time, stale string) Supersede {
	s := Supersede{Now: now, Rejected: wechat.Secret(stale)}
	if r := m.rejected.Load(); stale == "" && r != nil {
		s.Rejected = wechat.Secret(*r)
	}
	return s
}

// reject records that WeChat refused v and stops serving it.
func (m *Manager) reject(v string) {
	m.rejected.Store(&v)
	for {
		old := m.hot.Load()
		if old == nil || !old.tok.Value.Equal(v) || m.hot.CompareAndSwap(old, nil) {
			return
		}
	}
}
