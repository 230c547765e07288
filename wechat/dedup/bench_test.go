package dedup

import (
	"context"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"
	_ "wxoa/internal/soak" // accepts -soak (see package soak)

	"github.com/patrickmn/go-cache"
)

// liveSet is a minute of traffic at 1,000 messages a second: what the store
// holds while the benchmarks run, and what the GC has to look at.
const liveSet = 60_000

// benchKey is a message key as wechat.DedupKey makes it: one allocation.
func benchKey(i int) string {
	var b [32]byte
	return string(strconv.AppendInt(append(b[:0], "msg:"...), int64(24_000_000_000_000_000+i), 10))
}

// benchReply is a fresh ~300-byte reply per message, as MarshalReply makes:
// one allocation.
func benchReply() []byte {
	const xml = "<xml><ToUserName><![CDATA[oUser0001]]></ToUserName><FromUserName><![CDATA[gh_123456789abc]]></FromUserName>" +
		"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>" +
		"<Content><![CDATA[Thanks for your message. We will get back to you shortly.]]></Content></xml>"
	return []byte(xml)
}

// BenchmarkClaimDone is what the callback does per new message: claim a
// unique key, then Done with a ~300-byte reply, over a live set of a minute
// of traffic. "alone" is the store by itself; "in callback" adds the 6 KiB
// the rest of a callback allocates (BenchmarkPostText), which sets how
// often the GC runs and so what the store's live set costs it. gc-% is the
// GC's share of the CPU the run used; gc-ns/op is that per message.
//
// memory is this package; go-cache is the baseline, handlers/replies.go
// before it, holding a *pendingReply per message (deleting the key a
// minute back stands in for expiry and keeps the live set constant).
func BenchmarkClaimDone(b *testing.B) {
	for _, garbage := range []int{0, 6 << 10} {
		name := "alone"
		if garbage > 0 {
			name = "in callback"
		}
		b.Run("memory/"+name, func(b *testing.B) { benchMemory(b, garbage) })
		b.Run("go-cache/"+name, func(b *testing.B) { benchGoCache(b, garbage) })
	}
}

func benchMemory(b *testing.B, garbage int) {
	m := NewMemory(MemoryConfig{})
	ctx := context.Background()
	for i := range liveSet {
		k := benchKey(i)
		m.Claim(ctx, k)
		m.Done(ctx, k, benchReply())
	}
	rest := newRequestGarbage(garbage)
	gc := startGCShare(b)
	for i := liveSet; i < liveSet+b.N; i++ {
		rest.alloc()
		k := benchKey(i)
		if ok, _, err := m.Claim(ctx, k); !ok || err != nil {
			b.Fatalf("Claim(%q) = %v, %v", k, ok, err)
		}
		if err := m.Done(ctx, k, benchReply()); err != nil {
			b.Fatal(err)
		}
	}
	gc.report()
}

func benchGoCache(b *testing.B, garbage int) {
	type pendingReply struct {
		mu    sync.Mutex
		reply []byte
	}
	c := cache.New(time.Hour, 0)
	claimDone := func(k string) {
		p := &pendingReply{}
		p.mu.Lock()
		if c.Add(k, p, cache.DefaultExpiration) != nil {
			b.Fatalf("Add(%q) found it", k)
		}
		p.reply = benchReply()
		p.mu.Unlock()
	}
	for i := range liveSet {
		claimDone(benchKey(i))
	}
	rest := newRequestGarbage(garbage)
	gc := startGCShare(b)
	for i := liveSet; i < liveSet+b.N; i++ {
		rest.alloc()
		claimDone(benchKey(i))
		c.Delete(benchKey(i - liveSet))
	}
	gc.report()
}

// requestGarbage allocates what the rest of a callback would, in 16
// pieces, and keeps the last message's so the compiler cannot drop them.
type requestGarbage struct {
	size int
	keep [16][]byte
}

func newRequestGarbage(total int) *requestGarbage { return &requestGarbage{size: total / 16} }

func (g *requestGarbage) alloc() {
	if g.size == 0 {
		return
	}
	for i := range g.keep {
		g.keep[i] = make([]byte, g.size)
	}
}

// BenchmarkMemoryRetry is a retry after Done: the reply comes back at once.
func BenchmarkMemoryRetry(b *testing.B) {
	m := NewMemory(MemoryConfig{})
	ctx := context.Background()
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = benchKey(i)
		m.Claim(ctx, keys[i])
		m.Done(ctx, keys[i], benchReply())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if ok, reply, err := m.Claim(ctx, keys[i%len(keys)]); ok || err != nil || len(reply) == 0 {
			b.Fatalf("Claim = %v, %d bytes, %v", ok, len(reply), err)
		}
	}
}

// gcShare measures the GC's CPU during a benchmark's timed part.
type gcShare struct {
	b        *testing.B
	gc, user float64
}

func startGCShare(b *testing.B) *gcShare {
	runtime.GC()
	s := &gcShare{b: b}
	s.gc, s.user = cpuSeconds()
	b.ReportAllocs()
	b.ResetTimer()
	return s
}

func (s *gcShare) report() {
	s.b.StopTimer()
	gc, user := cpuSeconds()
	gc, user = gc-s.gc, user-s.user
	if gc+user > 0 {
		s.b.ReportMetric(100*gc/(gc+user), "gc-%")
	}
	s.b.ReportMetric(gc*1e9/float64(s.b.N), "gc-ns/op")
}

func cpuSeconds() (gc, user float64) {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/cpu/classes/user:cpu-seconds"}}
	metrics.Read(s)
	return s[0].Value.Float64(), s[1].Value.Float64()
}
