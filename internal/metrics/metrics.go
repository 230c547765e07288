// Package metrics exports what the server does in the Prometheus text
// format: HTTP requests, WeChat callbacks and replies, the 5-second
// forwards, the reply cache, and the token managers. What belongs to one
// account (its callbacks, replies, dedup hits and tokens) carries an
// account label, whose values are the configured accounts' names. Everything lives on
// one registry owned by a Metrics value (no default-registry globals), and
// nothing here imports Gin, so the reply pipeline can record too.
//
// Observation methods are one-liners at the call site, cost no allocation,
// and accept any string: a value outside the small fixed set of a label
// is counted as "other", so a caller's mistake (a raw path for a route)
// cannot grow the number of series. Every method is a no-op on a nil
// *Metrics, so metrics can be left out of tests and optional wiring.
package metrics

import (
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// namespace prefixes every metric of ours.
const namespace = "wxoa"

// maxRoutes bounds the route patterns Routes accepts: the route table is
// a screenful, so more means patterns are being made from raw paths.
const maxRoutes = 64

// Metrics holds the registry and every series the server records.
type Metrics struct {
	reg     *prometheus.Registry
	handler http.Handler

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	routesMu sync.Mutex                 // serialises Routes
	routes   atomic.Pointer[routeTable] // copy on write: Request reads it lock-free
	other    *routeSeries               // routes nobody declared

	callbacks  *prometheus.CounterVec
	rejections *prometheus.CounterVec
	replies    *prometheus.CounterVec
	dedupHits  *prometheus.CounterVec
	accountsMu sync.Mutex
	accounts   map[string]*Account

	forwards *forwardCollector
	tokens   *tokenCollector
	dedupMem *dedupCollector
}

type config struct {
	now func() time.Time
	log *slog.Logger
}

// Option configures New.
type Option func(*config)

// WithClock sets the clock the token collector measures expires_in
// against (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}

// WithLogger sets where scrape errors are logged (default: nowhere; they
// are counted in promhttp_metric_handler_errors_total either way).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.log = l
		}
	}
}

// New returns a Metrics with its own registry, holding the Go runtime and
// process collectors and every series of this package.
func New(opts ...Option) *Metrics {
	cfg := config{now: time.Now, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&cfg)
	}
	m := &Metrics{reg: prometheus.NewRegistry()}
	// MustRegister cannot fail here: every descriptor is fixed, distinct,
	// and registered once per registry (TestScrape registers them all).
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.initHTTP()
	m.initCallbacks()
	m.forwards = newForwardCollector()
	m.tokens = newTokenCollector(cfg.now)
	m.dedupMem = newDedupCollector()
	m.reg.MustRegister(m.forwards, m.tokens, m.dedupMem)
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slogPrinter{cfg.log},
		ErrorHandling: promhttp.ContinueOnError, // serve what can be gathered, never panic
		Registry:      m.reg,                    // counts scrape errors
		Timeout:       10 * time.Second,         // a stuck collector answers 503, not a hung scrape
	})
	return m
}

// Handler serves GET /metrics in the Prometheus text format (or whatever
// the scraper negotiates). A collector that fails leaves its series out and
// logs; the rest is served.
func (m *Metrics) Handler() http.Handler { return m.handler }

// Registry returns the registry, for a caller with collectors of its own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// slogPrinter adapts slog to promhttp's Println logger.
type slogPrinter struct{ l *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.l.Error("metrics: scrape", "err", fmt.Sprint(v...)) }

// slot holds one series, created on first use: only label combinations
// that happened are exported, and after the first use finding the series
// is an atomic load, with no hashing and no allocation.
type slot[T any] struct{ p atomic.Pointer[T] }

func (s *slot[T]) get(create func() T) T {
	if p := s.p.Load(); p != nil {
		return *p
	}
	v := create()
	s.p.CompareAndSwap(nil, &v) // a racing create returned the same child
	return *s.p.Load()
}

// checkLabel reports a value Prometheus cannot carry as a label.
func checkLabel(what, v string) error {
	if v == "" {
		return fmt.Errorf("metrics: empty %s", what)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("metrics: %s %q is not UTF-8", what, v)
	}
	return nil
}
