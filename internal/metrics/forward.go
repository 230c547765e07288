package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// ForwardCounts are a forwarder's running totals, field for field
// reply.ForwardStats, so that metrics.ForwardCounts(f.Stats()) converts.
type ForwardCounts struct {
	InTime         int64
	Late           int64
	Delivered      int64
	DeliveryFailed int64
	Failed         int64
}

// forwardCollector exports wxoa_forwards_total: the sum of every source
// watched with WatchForwards, read at scrape time. Nothing is counted
// here: the forwarder keeps its own counters, and a second count could
// only drift from them or double them.
//
// An operator alerts on delivery_failed (users who were promised an answer
// and never got it) and on late rising against in_time (the endpoint is
// slower than REPLY_DEADLINE).
type forwardCollector struct {
	desc *prometheus.Desc

	mu      sync.Mutex
	sources []func() ForwardCounts
}

func newForwardCollector() *forwardCollector {
	return &forwardCollector{desc: prometheus.NewDesc(namespace+"_forwards_total",
		"Messages forwarded to a rule's endpoint, by outcome: in_time, late, then delivered or delivery_failed, or failed.",
		[]string{"outcome"}, nil)}
}

// WatchForwards exports a forwarder's own counters, read at each scrape:
//
//	m.WatchForwards(func() metrics.ForwardCounts { return metrics.ForwardCounts(fw.Stats()) })
//
// Several sources are summed. The hot path pays nothing: the forwarder's
// counters are read only when Prometheus scrapes.
func (m *Metrics) WatchForwards(counts func() ForwardCounts) {
	if m == nil || counts == nil {
		return
	}
	m.forwards.mu.Lock()
	m.forwards.sources = append(m.forwards.sources, counts)
	m.forwards.mu.Unlock()
}

func (c *forwardCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *forwardCollector) Collect(ch chan<- prometheus.Metric) {
	var sum [len(forwardLabels)]int64
	c.mu.Lock()
	sources := c.sources
	c.mu.Unlock()
	for _, src := range sources {
		f := src()
		for i, n := range [...]int64{f.InTime, f.Late, f.Delivered, f.DeliveryFailed, f.Failed} {
			sum[i] += n
		}
	}
	for i, l := range forwardLabels {
		ch <- constMetric(c.desc, prometheus.CounterValue, float64(sum[i]), l)
	}
}

// constMetric is prometheus.MustNewConstMetric without the panic: a bad
// value fails this series at scrape time and the handler serves the rest.
func constMetric(desc *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) prometheus.Metric {
	m, err := prometheus.NewConstMetric(desc, t, v, labels...)
	if err != nil {
		return prometheus.NewInvalidMetric(desc, err)
	}
	return m
}
