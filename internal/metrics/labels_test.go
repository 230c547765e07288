package metrics

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"wxoa/wechat"
	"wxoa/wechat/token"
)

func TestTypeOf(t *testing.T) {
	ev := func(e wechat.EventType) wechat.EventHeader {
		return wechat.EventHeader{Header: wechat.Header{MsgType: wechat.MsgEvent}, Event: e}
	}
	tests := []struct {
		name string
		msg  wechat.Message
		want string
	}{
		{"text", &wechat.Text{Header: wechat.Header{MsgType: wechat.MsgText}}, "text"},
		{"short video", &wechat.Video{Header: wechat.Header{MsgType: wechat.MsgShortVideo}}, "shortvideo"},
		{"subscribe", &wechat.Subscribe{EventHeader: ev(wechat.EventSubscribe)}, "event:subscribe"},
		{"click", &wechat.Click{EventHeader: ev(wechat.EventClick)}, "event:CLICK"},
		{"unknown event", &wechat.Unknown{Header: wechat.Header{MsgType: wechat.MsgEvent}, Event: "MASSSENDJOBFINISH"}, "event:MASSSENDJOBFINISH"},
		{"event nobody knows", &wechat.Unknown{Header: wechat.Header{MsgType: wechat.MsgEvent}, Event: "x"}, "event:other"},
		{"unknown type", &wechat.Unknown{Header: wechat.Header{MsgType: "miniprogrampage"}}, "other"},
		{"a type spelled like an event", &wechat.Unknown{Header: wechat.Header{MsgType: "event:CLICK"}}, "other"},
		{"nil", nil, "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TypeOf(tt.msg); got != tt.want {
				t.Errorf("TypeOf(%T) = %q; want %q", tt.msg, got, tt.want)
			}
		})
	}
}

func TestReplyKind(t *testing.T) {
	tests := []struct {
		r    wechat.Reply
		want string
	}{
		{nil, "success"}, {&wechat.TextReply{}, "text"}, {&wechat.ImageReply{}, "image"},
		{&wechat.VoiceReply{}, "voice"}, {&wechat.VideoReply{}, "video"}, {&wechat.MusicReply{}, "music"},
		{&wechat.NewsReply{}, "news"}, {&wechat.TransferCustomerServiceReply{}, "transfer_customer_service"},
	}
	for _, tt := range tests {
		if got := ReplyKind(tt.r); got != tt.want {
			t.Errorf("ReplyKind(%T) = %q; want %q", tt.r, got, tt.want)
		}
	}
}

// TestCodeLabels keeps the two code tables in step.
func TestCodeLabels(t *testing.T) {
	for i, c := range knownCodes {
		if codeLabels[i] != strconv.Itoa(c) {
			t.Errorf("codeLabels[%d] = %q; want %d", i, codeLabels[i], c)
		}
	}
	tests := []struct {
		status int
		want   string
	}{{200, "200"}, {201, "2xx"}, {418, "4xx"}, {599, "5xx"}, {100, "1xx"}, {99, "other"}, {600, "other"}, {-1, "other"}}
	for _, tt := range tests {
		if got := codeLabels[codeIndex(tt.status)]; got != tt.want {
			t.Errorf("code label of %d = %q; want %q", tt.status, got, tt.want)
		}
	}
}

// TestCardinality: a caller passing raw paths, attacker-chosen types or
// made-up reasons cannot grow the number of series.
func TestCardinality(t *testing.T) {
	m := New()
	m.Routes("/wechat")
	a := account(t, m, "oa")
	for i := range 1000 {
		weird := fmt.Sprintf("/wechat/%d?signature=%x\xff", i, i*7919)
		m.Request(weird, weird, i, time.Duration(i))
		a.Callback(weird, weird)
		a.Callback("event:"+weird, ModeSafe)
		a.CallbackRejected(weird)
		a.Reply(weird)
	}
	_, fams := scrape(t, m)
	tests := []struct {
		family string
		max    int
	}{
		{"wxoa_http_requests_total", numMethods * numCodes}, // route=other only
		{"wxoa_http_request_duration_seconds", 1},
		{"wxoa_callbacks_total", 2}, // other/other, event:other/safe
		{"wxoa_callback_rejections_total", numReasons},
		{"wxoa_replies_total", numKinds},
		{"wxoa_forwards_total", len(forwardLabels)},
	}
	for _, tt := range tests {
		got := values(fams, tt.family)
		if len(got) > tt.max {
			t.Errorf("%s has %d series; want at most %d: %v", tt.family, len(got), tt.max, sortedKeys(got))
		}
		for k := range got {
			if strings.Contains(k, "/wechat/") {
				t.Errorf("%s has a series labelled from input: %s", tt.family, k)
			}
		}
	}
}

func TestRoutes(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		wantErr  string
	}{
		{"ok", []string{"/wechat", "/healthz", "/wechat"}, ""},
		{"empty", []string{""}, "empty route"},
		{"not UTF-8", []string{"/\xff"}, "not UTF-8"},
		{"reserved", []string{"other"}, "reserved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := New().Routes(tt.patterns...)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Routes(%q) = %v; want %q", tt.patterns, err, tt.wantErr)
			}
		})
	}
	m := New()
	for i := range maxRoutes {
		if err := m.Routes(fmt.Sprintf("/r%d", i)); err != nil {
			t.Fatalf("Routes #%d: %v", i, err)
		}
	}
	if err := m.Routes("/one-too-many"); err == nil {
		t.Errorf("Routes past %d = nil; want an error", maxRoutes)
	}
}

func TestWatchTokensNames(t *testing.T) {
	stats := func() token.Stats { return token.Stats{} }
	m := New()
	if err := m.WatchTokens("oa", fakeManager{"access_token", stats}); err != nil {
		t.Fatalf("WatchTokens: %v", err)
	}
	if err := m.WatchTokens("mp", fakeManager{"access_token", stats}); err != nil {
		t.Errorf("WatchTokens of another account's access_token = %v; want nil", err)
	}
	for _, name := range []string{"access_token", "", "\xff"} {
		if err := m.WatchTokens("oa", fakeManager{name, stats}); err == nil {
			t.Errorf("WatchTokens(oa, %q) = nil; want an error", name)
		}
	}
	for _, acct := range []string{"", "\xff"} {
		if err := m.WatchTokens(acct, fakeManager{"jsapi_ticket", stats}); err == nil {
			t.Errorf("WatchTokens(%q, jsapi_ticket) = nil; want an error", acct)
		}
	}
}

// TestForgetAccount: a removed account's series go, the others stay, and
// the account can come back.
func TestForgetAccount(t *testing.T) {
	stats := func() token.Stats { return token.Stats{FetchOK: 1} }
	m := New()
	for _, name := range []string{"oa", "mp"} {
		a := account(t, m, name)
		a.Callback("text", ModePlain)
		a.CallbackRejected(RejectBadSignature)
		a.Reply(KindText)
		a.DedupHit()
		if err := m.WatchTokens(name, fakeManager{"access_token", stats}); err != nil {
			t.Fatal(err)
		}
	}
	if a, b := account(t, m, "oa"), account(t, m, "oa"); a != b {
		t.Errorf("Account(oa) twice = two values; want the same, so a rebuilt account keeps counting")
	}
	m.ForgetAccount("oa")
	_, fams := scrape(t, m)
	for _, f := range []string{"wxoa_callbacks_total", "wxoa_callback_rejections_total", "wxoa_replies_total",
		"wxoa_dedup_hits_total", "wxoa_token_fetches_total"} {
		for k := range values(fams, f) {
			if strings.Contains(k, "account=oa") {
				t.Errorf("%s still has %s after ForgetAccount(oa)", f, k)
			}
		}
		if len(values(fams, f)) == 0 {
			t.Errorf("%s has no series left; want mp's", f)
		}
	}
	if err := m.WatchTokens("oa", fakeManager{"access_token", stats}); err != nil {
		t.Errorf("WatchTokens after ForgetAccount = %v; want nil", err)
	}
	account(t, m, "oa").Reply(KindText)
	_, fams = scrape(t, m)
	if got := values(fams, "wxoa_replies_total")["account=oa,kind=text"]; got != 1 {
		t.Errorf("replies of the re-added account = %v; want 1 (counting anew)", got)
	}
}

// TestNil: a nil *Metrics records nothing and does not panic.
func TestNil(t *testing.T) {
	var m *Metrics
	m.Request("/", "GET", 200, 0)
	a, err := m.Account("oa")
	if a != nil || err != nil {
		t.Errorf("nil Account = %v, %v; want nil, nil", a, err)
	}
	a.Callback("text", ModePlain)
	a.CallbackRejected(RejectBadXML)
	a.Reply(KindText)
	a.DedupHit()
	m.ForgetAccount("oa")
	m.WatchForwards(func() ForwardCounts { return ForwardCounts{} })
	m.WatchDedup(fakeDedup{}, nil)
	if err := m.Routes("/"); err != nil {
		t.Errorf("nil Routes = %v", err)
	}
	if err := m.WatchTokens("oa"); err != nil {
		t.Errorf("nil WatchTokens = %v", err)
	}
}

type brokenCollector struct{ desc *prometheus.Desc }

func (b brokenCollector) Describe(ch chan<- *prometheus.Desc) { ch <- b.desc }
func (b brokenCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.NewInvalidMetric(b.desc, fmt.Errorf("broken"))
}

// TestScrapeError: a failing collector leaves its series out; the rest is
// served and the error counted.
func TestScrapeError(t *testing.T) {
	m := New()
	m.Registry().MustRegister(brokenCollector{prometheus.NewDesc("broken", "Broken.", nil, nil)})
	account(t, m, "oa").DedupHit()
	scrape(t, m) // counts its error after serving
	_, fams := scrape(t, m)
	if _, ok := fams["broken"]; ok {
		t.Errorf("scrape has the broken family; want it left out")
	}
	if got := values(fams, "wxoa_dedup_hits_total")["account=oa"]; got != 1 {
		t.Errorf("wxoa_dedup_hits_total = %v; want 1", got)
	}
	if got := values(fams, "promhttp_metric_handler_errors_total")["cause=gathering"]; got != 1 {
		t.Errorf(`promhttp_metric_handler_errors_total{cause="gathering"} = %v; want 1`, got)
	}
}

// TestConcurrent runs the hot path against Routes and scrapes under -race.
func TestConcurrent(t *testing.T) {
	m := New()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			a, err := m.Account(fmt.Sprintf("a%d", g%2))
			if err != nil {
				t.Error(err)
				return
			}
			for i := range 200 {
				m.Routes(fmt.Sprintf("/g%d", i%4))
				m.Request(fmt.Sprintf("/g%d", i%4), "POST", 200, time.Millisecond)
				a.Callback("text", ModeSafe)
				a.Reply(KindText)
				if i == 0 {
					m.WatchForwards(func() ForwardCounts { return ForwardCounts{InTime: 1} })
				}
			}
			if g == 0 {
				if _, err := m.Registry().Gather(); err != nil {
					t.Errorf("Gather: %v", err)
				}
			}
		})
	}
	wg.Wait()
	_, fams := scrape(t, m)
	var n float64
	for _, v := range values(fams, "wxoa_http_requests_total") {
		n += v
	}
	if n != 8*200 {
		t.Errorf("requests counted = %v; want %d", n, 8*200)
	}
	if got := values(fams, "wxoa_forwards_total")["outcome=in_time"]; got != 8 {
		t.Errorf(`wxoa_forwards_total{outcome="in_time"} = %v; want 8, one from each source`, got)
	}
}
