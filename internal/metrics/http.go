package metrics

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Label values of wxoa_http_requests_total. Read-only tables.
var (
	methodLabels = [...]string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", Other}
	// knownCodes are the statuses this server answers with, counted by
	// code; any other is counted by class ("4xx"), outside 100-599 "other".
	knownCodes = [...]int{200, 204, 301, 302, 304, 400, 401, 403, 404, 405, 408, 413, 415, 429, 499, 500, 502, 503, 504}
	codeLabels = [...]string{"200", "204", "301", "302", "304", "400", "401", "403", "404", "405", "408", "413", "415", "429", "499", "500", "502", "503", "504",
		"1xx", "2xx", "3xx", "4xx", "5xx", Other}
)

const (
	numMethods = len(methodLabels)
	numCodes   = len(codeLabels)
)

// Other is the label value anything outside a label's fixed set is
// counted under.
const Other = "other"

// durationBuckets span a sub-millisecond answer (a cached reply, a token
// read from memory) to WeChat's 5 s limit, with whole seconds near the end
// where REPLY_DEADLINE sits.
func durationBuckets() []float64 {
	return []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2, 3, 4, 5}
}

// routeTable maps a declared route pattern to its series.
type routeTable map[string]*routeSeries

// routeSeries are one route's series, created on first use.
type routeSeries struct {
	name string
	dur  slot[prometheus.Observer]
	reqs [numMethods * numCodes]slot[prometheus.Counter]
}

func (m *Metrics) initHTTP() {
	// wxoa_http_requests_total is the error rate: alert on the share of
	// 5xx (our fault) per route, and watch 403 on the callback (a wrong
	// token or someone probing it) and 429 on the token API.
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "http", Name: "requests_total",
		Help: "HTTP requests answered, by route pattern, method and status code.",
	}, []string{"route", "method", "code"})
	// wxoa_http_request_duration_seconds is the latency: WeChat gives a
	// callback 5 s and retries after it, so alert on the callback's p99
	// approaching REPLY_DEADLINE.
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Subsystem: "http", Name: "request_duration_seconds",
		Help:    "Time from receiving a request to its last handler returning, by route pattern.",
		Buckets: durationBuckets(),
	}, []string{"route"})
	m.reg.MustRegister(m.requests, m.duration)
	m.other = &routeSeries{name: Other}
	m.routes.Store(&routeTable{})
}

// Routes declares the route patterns Request counts by name (the router's
// table, e.g. "/wechat", "/api/token"); requests on any other route (no
// route matched: 404) are counted under "other". Call it while wiring,
// with every pattern the router registers; it is safe to call at any time.
// Past 64 patterns it declares none of the call's and returns an error.
func (m *Metrics) Routes(patterns ...string) error {
	if m == nil {
		return nil
	}
	m.routesMu.Lock()
	defer m.routesMu.Unlock()
	old := *m.routes.Load()
	t := make(routeTable, len(old)+len(patterns))
	for k, v := range old {
		t[k] = v
	}
	var errs []error
	for _, p := range patterns {
		if err := checkLabel("route", p); err != nil {
			errs = append(errs, err)
			continue
		}
		if p == Other {
			errs = append(errs, errors.New(`metrics: route "other" is reserved`))
			continue
		}
		if _, ok := t[p]; ok {
			continue
		}
		if len(t) == maxRoutes {
			return errors.Join(append(errs, errors.New("metrics: more than 64 routes; are raw paths being declared?"))...)
		}
		t[p] = &routeSeries{name: p}
	}
	m.routes.Store(&t)
	return errors.Join(errs...)
}

// Request records one answered HTTP request. route is the matched route
// pattern (Gin's c.FullPath()), never the raw path: an undeclared one is
// counted as "other". The access-log middleware calls it after c.Next().
func (m *Metrics) Request(route, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	rs := m.other
	if r, ok := (*m.routes.Load())[route]; ok {
		rs = r
	}
	mi, ci := methodIndex(method), codeIndex(status)
	rs.reqs[mi*numCodes+ci].get(func() prometheus.Counter {
		return m.requests.WithLabelValues(rs.name, methodLabels[mi], codeLabels[ci])
	}).Inc()
	rs.dur.get(func() prometheus.Observer {
		return m.duration.WithLabelValues(rs.name)
	}).Observe(d.Seconds())
}

func methodIndex(method string) int {
	for i, l := range methodLabels[:numMethods-1] {
		if l == method {
			return i
		}
	}
	return numMethods - 1
}

func codeIndex(status int) int {
	for i, c := range knownCodes {
		if c == status {
			return i
		}
	}
	if status >= 100 && status < 600 {
		return len(knownCodes) + status/100 - 1
	}
	return numCodes - 1
}
