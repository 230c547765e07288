package token

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"wxoa/wechat"
)

// Outcomes of an upstream check of a reported token.
const (
	checkAccepted = iota // WeChat accepts it: nothing fetched
	checkRejected        // 40001/40014/42001: fetched
	checkFailed          // WeChat could not tell
	checkCached          // answered from the last check (CheckMemo)
	checkOutcomes
)

var checkNames = [checkOutcomes]string{"accepted", "rejected", "failed", "cached"}

// counters are the Manager's running totals, read by Stats.
type counters struct {
	fetchOK, fetchFailed  atomic.Int64
	reports               atomic.Int64 // RefreshIfCurrent calls
	reportsOutdated       atomic.Int64 // ... of a token already replaced
	remembered            atomic.Int64 // callers answered with a remembered failure
	checks                [checkOutcomes]atomic.Int64
	lockWaits, lockWaitNs atomic.Int64

	mu         sync.Mutex
	errcodes   map[int]int64 // failed fetches by WeChat errcode (0: not an errcode)
	day        string
	dayFetches int64
}

func (c *counters) fetched(err error) {
	if err == nil {
		c.fetchOK.Add(1)
		return
	}
	c.fetchFailed.Add(1)
	code := 0
	var ae *wechat.APIError
	if errors.As(err, &ae) {
		code = ae.Code
	}
	c.mu.Lock()
	if c.errcodes == nil {
		c.errcodes = map[int]int64{}
	}
	if _, ok := c.errcodes[code]; ok || len(c.errcodes) < 32 { // bounded: errcodes are few
		c.errcodes[code]++
	}
	c.mu.Unlock()
}

func (c *counters) lockWait(d time.Duration) {
	c.lockWaits.Add(1)
	c.lockWaitNs.Add(int64(d))
}

func (c *counters) today(day string, n int64) {
	c.mu.Lock()
	c.day, c.dayFetches = day, n
	c.mu.Unlock()
}

// Stats is a snapshot of what a Manager has done, for /healthz, metrics
// and the admin page. Counters are totals since the Manager started.
type Stats struct {
	Name            string
	Token           Token // the token in service (Value included: never print it)
	HasToken        bool
	FetchOK         int64
	FetchFailed     int64
	FetchErrcodes   map[int]int64 // failed fetches by errcode; 0 = no errcode (network, 5xx)
	Reports         int64         // stale-token reports
	ReportsOutdated int64         // ... of a token already replaced: answered at once
	Checks          map[string]int64
	Remembered      int64         // callers answered with a remembered failure
	LockWaits       int64         // store lock acquisitions
	LockWait        time.Duration // total time spent waiting for the lock
	Day             string        // the quota day of FetchesToday (Asia/Shanghai)
	FetchesToday    int64         // as counted in the store, shared by the fleet
	DailyLimit      int64
	LastError       error     // the remembered failure, if any
	LastErrorAt     time.Time // when it happened
	NextRefresh     time.Time // when the token enters the refresh margin
	StoreErr        error     // nil: the store answers
}

// Stats returns a snapshot.
func (m *Manager) Stats() Stats {
	s := Stats{
		Name: m.name, FetchOK: m.stats.fetchOK.Load(), FetchFailed: m.stats.fetchFailed.Load(),
		Reports: m.stats.reports.Load(), ReportsOutdated: m.stats.reportsOutdated.Load(),
		Remembered: m.stats.remembered.Load(), LockWaits: m.stats.lockWaits.Load(),
		LockWait: time.Duration(m.stats.lockWaitNs.Load()), DailyLimit: m.limit,
		Checks: map[string]int64{}, FetchErrcodes: map[int]int64{}, StoreErr: m.Health(),
	}
	for i, n := range checkNames {
		s.Checks[n] = m.stats.checks[i].Load()
	}
	m.stats.mu.Lock()
	for k, v := range m.stats.errcodes {
		s.FetchErrcodes[k] = v
	}
	s.Day, s.FetchesToday = m.stats.day, m.stats.dayFetches
	m.stats.mu.Unlock()
	if t, ok := m.hotToken(); ok {
		s.Token, s.HasToken = t, true
		s.NextRefresh = t.ExpiresAt.Add(-m.margin)
	}
	if f := m.fail.Load(); f != nil {
		s.LastError, s.LastErrorAt = f.err, f.at
	}
	return s
}

// storeHealth is the store's last failure.
type storeHealth struct{ err error }

// Health returns the store's last error while it fails, nil while it
// answers. A failing store does not stop the Manager from serving the
// token it holds.
func (m *Manager) Health() error {
	if h := m.health.Load(); h != nil {
		return h.err
	}
	return nil
}

// storeUpHold is how long a store that failed must answer without a
// failure before it is logged as available again. A store flapping faster
// (a read-only token directory, a Redis restarting in a loop) is one
// outage, logged when it begins and when it has been over for this long,
// not once per flap. Ten seconds spans several watcher probes (every 250 ms
// for a file, 500 ms for Redis) and the first background retries (1 s,
// 2 s, 4 s).
const storeUpHold = 10 * time.Second

// outage is the store's failure as logged, with hysteresis: it begins at
// the first failure and ends once the store has answered for storeUpHold
// without failing again, so a flapping store is one outage, two lines.
type outage struct {
	mu       sync.Mutex
	active   bool
	since    time.Time // the first failure
	upSince  time.Time // the first answer since the last failure; zero while failing
	failures int
}

// storeFailed records a store failure; the first of an outage is logged.
func (m *Manager) storeFailed(err error) {
	var se *StoreError
	if !errors.As(err, &se) {
		return
	}
	m.health.Store(&storeHealth{err: se})
	now := m.now()
	o := &m.outage
	o.mu.Lock()
	first := !o.active
	if first {
		o.active, o.since, o.failures = true, now, 0
	}
	o.failures++
	o.upSince = time.Time{}
	o.mu.Unlock()
	if first {
		m.log.Warn("token store unavailable; serving the token in memory until it is back", "err", se)
	}
}

// storeOK records that the store answered and reports whether it was
// failing until now (the caller then shares the token in memory with it
// again: resync). The outage is logged as over once the store has answered
// for storeUpHold, with how long it lasted: from its first failure to the
// first answer after its last.
func (m *Manager) storeOK() (recovered bool) {
	recovered = m.health.Swap(nil) != nil
	now := m.now()
	o := &m.outage
	o.mu.Lock()
	if !o.active {
		o.mu.Unlock()
		return recovered
	}
	if o.upSince.IsZero() {
		o.upSince = now
	}
	over := now.Sub(o.upSince) >= storeUpHold
	downFor, upFor, failures := o.upSince.Sub(o.since), now.Sub(o.upSince), o.failures
	if over {
		o.active = false
	}
	o.mu.Unlock()
	if over {
		m.log.Info("token store available again", "down_for", downFor.Round(time.Millisecond),
			"failures", failures, "answering_for", upFor.Round(time.Millisecond))
	}
	return recovered
}
