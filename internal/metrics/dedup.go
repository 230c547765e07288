package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"wxoa/wechat/dedup"
)

// DedupMemory is the in-process reply store (*dedup.Memory).
type DedupMemory interface {
	Stats() dedup.MemoryStats
}

// DedupFallback is the shared reply store's stand-in (*dedup.Fallback).
type DedupFallback interface {
	Served() uint64
}

var (
	_ DedupMemory   = (*dedup.Memory)(nil)
	_ DedupFallback = (*dedup.Fallback)(nil)
)

// DedupRedis is the shared reply store (*dedup.Redis).
type DedupRedis interface {
	Stats() dedup.RedisStats
}

var _ DedupRedis = (*dedup.Redis)(nil)

// WatchDedupRedis exports the shared reply store's budget: the reply bytes
// this instance wrote over the TTL, its maximum (DEDUP_REDIS_SIZE), and
// the replies not stored for want of it, read at each scrape. A second
// call replaces the first.
func (m *Metrics) WatchDedupRedis(r DedupRedis) {
	if m == nil || r == nil {
		return
	}
	m.dedupMem.mu.Lock()
	m.dedupMem.redis = r
	m.dedupMem.mu.Unlock()
}

// dedupCollector exports the in-process reply store's counters, read at
// scrape time. Evacuations climbing while entries sit at their ceiling mean
// the budget (DEDUP_CACHE_SIZE) is too small: replies are dropped before
// WeChat's retries come, and a retry may run a rule twice.
type dedupCollector struct {
	entries, budget, evacuated, expired, fallbacks *prometheus.Desc
	redisBytes, redisBudget, redisOver             *prometheus.Desc

	mu       sync.Mutex
	store    DedupMemory
	fallback DedupFallback
	redis    DedupRedis
}

func newDedupCollector() *dedupCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(namespace+"_dedup_memory_"+name, help, nil, nil)
	}
	return &dedupCollector{
		entries:   d("entries", "Entries (claims, replies, parts, once keys) held by the in-process reply store."),
		budget:    d("budget_bytes", "Memory budget of the in-process reply store."),
		evacuated: d("evacuations_total", "Entries evicted, or moved within their ring, to make room in the in-process reply store."),
		expired:   d("expired_total", "Entries of the in-process reply store dropped after their TTL."),
		// Non-zero means the shared (Redis) store failed and this instance
		// claimed alone: a retry reaching another instance may be answered
		// twice.
		fallbacks: prometheus.NewDesc(namespace+"_dedup_fallbacks_total",
			"Reply-store operations the in-process store answered because the shared store failed.", nil, nil),
		redisBytes: prometheus.NewDesc(namespace+"_dedup_redis_window_bytes",
			"Reply bytes this instance wrote to the shared reply store over the dedup TTL.", nil, nil),
		redisBudget: prometheus.NewDesc(namespace+"_dedup_redis_budget_bytes",
			"Most reply bytes this instance writes to the shared reply store over the dedup TTL (DEDUP_REDIS_SIZE).", nil, nil),
		// Non-zero means replies went unstored: their retries were answered
		// "success", never a second run of the rule.
		redisOver: prometheus.NewDesc(namespace+"_dedup_redis_over_budget_total",
			"Replies not stored in the shared reply store because its budget was spent.", nil, nil),
	}
}

// WatchDedup exports the in-process reply store's stats and, when a shared
// store stands in front of it, how often it stood in (fallback may be nil:
// the count is then 0). Both are read at each scrape. There is one such
// store; a second call replaces the first.
func (m *Metrics) WatchDedup(s DedupMemory, fallback DedupFallback) {
	if m == nil || s == nil {
		return
	}
	m.dedupMem.mu.Lock()
	m.dedupMem.store, m.dedupMem.fallback = s, fallback
	m.dedupMem.mu.Unlock()
}

func (c *dedupCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.entries
	ch <- c.budget
	ch <- c.evacuated
	ch <- c.expired
	ch <- c.fallbacks
	ch <- c.redisBytes
	ch <- c.redisBudget
	ch <- c.redisOver
}

func (c *dedupCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	s, fb, r := c.store, c.fallback, c.redis
	c.mu.Unlock()
	if r != nil {
		st := r.Stats()
		ch <- constMetric(c.redisBytes, prometheus.GaugeValue, float64(st.WindowBytes))
		ch <- constMetric(c.redisBudget, prometheus.GaugeValue, float64(st.MaxBytes))
		ch <- constMetric(c.redisOver, prometheus.CounterValue, float64(st.OverBudget))
	}
	if s == nil {
		return
	}
	var served uint64
	if fb != nil {
		served = fb.Served()
	}
	ch <- constMetric(c.fallbacks, prometheus.CounterValue, float64(served))
	st := s.Stats()
	ch <- constMetric(c.entries, prometheus.GaugeValue, float64(st.Entries))
	ch <- constMetric(c.budget, prometheus.GaugeValue, float64(st.Bytes))
	ch <- constMetric(c.evacuated, prometheus.CounterValue, float64(st.Evacuated))
	ch <- constMetric(c.expired, prometheus.CounterValue, float64(st.Expired))
}
