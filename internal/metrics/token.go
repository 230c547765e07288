package metrics

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"wxoa/wechat/token"
)

// TokenStats is a token manager as the metrics see it (*token.Manager).
type TokenStats interface {
	Name() string // the token label: "access_token", "jsapi_ticket"
	Stats() token.Stats
}

var _ TokenStats = (*token.Manager)(nil)

// checkLabels are the outcomes of token.Stats.Checks.
var checkLabels = [...]string{"accepted", "rejected", "failed", "cached"}

// tokenCollector reads each watched manager's Stats once per scrape. The
// managers count with atomics already; nothing is recorded twice and the
// token hot path pays nothing for metrics.
type tokenCollector struct {
	now func() time.Time

	// Why each exists, i.e. what an operator alerts on:
	fetches     *prometheus.Desc // failed fetches: the token cannot be renewed
	errcodes    *prometheus.Desc // which errcode: 40164 (IP not whitelisted), 40125 (bad secret), 45009 (quota)
	expiresIn   *prometheus.Desc // the page: < 300 s means no refresh succeeded for the whole margin
	today       *prometheus.Desc // today's fetches against
	limit       *prometheus.Desc // ... the daily quota: alert at 80%
	lockWaits   *prometheus.Desc // store lock acquisitions: contention across the fleet
	lockSeconds *prometheus.Desc // ... and the time spent waiting for it
	reports     *prometheus.Desc // clients reporting stale tokens: many "checked" = a client looping
	checks      *prometheus.Desc // upstream checks: "accepted" = a client with another appid
	remembered  *prometheus.Desc // callers answered with a remembered failure: an outage seen by clients
	storeUp     *prometheus.Desc // 0: the store is down, serving from memory; the fleet no longer shares

	mu       sync.Mutex
	managers []watched
}

// watched is one manager and the account it belongs to.
type watched struct {
	account string
	t       TokenStats
}

func newTokenCollector(now func() time.Time) *tokenCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(namespace+"_token_"+name, help, append([]string{AccountLabel, "token"}, labels...), nil)
	}
	return &tokenCollector{
		now:         now,
		fetches:     d("fetches_total", "Token fetches from WeChat, by outcome (ok, failed).", "outcome"),
		errcodes:    d("fetch_errors_total", "Failed token fetches by WeChat errcode (0: no errcode, e.g. network or HTTP 5xx).", "errcode"),
		expiresIn:   d("expires_in_seconds", "Seconds until the token in service expires; 0 without a token."),
		today:       d("fetches_today", "Token fetches today (Asia/Shanghai quota day), as counted in the store shared by the fleet."),
		limit:       d("daily_limit", "WeChat's daily quota of token fetches."),
		lockWaits:   d("lock_waits_total", "Acquisitions of the store's refresh lock."),
		lockSeconds: d("lock_wait_seconds_total", "Time spent waiting for the store's refresh lock."),
		reports:     d("reports_total", "Stale-token reports from clients, by outcome (outdated: already replaced; checked: of the current token, checked or refetched).", "outcome"),
		checks:      d("checks_total", "Upstream checks of a reported token, by outcome (accepted, rejected, failed, cached).", "outcome"),
		remembered:  d("remembered_failures_total", "Callers answered with a remembered fetch failure instead of a new fetch."),
		storeUp:     d("store_up", "1 while the token store answers, 0 while it fails and the token is served from memory."),
	}
}

// WatchTokens exports the managers of account, read at each scrape and
// labelled account=account, token=Name(). An account's token names must be
// distinct; watching an account again adds to what it has (ForgetAccount
// drops them all).
func (m *Metrics) WatchTokens(account string, ms ...TokenStats) error {
	if m == nil {
		return nil
	}
	if err := checkLabel("account", account); err != nil {
		return err
	}
	c := m.tokens
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range ms {
		name := t.Name()
		if err := checkLabel("token name", name); err != nil {
			return err
		}
		for _, w := range c.managers {
			if w.account == account && w.t.Name() == name {
				return fmt.Errorf("metrics: token %q of account %q watched twice", name, account)
			}
		}
		c.managers = append(c.managers, watched{account, t})
	}
	return nil
}

// UnwatchTokens stops exporting the token managers of account (a reload
// replaced them); its other series stay.
func (m *Metrics) UnwatchTokens(account string) {
	if m == nil {
		return
	}
	m.tokens.unwatch(account)
}

// unwatch stops exporting the managers of account.
func (c *tokenCollector) unwatch(account string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.managers = slices.DeleteFunc(slices.Clone(c.managers), func(w watched) bool { return w.account == account })
}

func (c *tokenCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range [...]*prometheus.Desc{c.fetches, c.errcodes, c.expiresIn, c.today, c.limit,
		c.lockWaits, c.lockSeconds, c.reports, c.checks, c.remembered, c.storeUp} {
		ch <- d
	}
}

func (c *tokenCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	managers := c.managers
	c.mu.Unlock()
	now := c.now()
	for _, w := range managers {
		c.collect(ch, w.account, w.t.Name(), w.t.Stats(), now)
	}
}

func (c *tokenCollector) collect(ch chan<- prometheus.Metric, account, name string, s token.Stats, now time.Time) {
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- constMetric(d, prometheus.CounterValue, v, append([]string{account, name}, labels...)...)
	}
	gauge := func(d *prometheus.Desc, v float64) { ch <- constMetric(d, prometheus.GaugeValue, v, account, name) }

	counter(c.fetches, float64(s.FetchOK), "ok")
	counter(c.fetches, float64(s.FetchFailed), "failed")
	for code, n := range s.FetchErrcodes {
		counter(c.errcodes, float64(n), strconv.Itoa(code))
	}
	var left float64
	if s.HasToken {
		left = max(0, s.Token.ExpiresAt.Sub(now).Seconds())
	}
	gauge(c.expiresIn, left)
	gauge(c.today, float64(s.FetchesToday))
	if s.DailyLimit > 0 {
		gauge(c.limit, float64(s.DailyLimit))
	}
	counter(c.lockWaits, float64(s.LockWaits))
	counter(c.lockSeconds, s.LockWait.Seconds())
	counter(c.reports, float64(s.ReportsOutdated), "outdated")
	counter(c.reports, float64(max(0, s.Reports-s.ReportsOutdated)), "checked")
	var other int64
	for k, n := range s.Checks {
		if !slices.Contains(checkLabels[:], k) {
			other += n
		}
	}
	for _, o := range checkLabels {
		counter(c.checks, float64(s.Checks[o]), o)
	}
	if other > 0 {
		counter(c.checks, float64(other), Other)
	}
	counter(c.remembered, float64(s.Remembered))
	up := 1.0
	if s.StoreErr != nil {
		up = 0
	}
	gauge(c.storeUp, up)
}
