package admin

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestTrafficRing(t *testing.T) {
	var tr Traffic
	if got := recent(&tr); len(got) != 0 {
		t.Fatalf("Recent() on the zero Traffic = %d entries; want 0", len(got))
	}
	const n = TrafficSize + 37
	for i := range n {
		tr.Record(Entry{Time: t0.Add(time.Duration(i) * time.Second), Type: "event", Event: fmt.Sprint("E", i), Status: 200, Latency: time.Duration(i)})
	}
	got := recent(&tr)
	if len(got) != TrafficSize || total(&tr) != n {
		t.Fatalf("Recent() = %d entries, Total() = %d; want %d and %d", len(got), total(&tr), TrafficSize, n)
	}
	for i, e := range got {
		want := n - 1 - i // newest first
		if e.Event != fmt.Sprint("E", want) || !e.Time.Equal(t0.Add(time.Duration(want)*time.Second)) || e.Latency != time.Duration(want) {
			t.Fatalf("Recent()[%d] = %+v; want entry #%d", i, e, want)
		}
	}
}

func TestTrafficLongNames(t *testing.T) {
	var tr Traffic
	long := strings.Repeat("x", 100)
	tr.Record(Entry{Type: long, Event: "subscribe_msg_popup_event"})
	e := recent(&tr)[0]
	if e.Type != long[:typeLen] || e.Event != "subscribe_msg_popup_event" {
		t.Errorf("Recent()[0] = %q, %q; want the type cut to %d bytes and the event whole", e.Type, e.Event, typeLen)
	}
}

func TestTrafficConcurrent(t *testing.T) {
	var tr Traffic
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				tr.Record(Entry{Time: t0, Type: "text", Status: 200 + g, Latency: time.Duration(i)})
				if i%50 == 0 {
					recent(&tr)
				}
			}
		})
	}
	wg.Wait()
	if got := total(&tr); got != 8*500 {
		t.Errorf("Total() = %d; want %d", got, 8*500)
	}
	if got := len(recent(&tr)); got != TrafficSize {
		t.Errorf("len(Recent()) = %d; want %d", got, TrafficSize)
	}
}

// TestTrafficRecordAllocs: Record runs on every callback; it must not
// allocate.
func TestTrafficRecordAllocs(t *testing.T) {
	var tr Traffic
	e := Entry{Time: t0, Type: "event", Event: "CLICK", Status: 200, Latency: time.Millisecond}
	if n := testing.AllocsPerRun(1000, func() { tr.Record(e) }); n != 0 {
		t.Errorf("Record allocates %.1f times; want 0", n)
	}
}

func BenchmarkTrafficRecord(b *testing.B) {
	var tr Traffic
	e := Entry{Time: t0, Type: "event", Event: "CLICK", Status: 200, Latency: time.Millisecond}
	b.ReportAllocs()
	for b.Loop() {
		tr.Record(e)
	}
}

func BenchmarkTrafficRecordParallel(b *testing.B) {
	var tr Traffic
	e := Entry{Time: t0, Type: "text", Status: 200, Latency: time.Millisecond}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tr.Record(e)
		}
	})
}

func recent(t *Traffic) []Entry { e, _ := t.snapshot(); return e }
func total(t *Traffic) uint64   { _, n := t.snapshot(); return n }
