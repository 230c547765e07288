package metrics

import (
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"wxoa/wechat/token"
)

// scrape GETs Handler() as Prometheus would (text format) and returns the
// raw body and the parsed families.
func scrape(tb testing.TB, m *Metrics) ([]byte, map[string]*dto.MetricFamily) {
	tb.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := srv.Client().Do(req)
	if err != nil {
		tb.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET /metrics = %d, %v; want 200", resp.StatusCode, err)
	}
	if f := expfmt.ResponseFormat(resp.Header); f.FormatType() != expfmt.TypeTextPlain {
		tb.Fatalf("GET /metrics Content-Type %q; want the text format", resp.Header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.LegacyValidation) // the strict, classic names
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		tb.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return body, fams
}

// labels is a label set written "k=v,k=v" in label-name order.
func labelsOf(m *dto.Metric) string {
	var parts []string
	for _, lp := range m.GetLabel() {
		parts = append(parts, lp.GetName()+"="+lp.GetValue())
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// values returns a family's samples by label set: counter, gauge or
// untyped value; a histogram's sample count.
func values(fams map[string]*dto.MetricFamily, name string) map[string]float64 {
	f, ok := fams[name]
	if !ok {
		return nil
	}
	out := map[string]float64{}
	for _, m := range f.GetMetric() {
		var v float64
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			v = m.GetCounter().GetValue()
		case dto.MetricType_GAUGE:
			v = m.GetGauge().GetValue()
		case dto.MetricType_HISTOGRAM:
			v = float64(m.GetHistogram().GetSampleCount())
		default:
			v = m.GetUntyped().GetValue()
		}
		out[labelsOf(m)] = v
	}
	return out
}

func sortedKeys(m map[string]float64) []string { return slices.Sorted(maps.Keys(m)) }

// fakeManager is a token manager with fixed Stats.
type fakeManager struct {
	name    string
	StatsFn func() token.Stats
}

func (f fakeManager) Name() string       { return f.name }
func (f fakeManager) Stats() token.Stats { return f.StatsFn() }

var _ TokenStats = fakeManager{}

// t0 is the fixed clock of the tests.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// accessTokenStats: a token expiring in 300 s, two fetch errcodes, checks,
// a store error.
func accessTokenStats() token.Stats {
	return token.Stats{
		Name:     "access_token",
		Token:    token.Token{Value: "secret-token-value", ExpiresAt: t0.Add(300 * time.Second), FetchedAt: t0.Add(-time.Hour)},
		HasToken: true, FetchOK: 7, FetchFailed: 3,
		FetchErrcodes: map[int]int64{45009: 2, 0: 1},
		Reports:       10, ReportsOutdated: 4,
		Checks:     map[string]int64{"accepted": 1, "rejected": 2, "failed": 3, "cached": 4},
		Remembered: 5, LockWaits: 6, LockWait: 1500 * time.Millisecond,
		Day: "2025-03-01", FetchesToday: 9, DailyLimit: 2000,
		StoreErr: errors.New("redis: connection refused"),
	}
}
