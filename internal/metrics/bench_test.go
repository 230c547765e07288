package metrics

import (
	"testing"
	"time"
	_ "wxoa/internal/soak" // accepts -soak (see package soak)
)

// hotPath are the per-request calls; each must cost no allocation once
// its series exists.
func hotPath(m *Metrics) []struct {
	name string
	fn   func()
} {
	a, _ := m.Account("oa")
	return []struct {
		name string
		fn   func()
	}{
		{"Request", func() { m.Request("/wechat", "POST", 200, 1500*time.Microsecond) }},
		{"Request/other", func() { m.Request("/nope", "GET", 404, time.Microsecond) }},
		{"Callback", func() { a.Callback("event:CLICK", ModeSafe) }},
		{"Reply", func() { a.Reply(KindText) }},
		{"CallbackRejected", func() { a.CallbackRejected(RejectBadSignature) }},
		{"DedupHit", func() { a.DedupHit() }},
	}
}

func newHot(tb testing.TB) *Metrics {
	m := New()
	if err := m.Routes("/wechat", "/healthz"); err != nil {
		tb.Fatal(err)
	}
	return m
}

func TestHotPathAllocs(t *testing.T) {
	for _, tt := range hotPath(newHot(t)) {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn() // creates the series
			if n := testing.AllocsPerRun(1000, tt.fn); n != 0 {
				t.Errorf("%s allocates %v times per call; want 0", tt.name, n)
			}
		})
	}
}

func BenchmarkHotPath(b *testing.B) {
	for _, tt := range hotPath(newHot(b)) {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tt.fn()
			}
		})
	}
}

func BenchmarkHotPathParallel(b *testing.B) {
	m := newHot(b)
	a, _ := m.Account("oa")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Request("/wechat", "POST", 200, time.Millisecond)
			a.Callback("text", ModeSafe)
			a.Reply(KindText)
		}
	})
}

func BenchmarkScrape(b *testing.B) {
	m := driven(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Registry().Gather(); err != nil {
			b.Fatal(err)
		}
	}
}
