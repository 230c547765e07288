package metrics

import (
	"maps"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"wxoa/wechat"
	"wxoa/wechat/dedup"
	"wxoa/wechat/token"
)

type fakeDedup struct{ s dedup.MemoryStats }

func (f fakeDedup) Stats() dedup.MemoryStats { return f.s }

type fakeFallback uint64

func (f fakeFallback) Served() uint64 { return uint64(f) }

// driven returns a Metrics on which every observation method has run.
func driven(t testing.TB) *Metrics {
	t.Helper()
	m := New(WithClock(func() time.Time { return t0 }))
	if err := m.Routes("/wechat", "/healthz", "/api/token"); err != nil {
		t.Fatalf("Routes: %v", err)
	}
	m.Request("/wechat", "POST", 200, 2*time.Millisecond)
	m.Request("/wechat", "POST", 200, 3*time.Millisecond)
	m.Request("/wechat", "POST", 403, time.Millisecond)
	m.Request("/healthz", "GET", 200, 100*time.Microsecond)
	m.Request("/api/token", "GET", 418, time.Millisecond) // counted by class
	m.Request("", "GET", 404, time.Microsecond)           // no route matched
	m.Request("/wechat?signature=x", "BREW", 999, time.Millisecond)

	oa, mp := account(t, m, "oa"), account(t, m, "mp")
	oa.Callback(TypeOf(&wechat.Text{Header: wechat.Header{MsgType: wechat.MsgText}}), ModeSafe)
	oa.Callback("text", ModeSafe)
	oa.Callback(TypeOf(&wechat.Subscribe{EventHeader: wechat.EventHeader{Header: wechat.Header{MsgType: wechat.MsgEvent}, Event: wechat.EventSubscribe}}), ModePlain)
	oa.Callback("event:CLICK", ModeCompat)
	oa.Callback(TypeOf(&wechat.Unknown{Header: wechat.Header{MsgType: wechat.MsgEvent}, Event: "brand_new"}), ModePlain)
	oa.Callback("miniprogrampage", "rot13")
	mp.Callback("text", ModePlain)

	oa.CallbackRejected(RejectBadSignature)
	oa.CallbackRejected(RejectBadSignature)
	oa.CallbackRejected(RejectTooLarge)
	oa.CallbackRejected("cosmic_ray")
	mp.CallbackRejected(RejectDecrypt)

	oa.Reply(ReplyKind(&wechat.TextReply{Content: "hi"}))
	oa.Reply(ReplyKind(nil))
	oa.Reply(KindNews)
	oa.Reply("hologram")
	mp.Reply(KindText)

	oa.DedupHit()
	oa.DedupHit()
	mp.DedupHit()

	m.WatchForwards(func() ForwardCounts {
		return ForwardCounts{InTime: 10, Late: 2, Delivered: 1, DeliveryFailed: 1, Failed: 3}
	})
	m.WatchForwards(func() ForwardCounts { return ForwardCounts{InTime: 1, Late: 1} })

	if err := m.WatchTokens("oa", fakeManager{name: "access_token", StatsFn: accessTokenStats},
		fakeManager{name: "jsapi_ticket", StatsFn: func() token.Stats { return token.Stats{DailyLimit: 0} }}); err != nil {
		t.Fatalf("WatchTokens: %v", err)
	}
	if err := m.WatchTokens("mp", fakeManager{name: "access_token", StatsFn: func() token.Stats { return token.Stats{FetchOK: 1, DailyLimit: 2000} }}); err != nil {
		t.Fatalf("WatchTokens: %v", err)
	}
	m.WatchDedup(fakeDedup{dedup.MemoryStats{Bytes: 32 << 20, Entries: 12, Evacuated: 3, Expired: 4}}, fakeFallback(1))
	m.WatchDedupRedis(fakeDedupRedis{WindowBytes: 1 << 20, MaxBytes: 64 << 20, OverBudget: 2})
	return m
}

// account returns m's series of the account name.
func account(t testing.TB, m *Metrics, name string) *Account {
	t.Helper()
	a, err := m.Account(name)
	if err != nil {
		t.Fatalf("Account(%q): %v", name, err)
	}
	return a
}

func TestScrape(t *testing.T) {
	_, fams := scrape(t, driven(t))
	tests := []struct {
		name   string
		family string
		typ    dto.MetricType
		want   map[string]float64 // label set → value (a histogram's count)
	}{
		{"requests", "wxoa_http_requests_total", dto.MetricType_COUNTER, map[string]float64{
			"code=200,method=POST,route=/wechat":   2,
			"code=403,method=POST,route=/wechat":   1,
			"code=200,method=GET,route=/healthz":   1,
			"code=4xx,method=GET,route=/api/token": 1,
			"code=404,method=GET,route=other":      1,
			"code=other,method=other,route=other":  1,
		}},
		{"latency", "wxoa_http_request_duration_seconds", dto.MetricType_HISTOGRAM, map[string]float64{
			"route=/wechat": 3, "route=/healthz": 1, "route=/api/token": 1, "route=other": 2,
		}},
		{"callbacks", "wxoa_callbacks_total", dto.MetricType_COUNTER, map[string]float64{
			"account=oa,mode=safe,type=text":             2,
			"account=oa,mode=plain,type=event:subscribe": 1,
			"account=oa,mode=compat,type=event:CLICK":    1,
			"account=oa,mode=plain,type=event:other":     1,
			"account=oa,mode=other,type=other":           1,
			"account=mp,mode=plain,type=text":            1,
		}},
		{"rejections: only those that happened", "wxoa_callback_rejections_total", dto.MetricType_COUNTER, map[string]float64{
			"account=oa,reason=bad_signature": 2, "account=oa,reason=too_large": 1, "account=oa,reason=other": 1,
			"account=mp,reason=decrypt": 1,
		}},
		{"replies", "wxoa_replies_total", dto.MetricType_COUNTER, map[string]float64{
			"account=oa,kind=text": 1, "account=oa,kind=success": 1, "account=oa,kind=news": 1, "account=oa,kind=other": 1,
			"account=mp,kind=text": 1,
		}},
		{"dedup hits", "wxoa_dedup_hits_total", dto.MetricType_COUNTER, map[string]float64{"account=oa": 2, "account=mp": 1}},
		{"dedup fallbacks", "wxoa_dedup_fallbacks_total", dto.MetricType_COUNTER, map[string]float64{"": 1}},
		{"forwards: the watched counters summed", "wxoa_forwards_total", dto.MetricType_COUNTER, map[string]float64{
			"outcome=in_time": 11, "outcome=late": 3, "outcome=delivered": 1, "outcome=delivery_failed": 1, "outcome=failed": 3,
		}},
		{"token fetches", "wxoa_token_fetches_total", dto.MetricType_COUNTER, map[string]float64{
			"account=oa,outcome=ok,token=access_token": 7, "account=oa,outcome=failed,token=access_token": 3,
			"account=oa,outcome=ok,token=jsapi_ticket": 0, "account=oa,outcome=failed,token=jsapi_ticket": 0,
			"account=mp,outcome=ok,token=access_token": 1, "account=mp,outcome=failed,token=access_token": 0,
		}},
		{"token errcodes", "wxoa_token_fetch_errors_total", dto.MetricType_COUNTER, map[string]float64{
			"account=oa,errcode=45009,token=access_token": 2, "account=oa,errcode=0,token=access_token": 1,
		}},
		{"expires in", "wxoa_token_expires_in_seconds", dto.MetricType_GAUGE, map[string]float64{
			"account=oa,token=access_token": 300, "account=oa,token=jsapi_ticket": 0, "account=mp,token=access_token": 0,
		}},
		{"fetches today", "wxoa_token_fetches_today", dto.MetricType_GAUGE, map[string]float64{
			"account=oa,token=access_token": 9, "account=oa,token=jsapi_ticket": 0, "account=mp,token=access_token": 0,
		}},
		{"daily limit: only when known", "wxoa_token_daily_limit", dto.MetricType_GAUGE, map[string]float64{
			"account=oa,token=access_token": 2000, "account=mp,token=access_token": 2000,
		}},
		{"lock waits", "wxoa_token_lock_waits_total", dto.MetricType_COUNTER, map[string]float64{
			"account=oa,token=access_token": 6, "account=oa,token=jsapi_ticket": 0, "account=mp,token=access_token": 0,
		}},
		{"lock wait seconds", "wxoa_token_lock_wait_seconds_total", dto.MetricType_COUNTER, map[string]float64{
			"account=oa,token=access_token": 1.5, "account=oa,token=jsapi_ticket": 0, "account=mp,token=access_token": 0,
		}},
		{"reports", "wxoa_token_reports_total", dto.MetricType_COUNTER, map[string]float64{
			"account=oa,outcome=outdated,token=access_token": 4, "account=oa,outcome=checked,token=access_token": 6,
			"account=oa,outcome=outdated,token=jsapi_ticket": 0, "account=oa,outcome=checked,token=jsapi_ticket": 0,
			"account=mp,outcome=outdated,token=access_token": 0, "account=mp,outcome=checked,token=access_token": 0,
		}},
		{"checks", "wxoa_token_checks_total", dto.MetricType_COUNTER, map[string]float64{
			"account=oa,outcome=accepted,token=access_token": 1, "account=oa,outcome=rejected,token=access_token": 2,
			"account=oa,outcome=failed,token=access_token": 3, "account=oa,outcome=cached,token=access_token": 4,
			"account=oa,outcome=accepted,token=jsapi_ticket": 0, "account=oa,outcome=rejected,token=jsapi_ticket": 0,
			"account=oa,outcome=failed,token=jsapi_ticket": 0, "account=oa,outcome=cached,token=jsapi_ticket": 0,
			"account=mp,outcome=accepted,token=access_token": 0, "account=mp,outcome=rejected,token=access_token": 0,
			"account=mp,outcome=failed,token=access_token": 0, "account=mp,outcome=cached,token=access_token": 0,
		}},
		{"remembered", "wxoa_token_remembered_failures_total", dto.MetricType_COUNTER, map[string]float64{
			"account=oa,token=access_token": 5, "account=oa,token=jsapi_ticket": 0, "account=mp,token=access_token": 0,
		}},
		{"store up", "wxoa_token_store_up", dto.MetricType_GAUGE, map[string]float64{
			"account=oa,token=access_token": 0, "account=oa,token=jsapi_ticket": 1, "account=mp,token=access_token": 1,
		}},
		{"dedup entries", "wxoa_dedup_memory_entries", dto.MetricType_GAUGE, map[string]float64{"": 12}},
		{"dedup budget", "wxoa_dedup_memory_budget_bytes", dto.MetricType_GAUGE, map[string]float64{"": 32 << 20}},
		{"dedup evacuations", "wxoa_dedup_memory_evacuations_total", dto.MetricType_COUNTER, map[string]float64{"": 3}},
		{"dedup expired", "wxoa_dedup_memory_expired_total", dto.MetricType_COUNTER, map[string]float64{"": 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ok := fams[tt.family]
			if !ok {
				t.Fatalf("scrape has no %s", tt.family)
			}
			if f.GetType() != tt.typ {
				t.Errorf("%s type = %v; want %v", tt.family, f.GetType(), tt.typ)
			}
			if f.GetHelp() == "" {
				t.Errorf("%s has no HELP", tt.family)
			}
			if got := values(fams, tt.family); !maps.Equal(got, tt.want) {
				t.Errorf("%s = %v; want %v", tt.family, got, tt.want)
			}
		})
	}
	for _, name := range []string{"go_goroutines", "process_start_time_seconds"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("scrape has no %s; want the Go and process collectors", name)
		}
	}
}

// TestLatencyBuckets checks the histogram puts observations where they
// belong, in seconds.
func TestLatencyBuckets(t *testing.T) {
	m := New()
	m.Routes("/wechat")
	m.Request("/wechat", "POST", 200, 300*time.Microsecond)
	m.Request("/wechat", "POST", 200, 4500*time.Millisecond)
	_, fams := scrape(t, m)
	h := fams["wxoa_http_request_duration_seconds"].GetMetric()[0].GetHistogram()
	tests := []struct {
		le   float64
		want uint64
	}{{0.00025, 0}, {0.0005, 1}, {4, 1}, {5, 2}}
	for _, tt := range tests {
		for _, b := range h.GetBucket() {
			if b.GetUpperBound() == tt.le && b.GetCumulativeCount() != tt.want {
				t.Errorf("bucket le=%v = %d; want %d", tt.le, b.GetCumulativeCount(), tt.want)
			}
		}
	}
	if got, want := h.GetSampleSum(), 4.5003; got < want-1e-9 || got > want+1e-9 {
		t.Errorf("sum = %v; want %v", got, want)
	}
}
